"""``recordkit webhooks``: the delivery log, redelivery, and the public key.

Reads and writes the data dir's database directly (a running server keeps sending beside it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recordkit.cli.database import command_settings
from recordkit.cli.options import data_dir_option, handle_errors, json_option
from recordkit.domain.timefmt import format_opt, now_ms
from recordkit.domain.webhooks import DELIVERY_STATUSES, DeliveryRecord

if TYPE_CHECKING:
    from recordkit.domain.ports import Store


def _store(data_dir: Path) -> Store:
    """The store of the composition root (both stores keep webhooks and their delivery log)."""
    from recordkit.runtime import Runtime

    return Runtime(command_settings(data_dir=data_dir)).store


def delivery_json(d: DeliveryRecord) -> dict[str, Any]:
    """One delivery in ``--json`` output (a contract, like the other commands' JSON)."""
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event": d.event,
        "event_status": d.event_status,
        "recording_id": d.recording_id,
        "status": d.status,
        "attempts": d.attempts,
        "last_code": d.last_code,
        "last_error": d.last_error,
        "next_attempt": format_opt(d.next_ms),
        "created_at": format_opt(d.created_ms),
        "updated_at": format_opt(d.updated_ms),
        "delivered_at": format_opt(d.delivered_ms),
    }


@click.group("webhooks")
def webhooks() -> None:
    """Webhook deliveries: the log, redelivery, the signing key."""


@webhooks.command("deliveries")
@data_dir_option
@json_option
@click.option("--webhook", "webhook_id", default=None, help="Only this webhook's deliveries.")
@click.option("--recording", "recording_id", default=None, help="Only this recording's deliveries.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(DELIVERY_STATUSES),
    help="Only deliveries in this status (repeat for several).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="At most this many.")
@handle_errors
def deliveries(
    data_dir: Path,
    as_json: bool,
    webhook_id: str | None,
    recording_id: str | None,
    statuses: tuple[str, ...],
    limit: int,
) -> None:
    """The delivery log, newest first: id (the rtk-uuid header), webhook, event, recording, status,
    attempts, last error and when the next attempt is due."""
    store = _store(data_dir)
    try:
        rows = store.list_deliveries(webhook_id=webhook_id, statuses=statuses, recording_id=recording_id, limit=limit)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"deliveries": [delivery_json(d) for d in rows]}))
        return
    if not rows:
        click.echo("no deliveries")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("id", "webhook", "event", "recording", "status", "attempts", "last error", "next attempt"):
        table.add_column(column, no_wrap=column not in ("last error",), overflow="fold")
    for d in rows:
        table.add_row(
            d.id,
            d.webhook_id,
            f"{d.event} {d.event_status or ''}".strip(),
            d.recording_id,
            d.status,
            str(d.attempts),
            d.last_error or "",
            format_opt(d.next_ms) or "-",
        )
    Console(width=None if sys.stdout.isatty() else 240).print(table)


@webhooks.command("redeliver")
@data_dir_option
@json_option
@click.argument("delivery_id")
@handle_errors
def redeliver(data_dir: Path, as_json: bool, delivery_id: str) -> None:
    """Send a delivery again, with the same rtk-uuid: delivered, failed and dead ones are queued
    for attempt N+1 (the log keeps the count and the last answer until that attempt is made), with
    a fresh budget of retries; a pending one is made due now. A running server sends it."""
    store = _store(data_dir)
    try:
        record = store.redeliver(delivery_id.strip().lower(), now_ms())
        hook = store.webhook_by_id(record.webhook_id)
    finally:
        store.close()
    note = "" if hook is None or hook.enabled else " (its webhook is disabled: it waits until enabled)"
    if as_json:
        click.echo(json.dumps(delivery_json(record)))
    else:
        click.echo(f"queued {record.id} for webhook {record.webhook_id}{note}")


@webhooks.command("public-key")
@data_dir_option
@handle_errors
def public_key(data_dir: Path) -> None:
    """Print the PEM public key that verifies rtk-signature (also at GET /.well-known/webhooks.json)."""
    from recordkit.security.webhook_keys import WebhookSigner, key_path

    click.echo(WebhookSigner(key_path(data_dir)).public_pem(), nl=False)
