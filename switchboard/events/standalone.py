"""`switchboard worker`: the event sequencer and webhook delivery, without the HTTP API."""

from __future__ import annotations

import asyncio
import logging
import signal

from switchboard.db.engine import Database
from switchboard.events.delivery import EventWorker
from switchboard.events.log import EVENTS_CHANNEL, EVENTS_PENDING
from switchboard.events.sequencer import Sequencer
from switchboard.events.signing import SecretBox
from switchboard.settings import Settings
from switchboard.signals.feed import ChangeFeed

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Until SIGTERM/SIGINT (or `stop`): number stray events, fan out and deliver webhooks,
    trim the log. Any number of these may run beside the API processes."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    db = Database(settings.effective_database_url)
    feed = ChangeFeed(db.reader, settings.change_poll_seconds if db.is_sqlite else 1.0)
    db.on_commit = feed.changed
    sequencer = Sequencer(db)
    worker = EventWorker(db, settings, SecretBox.from_settings(settings))
    feed.subscribe(EVENTS_PENDING, sequencer.poke)
    feed.subscribe(EVENTS_CHANNEL, worker.events_numbered)
    await db.open()
    try:
        await feed.start()
        await sequencer.start()
        await worker.start()
        log.info("worker started")
        await stop.wait()
        log.info("worker stopping")
        await worker.stop()
        await sequencer.stop()
        await feed.stop()
    finally:
        await db.close()
