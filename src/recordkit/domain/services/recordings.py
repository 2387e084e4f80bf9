"""The recordings of an app (SPEC §4): the list, and the operations that change a recording.

The rules (config precedence, where files go, the lifecycle) are pure functions of
``recordkit.domain.recordings``; this service checks who may do what, then calls them and the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recordkit.domain.ids import check_app_id, check_uuid
from recordkit.domain.listcache import PageCache, cacheable, params_key
from recordkit.domain.models import App, JSONDict, Meeting, Principal, Recording
from recordkit.domain.ports import RecordingStore
from recordkit.domain.query import Page, QueryParams, parse_recording_query
from recordkit.domain.recordings import (
    StartRecordingBody,
    StartTrackBody,
    action_event,
    caller_of,
    full_storage_config,
    new_recording,
    new_track_recording,
    transition,
)
from recordkit.domain.services.access import Access
from recordkit.domain.timefmt import now_ms
from recordkit.errors import NotFound

if TYPE_CHECKING:
    from recordkit.security.netpolicy import AddressPolicy


class RecordingsService:
    """The recording operations behind the API, with their access rules: list (with a page cache),
    start, start a track, get, act (pause / resume / stop), the active recording.

    ``preflight``, when set, is called with a new recording's whole storage_config (secrets
    included) before it is stored; it raises (InvalidRequest, Unavailable) to refuse the start.
    It may take network time: callers then run ``start`` off the event loop.

    ``addresses``, when set, is the address policy a start's ``url`` and SFTP host must pass; when
    it looks names up (``addresses.resolves``) callers also run ``start`` off the event loop."""

    def __init__(
        self,
        access: Access,
        store: RecordingStore,
        clock: Callable[[], int] = now_ms,
        *,
        page_cache: int = 256,
        on_change: Callable[[], None] | None = None,
        preflight: Callable[[JSONDict], None] | None = None,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.access = access
        self.store = store
        self.clock = clock
        # Recent list pages, checked against the app's data version on every request (listcache).
        self.pages: PageCache[tuple[list[bytes], int, Page]] = PageCache(page_cache)
        self.on_change = on_change or (lambda: None)
        self.preflight = preflight
        self.addresses = addresses

    @property
    def blocking(self) -> bool:
        """Whether a start may wait on the network (a preflight, a DNS lookup)."""
        return self.preflight is not None or (self.addresses is not None and self.addresses.resolves)

    def _check_addresses(self, rec: Recording, url: str | None) -> None:
        if self.addresses is None:
            return
        if url is not None:
            self.addresses.check_url(url, "url")
        self.addresses.check_storage(rec.storage_config, "storage_config.")

    def _preflight(self, rec: Recording) -> None:
        storage = full_storage_config(rec)
        if self.preflight is not None and storage is not None:
            self.preflight(storage)

    def list(
        self, principal: Principal, account_id: str, app_id: str, params: QueryParams
    ) -> tuple[list[bytes], int, Page]:
        """The seed endpoint: a page of an app's recordings, filtered and sorted (SPEC §4)."""
        self.access.check_account(principal, account_id)
        app_id = check_app_id(app_id)
        found = self.store.app_version(app_id)
        if found is None or found[0] != account_id:
            raise NotFound(f"app {app_id} not found")
        key = params_key(app_id, params) if cacheable(params) else None
        if key is not None:
            hit = self.pages.get(key, found[1])
            if hit is not None:
                return hit
        query = parse_recording_query(params)
        rows, total = self.store.list_recordings(app_id, query, self.clock())
        if key is not None:
            self.pages.put(key, found[1], (rows, total, query.page))
        return rows, total, query.page

    def _writable_meeting(
        self, principal: Principal, account_id: str, app_id: str, meeting_id: str
    ) -> tuple[App, Meeting]:
        """The app and the meeting a start names, when the caller may write there (401/403/404)."""
        app = self.access.app_for(principal, account_id, app_id)
        self.access.require_write(principal)
        meeting_id = check_uuid(meeting_id, "meeting_id")
        meeting = self.store.get_meeting(app.id, meeting_id)
        if meeting is None:
            raise NotFound(f"meeting {meeting_id} not found")
        return app, meeting

    def _insert(self, rec: Recording, url: str | None, *, exclusive: bool, now: int) -> Recording:
        """A new recording past the address policy and the preflight, stored; the supervisor poked."""
        self._check_addresses(rec, url)
        self._preflight(rec)
        self.store.insert_recording(rec, exclusive=exclusive, now=now)
        self.on_change()
        return rec

    def start(self, principal: Principal, account_id: str, app_id: str, body: StartRecordingBody) -> Recording:
        app, meeting = self._writable_meeting(principal, account_id, app_id, body.meeting_id)
        now = self.clock()
        rec = new_recording(
            app.id, body, app.recording_config, meeting.recording_config, caller_of(principal.token_id), now
        )
        return self._insert(rec, body.url, exclusive=not body.allow_multiple_recordings, now=now)

    def start_track(self, principal: Principal, account_id: str, app_id: str, body: StartTrackBody) -> Recording:
        app, meeting = self._writable_meeting(principal, account_id, app_id, body.meeting_id)
        now = self.clock()
        rec = new_track_recording(
            app.id,
            body,
            caller_of(principal.token_id),
            now,
            app_config=app.recording_config,
            meeting_config=meeting.recording_config,
        )
        return self._insert(rec, None, exclusive=True, now=now)

    def get(self, principal: Principal, account_id: str, app_id: str, recording_id: str) -> Recording:
        app = self.access.app_for(principal, account_id, app_id)
        rec = self.store.get_recording(app.id, check_uuid(recording_id, "recording_id"))
        if rec is None:
            raise NotFound(f"recording {recording_id} not found")
        return rec

    def act(self, principal: Principal, account_id: str, app_id: str, recording_id: str, action: str) -> Recording:
        app = self.access.app_for(principal, account_id, app_id)
        self.access.require_write(principal)
        rec_id = check_uuid(recording_id, "recording_id")
        if self.store.get_recording(app.id, rec_id) is None:
            raise NotFound(f"recording {recording_id} not found")
        event = action_event(action)
        caller = caller_of(principal.token_id)
        now = self.clock()
        rec = self.store.update_recording(rec_id, lambda r: transition(r, event, now, caller=caller), now)
        self.on_change()
        return rec

    def active(self, principal: Principal, account_id: str, app_id: str, meeting_id: str) -> Recording:
        app = self.access.app_for(principal, account_id, app_id)
        found = self.store.active_recordings(app.id, check_uuid(meeting_id, "meeting_id"))
        if not found:
            raise NotFound(f"no active recording for meeting {meeting_id}")
        return found[0]
