"""Whether a server can listen on a host and port, asked before a program prints its
address: `openorch o -p 8080` used to print an address and a new token, then fail with
"[Errno 98] address already in use" while that address opened the *other* server."""

import errno
import socket


def listen_problem(host: str, port: int, *, option: str = "-p") -> str | None:
    """Why `host:port` cannot be listened on right now, in words for the admin, or None.

    Binds the way uvicorn does (SO_REUSEADDR, so a port a stopped server left in
    TIME_WAIT counts as free) and closes at once. A program started between this check
    and its own bind still makes the server fail, with uvicorn's message.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return f"Cannot listen on {host}: the address is unknown ({error.strerror})."
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (
                    f"Port {port} on {host} is already in use (perhaps by another "
                    f"Orchestrator or API). Choose another port with {option} PORT."
                )
            if error.errno == errno.EACCES:
                return (
                    f"Port {port} on {host} needs privileges this user lacks. Choose a "
                    f"port above 1023 with {option} PORT."
                )
            return f"Cannot listen on {host}:{port}: {error.strerror or error}."
    return None
