"""The webhook dispatcher: sends the deliveries that the store's triggers queue (SPEC §7).

Runs inside ``recordkit serve`` (the app's lifespan, beside the supervisor), one per worker
process. Each round it leases due deliveries (``SqliteWebhooks.claim_deliveries``: only the first
unfinished delivery of each recording per webhook, so order is kept), renders and signs their
bodies off the event loop, and POSTs them with httpx, at most ``concurrency`` at once and
``per_webhook`` per webhook, each bounded by the timeout: a slow receiver never slows the API.

2xx is delivered; 5xx, a timeout or a network error is retried after ``base * 2**(n-1)`` seconds
(plus up to a quarter more at random; capped at 600 s) until ``attempts`` tries were made, then
the delivery is dead; any other status (3xx, 4xx) fails it without a retry, as RealtimeKit does.
A delivery is sent at least once: a process that dies mid-send leaves a lease that the next one
takes over (at once when the holder's pid is gone), and it is sent again with the same rtk-uuid.

The address policy is applied again before every attempt (the URL was checked when it was given,
but DNS may have changed since): a URL whose host now resolves to a loopback, private or
link-local address fails at once, without a retry, and the log says why. A host that does not
resolve is a network error like any other (retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from recordkit.domain.ports import Clock, Outbox
from recordkit.domain.timefmt import now_ms
from recordkit.domain.webhooks import ClaimedDelivery, render_payload
from recordkit.jobs.stopping import stop_task
from recordkit.leases import owner_id
from recordkit.security.netpolicy import AddressPolicy, Pinned
from recordkit.security.webhook_keys import WebhookSigner
from recordkit.settings import Settings

log = logging.getLogger("recordkit.webhooks")

MAX_DELAY_SECONDS = 600.0
POLL_SECONDS = 0.2
CONCURRENCY = 8
PER_WEBHOOK = 4
LEASE_MARGIN_MS = 30_000
KEEP_LOG_MS = 30 * 86_400_000  # finished deliveries older than this are pruned
PRUNE_EVERY_MS = 3_600_000
USER_AGENT = "RecordKit-Webhooks/1"


@dataclass(frozen=True)
class WebhookPolicy:
    """Attempts, backoff and timeout (``RECORDKIT_WEBHOOK_*``)."""

    attempts: int = 12
    base_seconds: float = 2.0
    max_seconds: float = MAX_DELAY_SECONDS
    timeout_seconds: float = 10.0
    # The address policy at delivery time; the server passes Settings.allow_private_network
    # (default off), True is only this building block's default.
    allow_private_network: bool = True

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds before the next try after ``failures`` failed ones: the step ``base * 2**(n-1)``
        plus up to a quarter of it at random, never above the cap (at the cap: 80-100 % of it)."""
        step = self.base_seconds * 2.0 ** max(0, failures - 1)
        draw = (rng or random).random()
        if step >= self.max_seconds:
            return self.max_seconds * (0.8 + 0.2 * draw)
        return min(self.max_seconds, step * (1.0 + 0.25 * draw))

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookPolicy:
        return cls(
            attempts=settings.webhook_max_attempts,
            base_seconds=settings.webhook_retry_base_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
            allow_private_network=settings.allow_private_network,
        )


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered, pending (retry at next_ms), failed, dead
    next_ms: int
    code: int | None
    error: str | None


def judge(
    code: int | None, error: str | None, attempts_before: int, policy: WebhookPolicy, now: int, budget_from: int = 0
) -> Outcome:
    """What one attempt means: ``code`` is the HTTP status (None when no response came, ``error``
    says why). ``budget_from`` is the attempt count when the current budget began (a redelivery
    starts a new one: its attempts count on, its retries start again). Pure."""
    if code is not None and 200 <= code < 300:
        return Outcome("delivered", now, code, None)
    if code is not None and code < 500:
        return Outcome("failed", now, code, f"HTTP {code} (not retried)")
    reason = f"HTTP {code}" if code is not None else (error or "no response")
    made = attempts_before + 1
    used = made - min(max(budget_from, 0), attempts_before)
    if used >= policy.attempts:
        total = f" since the redelivery ({made} in all)" if used != made else ""
        return Outcome("dead", now, code, f"{reason}; gave up after {used} attempts{total}")
    return Outcome("pending", now + int(policy.delay(used) * 1000), code, reason)


