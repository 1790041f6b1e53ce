"""Whether the Asterisk user can write the recordings directory, as far as this machine can tell."""

from __future__ import annotations

import grp
import logging
import os
import pwd
from pathlib import Path

log = logging.getLogger(__name__)

_EXECUTE, _WRITE = 1, 2


def _grants(stat: os.stat_result, uid: int, gids: set[int], wanted: int) -> bool:
    """The owner's, else the group's, else others' bits (the kernel's order); ACLs are not read."""
    if uid == 0:
        return True
    if stat.st_uid == uid:
        bits = stat.st_mode >> 6
    elif stat.st_gid in gids:
        bits = stat.st_mode >> 3
    else:
        bits = stat.st_mode
    return bits & wanted == wanted


def write_problem(directory: Path, user: str) -> str | None:
    """Why `user` could not create files in `directory` (MixMonitor makes a missing directory, so
    then its nearest existing parent must take new entries); None if the mode bits allow it.
    KeyError when the user does not exist on this machine."""
    entry = pwd.getpwnam(user)
    gids = {entry.pw_gid} | {group.gr_gid for group in grp.getgrall() if user in group.gr_mem}
    target = directory
    while not target.exists() and target.parent != target:
        target = target.parent
    for ancestor in reversed(target.parents):  # from / down: each must let the user through
        if not _grants(ancestor.stat(), entry.pw_uid, gids, _EXECUTE):
            return f"the user {user!r} cannot enter {ancestor} (no search permission)"
    if not _grants(target.stat(), entry.pw_uid, gids, _WRITE | _EXECUTE):
        return f"the user {user!r} cannot create files in {target}"
    return None


def warn_unless_asterisk_can_write(directory: Path, user: str) -> None:
    """At start-up with the Asterisk driver: a warning when Asterisk's recordings would fail."""
    try:
        problem = write_problem(directory, user)
    except KeyError:
        log.info(
            "recordings: no user %r on this machine (Asterisk runs elsewhere?): make sure it can write "
            "%s on the Asterisk host (docs/deploy.md)",
            user,
            directory,
        )
        return
    except OSError as exc:
        problem = f"{directory} cannot be checked: {exc}"
    if problem is not None:
        log.warning(
            "recordings will fail: %s; Asterisk writes each recording there (docs/deploy.md, "
            "'Recordings and the Asterisk user')",
            problem,
        )
