"""The sslkey probe: a shared library that writes a marker file when loaded, and a fake
PostgreSQL server that says "yes, SSL" so libpq goes as far as loading its SSL engine."""

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.databases import missing

SOURCE = Path(__file__).with_name("marker_library.c")


def build_marker_library(folder: Path) -> Path:
    """Compile the marker library with gcc into `folder`; returns the .so path."""
    gcc = shutil.which("gcc")
    if gcc is None:
        missing("gcc")
    library = folder / "marker_library.so"
    subprocess.run(
        [str(gcc), "-shared", "-fPIC", "-o", str(library), str(SOURCE)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return library


def client_certificate(folder: Path) -> Path:
    """A self-signed certificate: libpq loads the key (engine) only next to a cert."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl")
    cert = folder / "client.pem"
    subprocess.run(
        [
            str(openssl),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=probe",
            "-keyout",
            str(folder / "client.key"),
            "-out",
            str(cert),
            "-days",
            "1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert


@contextmanager
def ssl_yes_server() -> Iterator[int]:
    """A TCP server answering PostgreSQL's SSLRequest with 'S'; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(5)
                try:
                    connection.recv(8)  # SSLRequest
                    connection.sendall(b"S")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stopping.set()
        thread.join(5)
        listener.close()
