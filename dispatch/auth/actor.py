"""Who is doing something: the operator behind a request, passed to services for roles and audit."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.auth.models import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated operator and where the request came from."""

    operator_id: int | None
    username: str
    role: Role
    ip: str | None = None

    @property
    def is_manager(self) -> bool:
        """A supervisor or an admin (the server itself counts as one)."""
        return self.role in (Role.supervisor, Role.admin)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The server itself or a CLI command acting without a login."""
        return cls(operator_id=None, username=name, role=Role.admin, ip=None)
