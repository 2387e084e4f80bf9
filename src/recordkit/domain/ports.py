"""Ports: what the domain needs from the outside world, as protocols."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from recordkit.domain.meetings import MeetingStore
from recordkit.domain.models import Account, App, Meeting, Principal, Recording
from recordkit.domain.query import Page, RecordingQuery


class RecordingStore(MeetingStore, Protocol):
    """Metadata: accounts, apps, tokens, meetings, recordings. Every implementation passes one suite."""

    def create_account(self) -> Account: ...

    def get_account(self, account_id: str) -> Account | None: ...

    def create_app(self, account_id: str, name: str) -> App: ...

    def get_app(self, app_id: str) -> App | None: ...

    def list_apps(self, account_id: str, page: Page, search: str | None, ascending: bool) -> tuple[list[App], int]: ...

    def create_token(self, account_id: str, permission: str) -> tuple[str, str]: ...

    def revoke_token(self, token_or_id: str) -> bool: ...

    def authenticate(self, token: str) -> Principal | None: ...

    def list_recordings(self, app_id: str, query: RecordingQuery, now_ms: int) -> tuple[list[bytes], int]:
        """A page of list items, each already rendered as JSON with its meeting, and the exact total."""
        ...

    def import_recordings(self, app_id: str, items: Iterable[tuple[Recording, Meeting]]) -> int: ...

    def close(self) -> None: ...
