"""``SqliteAccess``: accounts, apps and tokens of the SQLite store (the ``/accounts/.../apps`` API
and the CLI's ``apps`` and ``tokens`` commands). Times are given by the caller (``now``, ms)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recordkit.domain.ids import new_account_id, new_uuid
from recordkit.domain.models import Account, App, Principal
from recordkit.domain.query import Page
from recordkit.errors import NotFound
from recordkit.security.tokens import hash_token, new_token
from recordkit.store.sqlite.connection import ConnectionPool


class SqliteAccess:
    """Mixed into ``SqliteRecordingStore``."""

    pool: ConnectionPool
    _seal: Callable[[dict[str, Any] | None], bytes | None]
    _unseal: Callable[[bytes | str | None], dict[str, Any] | None]

    def create_account(self, account_id: str | None = None, *, now: int) -> Account:
        account = Account(id=account_id or new_account_id(), created_ms=now)
        with self.pool.write() as conn:
            conn.execute("INSERT INTO accounts (id, created_ms) VALUES (?, ?)", (account.id, account.created_ms))
        return account

    def has_accounts(self) -> bool:
        return self.pool.get().execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def get_account(self, account_id: str) -> Account | None:
        row = self.pool.get().execute("SELECT id, created_ms FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return Account(*row) if row else None

    def create_app(self, account_id: str, name: str, app_id: str | None = None, *, now: int) -> App:
        app = App(id=app_id or new_uuid(), account_id=account_id, name=name, created_ms=now)
        with self.pool.write() as conn:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO apps (id, account_id, name, created_ms) VALUES (?, ?, ?, ?)",
                (app.id, app.account_id, app.name, app.created_ms),
            )
        return app

    def set_app_recording_config(self, app_id: str, config: dict[str, Any] | None) -> None:
        """The app's default recording config (meetings and start bodies override it)."""
        with self.pool.write() as conn:
            cur = conn.execute("UPDATE apps SET recording_config = ? WHERE id = ?", (self._seal(config), app_id))
            if cur.rowcount == 0:
                raise NotFound(f"app {app_id} not found")

    def get_app(self, app_id: str) -> App | None:
        row = (
            self.pool.get()
            .execute("SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE id = ?", (app_id,))
            .fetchone()
        )
        return App(row[0], row[1], row[2], row[3], self._unseal(row[4])) if row else None

    def app_version(self, app_id: str) -> tuple[str, int] | None:
        row = self.pool.get().execute("SELECT account_id, version FROM apps WHERE id = ?", (app_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def list_apps(self, account_id: str, page: Page, search: str | None, ascending: bool) -> tuple[list[App], int]:
        where = "account_id = ?"
        params: list[Any] = [account_id]
        if search:
            where += " AND instr(lower(name), ?) > 0"
            params.append(search.lower())
        conn = self.pool.get()
        total = conn.execute(f"SELECT COUNT(*) FROM apps WHERE {where}", params).fetchone()[0]
        if page.offset >= total:
            return [], total
        order = "ASC" if ascending else "DESC"
        rows = conn.execute(
            f"SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE {where} "
            f"ORDER BY created_ms {order}, id {order} LIMIT ? OFFSET ?",
            [*params, page.per_page, page.offset],
        ).fetchall()
        return [App(r[0], r[1], r[2], r[3], self._unseal(r[4])) for r in rows], total

    def create_token(self, account_id: str, permission: str, *, now: int) -> tuple[str, str]:
        """Make a token; returns ``(token_id, token)``. Only the hash is stored."""
        token = new_token()
        token_id = new_uuid()
        with self.pool.write() as conn:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO tokens (id, account_id, permission, hash, created_ms) VALUES (?, ?, ?, ?, ?)",
                (token_id, account_id, permission, hash_token(token), now),
            )
        return token_id, token

    def revoke_token(self, token_or_id: str, *, now: int) -> bool:
        with self.pool.write() as conn:
            cur = conn.execute(
                "UPDATE tokens SET revoked_ms = ? WHERE (id = ? OR hash = ?) AND revoked_ms IS NULL",
                (now, token_or_id, hash_token(token_or_id)),
            )
            return cur.rowcount > 0

    def authenticate(self, token: str) -> Principal | None:
        row = (
            self.pool.get()
            .execute(
                "SELECT id, account_id, permission FROM tokens WHERE hash = ? AND revoked_ms IS NULL",
                (hash_token(token),),
            )
            .fetchone()
        )
        return Principal(row[0], row[1], row[2]) if row else None
