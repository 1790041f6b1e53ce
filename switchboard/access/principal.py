"""The principal a request acts as, resolved before any handler runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "tenant_admin", "group_admin", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    credential: Literal["global_key"]
    role: Role
    key_prefix: str  # identifies the key in logs and audit, never enough to use it

    @property
    def audit_name(self) -> str:
        return f"{self.credential}:{self.key_prefix}"
