"""PBX drivers behind one interface: the simulated PBX and Asterisk (AMI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchboard.calls.drivers.base import Driver
    from switchboard.settings import Settings


def make_driver(settings: Settings) -> Driver:
    """The PBX driver the settings choose (SWITCHBOARD_PBX)."""
    if settings.pbx == "asterisk":
        raise RuntimeError("SWITCHBOARD_PBX=asterisk: the AMI driver is not available in this version yet")
    from switchboard.calls.drivers.simulated import SimulatedPbx

    return SimulatedPbx(settings.sim_ring_seconds, settings.sim_answer_seconds, settings.sim_hangup_seconds)
