"""A throwaway OpenLDAP server (Debian's `slapd`) for the sign-in tests: a temp folder,
a slapd.conf, users and groups loaded with `slapadd`, TLS with a certificate made for
127.0.0.1 (ldaps:// on one port, ldap:// + StartTLS on another), started in the
foreground and stopped at the end. Like the PostgreSQL cluster of pgcluster.py."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.databases import missing
from support.tls import make_certificate

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SUFFIX = "dc=example,dc=org"
#: The users and their passwords.
USERS = {"ada": "ada-password", "olga": "olga-password", "rita": "rita-password", "nils": "n"}
#: Groups and their members (nils is in none: no role).
GROUPS = {"orch-admins": ["ada"], "orch-operators": ["olga"], "orch-reviewers": ["rita"]}
SERVICE_DN = f"cn=finder,{SUFFIX}"
SERVICE_PASSWORD = "finder-password"


@dataclass
class Directory:
    """A running slapd: its addresses and the CA file that verifies it."""

    ldaps_url: str
    ldap_url: str
    ca_file: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server (the "server down" case)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: finder\nuserPassword: {SERVICE_PASSWORD}",
    ]
    for name, password in USERS.items():
        entries.append(
            f"dn: uid={name},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {name}\n"
            f"cn: {name.title()}\nsn: {name.title()}\nuserPassword: {password}"
        )
    for group, members in GROUPS.items():
        lines = [f"dn: cn={group},ou=groups,{SUFFIX}", "objectClass: groupOfNames", f"cn: {group}"]
        lines += [f"member: uid={member},ou=people,{SUFFIX}" for member in members]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


@contextlib.contextmanager
def running_directory(folder: Path) -> Iterator[Directory]:
    """Start slapd in `folder` with the users and groups above; stop it after.
    Skipped locally (failed in CI) when slapd is not installed."""
    if not (SLAPD.exists() and SLAPADD.exists()):
        missing("slapd")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = make_certificate(folder)
    data = folder / "data"
    data.mkdir()
    config = folder / "slapd.conf"
    schema = Path("/etc/ldap/schema")
    config.write_text(
        "\n".join(
            [
                *(
                    f"include {schema / name}.schema"
                    for name in ("core", "cosine", "inetorgperson", "nis")
                ),
                f"pidfile {folder / 'slapd.pid'}",
                "modulepath /usr/lib/ldap",
                "moduleload back_mdb",
                f"TLSCertificateFile {cert}",
                f"TLSCertificateKeyFile {key}",
                f"TLSCACertificateFile {cert}",
                "database mdb",
                f'suffix "{SUFFIX}"',
                f'rootdn "cn=admin,{SUFFIX}"',
                "rootpw admin-password",
                f"directory {data}",
                "maxsize 10485760",
                "access to attrs=userPassword by anonymous auth by self read by * none",
                "access to * by users read by * none",
                "",
            ]
        )
    )
    ldif = folder / "seed.ldif"
    ldif.write_text(_ldif())
    subprocess.run(
        [str(SLAPADD), "-f", str(config), "-l", str(ldif)], check=True, capture_output=True
    )
    ldaps_port, ldap_port = _free_port(), _free_port()
    urls = f"ldaps://127.0.0.1:{ldaps_port}/ ldap://127.0.0.1:{ldap_port}/"
    log = (folder / "slapd.log").open("wb")
    process = subprocess.Popen(
        [str(SLAPD), "-f", str(config), "-h", urls, "-d", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LDAPTLS_REQCERT": "never"},
    )
    directory = Directory(
        f"ldaps://127.0.0.1:{ldaps_port}", f"ldap://127.0.0.1:{ldap_port}", cert, process
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", ldaps_port), timeout=0.5).close()
                socket.create_connection(("127.0.0.1", ldap_port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "slapd did not start:\n" + (folder / "slapd.log").read_text()
                    ) from None
                time.sleep(0.05)
        yield directory
    finally:
        directory.stop()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
