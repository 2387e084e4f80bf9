"""Stopping a background loop: ask it to return, cancel it only if it does not.

The loops (the recording supervisor, the webhook dispatcher) check a stop flag at every round, so
asking is enough. Cancelling first is not: on Python 3.11.2 (Debian 12's) ``asyncio.timeout`` and
``wait_for`` can swallow a cancellation (CPython gh-102780, fixed in 3.11.3), and a cancelled loop
then never returned: a server that could not shut down, tests that hung.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def stop_task(task: asyncio.Task[Any], grace_seconds: float) -> bool:
    """Wait up to ``grace_seconds`` for ``task`` (already asked to stop), then cancel it and wait a
    little more. True when it has ended."""
    done, _ = await asyncio.wait({task}, timeout=grace_seconds)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=5)
    return task.done()