@dataclass(frozen=True)
class Ready:
    claimed: ClaimedDelivery
    body: bytes
    signature: str
    pinned: Pinned = field(default_factory=Pinned)  # where the send connects (the policy's one lookup)


class WebhookDispatcher:
    def __init__(
        self,
        store: Outbox,
        signer: WebhookSigner,
        policy: WebhookPolicy | None = None,
        *,
        clock: Clock = now_ms,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = CONCURRENCY,
        per_webhook: int = PER_WEBHOOK,
        poll_seconds: float = POLL_SECONDS,
        on_outcome: Callable[[str], None] | None = None,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.store = store
        self.on_outcome = on_outcome  # told each attempt's outcome (delivered, pending, failed, dead): metrics
        self.signer = signer
        self.policy = policy or WebhookPolicy()
        self.clock = clock
        self.transport = transport
        self.concurrency = concurrency
        self.per_webhook = per_webhook
        self.poll_seconds = poll_seconds
        self.owner = owner_id()
        self.addresses = addresses or AddressPolicy(allow_private=self.policy.allow_private_network)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_prune = 0

    # -- life ---------------------------------------------------------------------------------

    async def start(self, run: bool = True) -> None:
        """Make sure the signing key exists (first serve), then send in the background if ``run``."""
        await asyncio.to_thread(self.signer.load)
        if run:
            self._stopping = False
            self._task = asyncio.create_task(self.run())

    async def aclose(self) -> None:
        """Stop: sends under way are abandoned (and sent again, same rtk-uuid, by whoever runs next)."""
        if self._task is not None:
            await self.stop_and_wait(self._task)
            self._task = None

    def stop_soon(self) -> None:
        """Ask ``run`` to return after its current round (it checks at every round)."""
        self._stopping = True
        self.poke()

    async def stop_and_wait(self, task: asyncio.Task[None]) -> None:
        """Stop ``task`` (a ``run``): asked first, cancelled only if it has not returned within a
        send's timeout (``recordkit.jobs.stopping``). It may be run again afterwards."""
        self.stop_soon()
        if await stop_task(task, self.policy.timeout_seconds + 5):
            self._stopping = False
            if not task.cancelled() and task.exception() is not None:
                log.error("webhook dispatcher ended with an error", exc_info=task.exception())

    def poke(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        if self._wake is not None:
            self._wake.set()

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        self.owner = owner_id()  # in the process that sends (a server worker)
        self._wake = asyncio.Event()
        inflight: dict[asyncio.Task[None], ClaimedDelivery] = {}
        client = httpx.AsyncClient(
            transport=self.transport,
            timeout=self.policy.timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self._prune_now_and_then()
                    free = self.concurrency - len(inflight)
                    if free > 0:
                        busy = Counter(c.webhook_id for c in inflight.values())
                        room = {hook: self.per_webhook - n for hook, n in busy.items()}
                        skip = frozenset(c.seq for c in inflight.values())
                        for ready in await asyncio.to_thread(self._claim, free, room, skip):
                            task = asyncio.create_task(self._send(client, ready))
                            inflight[task] = ready.claimed
                            task.add_done_callback(functools.partial(self._done, inflight))
                except Exception:
                    log.exception("webhook dispatcher round failed; trying again shortly")
                    await asyncio.sleep(1.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            for task in list(inflight):
                task.cancel()
            if inflight:  # bounded: a send that swallowed its cancellation still ends by its own timeout
                await asyncio.wait(list(inflight), timeout=self.policy.timeout_seconds + 1)
            await client.aclose()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.store.release_deliveries, self.owner)

    def _done(self, inflight: dict[asyncio.Task[None], ClaimedDelivery], task: asyncio.Task[None]) -> None:
        inflight.pop(task, None)
        self.poke()  # the next event of that recording may go now

    def _claim(self, free: int, room: dict[str, int], skip: frozenset[int]) -> list[Ready]:
        """Lease, render and sign (in a worker thread: SQLite and RSA stay off the event loop)."""
        now = self.clock()
        lease = int(self.policy.timeout_seconds * 1000) + LEASE_MARGIN_MS
        claimed = self.store.claim_deliveries(
            self.owner, now, lease, free, per_webhook=self.per_webhook, room=room, skip=skip
        )
        out: list[Ready] = []
        for item in claimed:
            pinned = self.addresses.pin(item.url)
            blocked = pinned.blocked
            if blocked is not None:  # a host that moved onto a private network: never retried
                error = f"address policy: the host resolves to {blocked} (not public); not sent, not retried"
                log.warning(
                    "webhook %s delivery %s (%s of %s): failed (%s)",
                    item.webhook_id,
                    item.id,
                    item.event,
                    item.subject,
                    error,
                )
                if self.on_outcome is not None:
                    self.on_outcome("failed")
                self.store.record_attempt(
                    item.seq, self.owner, status="failed", next_ms=now, code=None, error=error, now=now
                )
                continue
            try:
                body = render_payload(item)
            except Exception as exc:  # a snapshot that cannot be rendered will not get better
                log.exception("webhook delivery %s cannot be rendered", item.id)
                self.store.record_attempt(
                    item.seq, self.owner, status="dead", next_ms=now, code=None, error=f"render: {exc}"[:300], now=now
                )
                continue
            out.append(Ready(item, body, self.signer.sign(body), pinned))
        return out

    async def _send(self, client: httpx.AsyncClient, ready: Ready) -> None:
        claimed = ready.claimed
        headers = {
            "content-type": "application/json",
            "rtk-signature": ready.signature,
            "rtk-uuid": claimed.id,
            "rtk-webhook-id": claimed.webhook_id,
        }
        code: int | None = None
        error: str | None = None
        url: str | httpx.URL = claimed.url
        extensions: dict[str, Any] = {}
        try:
            if ready.pinned.unresolved:
                raise httpx.ConnectError("the host does not resolve")
            if ready.pinned.address is not None:  # connect to the checked address, as the named host
                named = httpx.URL(claimed.url)
                url = named.copy_with(host=ready.pinned.address)
                headers["host"] = named.netloc.decode("ascii")
                if named.scheme == "https":
                    extensions["sni_hostname"] = named.host  # TLS: the name's certificate, checked
            async with asyncio.timeout(self.policy.timeout_seconds):
                async with client.stream(
                    "POST", url, content=ready.body, headers=headers, extensions=extensions
                ) as response:
                    code = response.status_code  # the body is not read
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out after {self.policy.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except (httpx.InvalidURL, ValueError) as exc:
            error = f"invalid URL: {exc}"
        now = self.clock()
        outcome = judge(code, error and error[:300], claimed.attempts, self.policy, now, claimed.budget_from)
        if self.on_outcome is not None:
            self.on_outcome(outcome.status)
        level = logging.INFO if outcome.status == "delivered" else logging.WARNING
        log.log(
            level,
            "webhook %s delivery %s (%s of %s): %s%s",
            claimed.webhook_id,
            claimed.id,
            claimed.event,
            claimed.subject,
            outcome.status,
            f" ({outcome.error})" if outcome.error else "",
        )
        try:
            await asyncio.to_thread(
                self.store.record_attempt,
                claimed.seq,
                self.owner,
                status=outcome.status,
                next_ms=outcome.next_ms,
                code=outcome.code,
                error=outcome.error,
                now=now,
            )
        except Exception:  # the lease lapses and the delivery is sent again: at least once
            log.exception("could not record the attempt of webhook delivery %s", claimed.id)

    async def _prune_now_and_then(self) -> None:
        now = self.clock()
        if now - self._last_prune < PRUNE_EVERY_MS:
            return
        self._last_prune = now
        gone = await asyncio.to_thread(self.store.prune_deliveries, now - KEEP_LOG_MS)
        if gone:
            log.info("pruned %d finished webhook deliveries older than 30 days", gone)
