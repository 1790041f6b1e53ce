"""The system IP allowlist (Noojee's API-key page: "only accepts requests from whitelisted IP addresses")."""

from __future__ import annotations

import ipaddress
from typing import Any

from switchboard.errors import ServiceUnavailable
from switchboard.settings import IPNetwork
from switchboard.system.store import DEFAULTS, IP_ALLOWLIST, SettingsCache

# Decisions remembered per address (a client keeps its address across requests); bounded, so that
# many addresses cost memory no longer than this many entries.
REMEMBERED_ADDRESSES = 4096


class SystemAllowlist:
    """Checks a client address against the IP_ALLOWLIST setting, parsed once per change; each
    address's decision is remembered until the setting changes."""

    def __init__(self, settings: SettingsCache) -> None:
        self._settings = settings
        self._source: Any = None
        self._networks: tuple[IPNetwork, ...] = ()
        self._decisions: dict[str, bool] = {}

    async def allows(self, client: str | None) -> bool:
        try:
            entries = await self._settings.get(IP_ALLOWLIST)
        except ServiceUnavailable:
            entries = DEFAULTS[IP_ALLOWLIST]  # fail closed: loopback only until settings can be read
        if entries is not self._source:
            self._networks = tuple(ipaddress.ip_network(e, strict=False) for e in entries)
            self._source = entries
            self._decisions = {}
        if client is None:
            return False
        decision = self._decisions.get(client)
        if decision is None:
            decision = self._decide(client)
            if len(self._decisions) < REMEMBERED_ADDRESSES:
                self._decisions[client] = decision
        return decision

    def _decide(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self._networks)
