"""PBX drivers behind one interface: the simulated PBX and Asterisk (AMI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchboard.calls.drivers.base import Driver
    from switchboard.settings import Settings


def make_driver(settings: Settings) -> Driver:
    """The PBX driver the settings choose (SWITCHBOARD_PBX)."""
    if settings.pbx == "asterisk":
        from switchboard.calls.drivers.asterisk import AsteriskAmi

        return AsteriskAmi(
            settings.ami_host,
            settings.ami_port,
            settings.ami_username,
            settings.ami_secret.get_secret_value(),
            settings.ami_channel,
            settings.ami_context,
            settings.ami_recordings_shared,
        )
    from switchboard.calls.drivers.simulated import SimulatedPbx

    return SimulatedPbx(settings.sim_ring_seconds, settings.sim_answer_seconds, settings.sim_hangup_seconds)
