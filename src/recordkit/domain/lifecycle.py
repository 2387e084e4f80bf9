"""The recording lifecycle (SPEC §4) as a table of ``(state, event) -> state``, applied purely.

No other transition exists. ``apply`` takes ``now`` as an argument and returns the new state plus
the timestamp fields the transition sets; callers persist the result in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from recordkit.errors import Conflict


class Event(StrEnum):
    RECORDER_STARTED = "recorder_started"
    RECORDER_FAILED = "recorder_failed"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    MAX_SECONDS = "max_seconds"
    MEETING_ENDED = "meeting_ended"
    FILE_STORED = "file_stored"
    UPLOAD_FAILED = "upload_failed"
    RECORDER_LOST = "recorder_lost"
    RETRY_UPLOAD = "retry_upload"  # an operator's ``recordkit recordings retry-upload``; never the API


LIVE: Final = frozenset({"INVOKED", "RECORDING", "PAUSED"})
ACTIVE: Final = LIVE  # what "active recording" means for a meeting

TRANSITIONS: Final[dict[tuple[str, Event], str]] = {
    ("INVOKED", Event.RECORDER_STARTED): "RECORDING",
    ("INVOKED", Event.RECORDER_FAILED): "ERRORED",
    ("RECORDING", Event.PAUSE): "PAUSED",
    ("PAUSED", Event.RESUME): "RECORDING",
    **{(state, event): "UPLOADING" for state in LIVE for event in (Event.STOP, Event.MAX_SECONDS, Event.MEETING_ENDED)},
    ("UPLOADING", Event.FILE_STORED): "UPLOADED",
    ("UPLOADING", Event.UPLOAD_FAILED): "ERRORED",
    ("ERRORED", Event.RETRY_UPLOAD): "UPLOADING",  # its files were kept: deliver them again
    **{(state, Event.RECORDER_LOST): "ERRORED" for state in LIVE},
}

# The caller-facing actions of PUT .../recordings/{id}.
ACTIONS: Final = {"stop": Event.STOP, "pause": Event.PAUSE, "resume": Event.RESUME}

STOP_REASONS: Final = {
    Event.STOP: "API_CALL",
    Event.MAX_SECONDS: "API_CALL",
    Event.MEETING_ENDED: "ALL_PEERS_LEFT",
    Event.RECORDER_LOST: "INTERNAL_ERROR",
    Event.RECORDER_FAILED: "INTERNAL_ERROR",
}


@dataclass(frozen=True, slots=True)
class Clock:
    """The timing fields a transition may change."""

    started_ms: int | None
    stopped_ms: int | None
    paused_since_ms: int | None
    paused_total_ms: int


@dataclass(frozen=True, slots=True)
class Transition:
    status: str
    clock: Clock


def next_status(status: str, event: Event) -> str:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise Conflict(f"Cannot {event.value.replace('_', ' ')} a recording in status {status}") from None


def apply(status: str, event: Event, clock: Clock, now_ms: int) -> Transition:
    """Apply one event; raises ``Conflict`` (not retryable) when the table has no such transition."""
    new = next_status(status, event)
    started, stopped, paused_since, paused_total = (
        clock.started_ms,
        clock.stopped_ms,
        clock.paused_since_ms,
        clock.paused_total_ms,
    )
    if new == "RECORDING" and status == "INVOKED":
        started = now_ms
    if new == "PAUSED":
        paused_since = now_ms
    if status == "PAUSED" and new != "PAUSED" and paused_since is not None:
        paused_total += max(0, now_ms - paused_since)
        paused_since = None
    if new in ("UPLOADING", "ERRORED") and status in LIVE:
        stopped = now_ms
    return Transition(new, Clock(started, stopped, paused_since, paused_total))


def recorded_ms(clock: Clock, now_ms: int) -> int:
    """Milliseconds actually recorded: from start to stop (or now), paused time excluded."""
    if clock.started_ms is None:
        return 0
    end = clock.stopped_ms if clock.stopped_ms is not None else now_ms
    paused = clock.paused_total_ms
    if clock.paused_since_ms is not None:
        paused += max(0, end - clock.paused_since_ms)
    return max(0, end - clock.started_ms - paused)
