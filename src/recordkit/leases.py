"""Who holds a lease, and whether that holder can still be working.

A lease holder is ``host:pid``. On its own host a holder whose process is gone is dead at once;
another host's holder is waited out until its lease lapses (its pid means nothing here).
"""

from __future__ import annotations

import os
import socket


def owner_id() -> str:
    """Who holds a lease: host and process, so a restarted server knows its dead predecessors."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(owner: str | None) -> bool:
    """No holder, or one on this host whose process is gone; never another host's."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not process_alive(int(pid))
