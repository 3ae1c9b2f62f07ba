"""Who is acting: the person (or token) behind a write, and the role that decides what
they may do. One small value shared by the Orchestrator's sign-in, its role checks and
the audit trail, so that what is checked and what is recorded are the same thing."""

from dataclasses import dataclass

#: Roles from most to least powerful (docs/security.md has what each may do).
ROLES = ("admin", "operator", "reviewer", "viewer")
#: How someone signed in.
METHODS = ("token", "oidc", "ldap")


@dataclass(frozen=True)
class Identity:
    """A signed-in person: a display name, how they signed in, and their role."""

    name: str
    method: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")
        if self.method not in METHODS:
            raise ValueError(f"unknown sign-in method {self.method!r}")

    @property
    def label(self) -> str:
        """How audit rows and the page name this person ("anna (oidc)")."""
        return f"{self.name} ({self.method})"


#: Whoever signed in with the start-up token: the break-glass admin.
TOKEN_ADMIN = Identity("admin", "token", "admin")
