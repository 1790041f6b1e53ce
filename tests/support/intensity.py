"""How hard the security suites push: a CI-sized run in `make test`, a long one in `make soak`."""

from __future__ import annotations

import os

SOAK = os.environ.get("SWITCHBOARD_SOAK") == "1"


def scaled(ci: int, soak: int) -> int:
    """The CI figure in `make test`, the soak figure when SWITCHBOARD_SOAK=1 (`make soak`)."""
    return soak if SOAK else ci
