"""This process's and host's figures for Noojee's systemHealth/test: cheap reads, no waiting.

psutil reads the kernel's counters; CPU percentages compare with the previous call (the first
one since start compares with the moment this module was imported). The PBX link's round trip
is the one thing awaited, and it is bounded.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
from anyio.to_thread import current_default_thread_limiter

from switchboard.db.engine import Database
from switchboard.errors import SwitchboardError

PING_TIMEOUT = 2.0  # seconds; a slower PBX link reports -1 like a broken one
UNREACHABLE = -1.0
_MB = 2**20

# Primed once: a percentage since "the previous call" needs a previous call.
psutil.cpu_percent(interval=None)
psutil.cpu_times_percent(interval=None)


async def pbx_round_trip(ping: Callable[[], Awaitable[float]], within: float = PING_TIMEOUT) -> float:
    """Milliseconds, or -1 when the PBX cannot be reached within `within` seconds."""
    try:
        return round(await asyncio.wait_for(ping(), within), 3)
    except (TimeoutError, SwitchboardError):
        return UNREACHABLE


def _percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _disk(data_dir: Path) -> Any:
    """The data directory's file system (recordings fill it), or the root before it exists."""
    try:
        return psutil.disk_usage(str(data_dir))
    except OSError:
        return psutil.disk_usage("/")


async def statistics(
    db: Database, data_dir: Path, pbx_address: str, ping: Callable[[], Awaitable[float]]
) -> dict[str, Any]:
    """The statistics entity, in Noojee's field names. We run no backups: those fields are empty."""
    times = psutil.cpu_times_percent(interval=None)
    memory = psutil.virtual_memory()
    disk = _disk(data_dir)
    threads = current_default_thread_limiter()
    pool_size, pool_in_use = db.pool_usage()
    return {
        "ioWait": round(getattr(times, "iowait", 0.0), 1),
        "loadAverage": round(os.getloadavg()[0], 2),
        "cpuPercent": round(psutil.cpu_percent(interval=None), 1),
        "cores": os.cpu_count() or 1,
        "memoryAvailableMB": memory.available // _MB,
        "memoryTotalMB": memory.total // _MB,
        "freeDiskSpacePercent": _percent(disk.free, disk.total),
        # The worker threads that run synchronous routes and database work.
        "threadPoolUsagePercent": _percent(threads.borrowed_tokens, threads.total_tokens),
        # No scheduled-job pool here: background work runs as tasks of the event loop.
        "schedulerPoolUsagePercent": 0.0,
        "steal": round(getattr(times, "steal", 0.0), 1),
        "dbPoolSize": pool_size,
        "dbPoolUsage": pool_in_use,
        "lastBackupAttempt": "",
        "lastBackupSuccess": "",
        "backupStarting": False,
        "pingData": {pbx_address: await pbx_round_trip(ping)},
    }
