"""Which Host headers a server answers to: one rule for the Orchestrator's page and the
HTTP API.

A page on `evil.example` whose name the attacker re-points at 127.0.0.1 (DNS rebinding)
makes the admin's browser send `Host: evil.example` to a local server, and the browser
treats the answer as evil.example's own, readable by the attacker's script. Answering
only to names of this server stops that: an IP address is always fine (rebinding needs
a name); a name must be `localhost`, the listen address's name, an `--allow-host` name
(a reverse proxy's public name) or, listening on every interface, this machine's own
host name.
"""

import ipaddress
from dataclasses import dataclass, field

#: Addresses that keep a server on this machine.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Listen addresses meaning "every interface".
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class HostRule:
    """The names a server listening on `host` answers to."""

    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    hostnames: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_listening(cls, host: str, allowed_hosts: tuple[str, ...] = ()) -> "HostRule":
        """The rule of a server listening on `host` (every interface adds this machine's
        own names)."""
        hostnames: set[str] = set()
        if host in WILDCARD_HOSTS:
            import socket

            hostnames = {socket.gethostname().lower(), socket.getfqdn().lower()}
        return cls(host, tuple(allowed_hosts), frozenset(hostnames))

    def allows(self, host_header: str) -> bool:
        """True when the Host header names this server, not a domain an attacker owns."""
        host = hostname(host_header)
        if not host:
            return False
        if is_ip(host) or host == "localhost":
            return True
        names = {self.host.lower(), *self.hostnames}
        names.update(hostname(allowed) for allowed in self.allowed_hosts)
        return host in names


def hostname(host_header: str) -> str:
    """The host part of a Host header or `name[:port]`, lower case, no brackets."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value


def is_ip(host: str) -> bool:
    """True for an IPv4 or IPv6 address (not a name)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """True when listening on `host` keeps the server on this machine."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
