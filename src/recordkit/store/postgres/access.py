"""``PgAccess``: accounts, apps and tokens of the PostgreSQL store (as ``SqliteAccess``). App
names are kept as exact UTF-8 bytes (text cannot hold NUL). Times are given by the caller."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from recordkit.domain.ids import new_account_id, new_uuid
from recordkit.domain.models import Account, App, Principal
from recordkit.domain.query import Page
from recordkit.errors import NotFound
from recordkit.security.tokens import hash_token, new_token
from recordkit.store.postgres.connection import PgPool

Conn = psycopg.Connection[Any]
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class PgAccess:
    """Mixed into ``PostgresRecordingStore``."""

    pool: PgPool
    _seal: Callable[[dict[str, Any] | None], bytes | None]
    _unseal: Callable[[bytes | None], dict[str, Any] | None]

    def _app(self, row: Sequence[Any]) -> App:
        return App(row[0], row[1], bytes(row[2]).decode(), row[3], self._unseal(row[4]))

    def create_account(self, account_id: str | None = None, *, now: int) -> Account:
        """A new account; with ``account_id``, that id (an archive keeps its source's ids)."""
        account = Account(id=account_id or new_account_id(), created_ms=now)
        self.pool.write(
            lambda conn: conn.execute(
                "INSERT INTO accounts (id, created_ms) VALUES (%s, %s)", (account.id, account.created_ms)
            )
        )
        return account

    def has_accounts(self) -> bool:
        return self.pool.fetchone("SELECT 1 FROM accounts LIMIT 1") is not None

    def get_account(self, account_id: str) -> Account | None:
        row = self.pool.fetchone("SELECT id, created_ms FROM accounts WHERE id = %s", (account_id,))
        return Account(row[0], int(row[1])) if row else None

    def create_app(self, account_id: str, name: str, app_id: str | None = None, *, now: int) -> App:
        """A new app; with ``app_id``, that id (an archive keeps its source's ids)."""
        app = App(id=app_id or new_uuid(), account_id=account_id, name=name, created_ms=now)

        def work(conn: Conn) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = %s", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO apps (id, account_id, name, created_ms) VALUES (%s, %s, %s, %s)",
                (app.id, app.account_id, app.name.encode(), app.created_ms),
            )

        self.pool.write(work)
        return app

    def set_app_recording_config(self, app_id: str, config: dict[str, Any] | None) -> None:
        """The app's default recording config (meetings and start bodies override it)."""
        sealed = self._seal(config)

        def work(conn: Conn) -> None:
            cur = conn.execute("UPDATE apps SET recording_config = %s WHERE id = %s", (sealed, app_id))
            if cur.rowcount == 0:
                raise NotFound(f"app {app_id} not found")

        self.pool.write(work)

    def get_app(self, app_id: str) -> App | None:
        row = self.pool.fetchone(
            "SELECT id, account_id, name, created_ms, recording_config FROM apps WHERE id = %s", (app_id,)
        )
        return self._app(row) if row else None

    def app_version(self, app_id: str) -> tuple[str, int] | None:
        row = self.pool.fetchone("SELECT account_id, version FROM apps WHERE id = %s", (app_id,))
        return (row[0], int(row[1])) if row else None

    def list_apps(self, account_id: str, page: Page, search: str | None, ascending: bool) -> tuple[list[App], int]:
        order = "ASC" if ascending else "DESC"
        columns = "id, account_id, name, created_ms, recording_config"
        if search:
            # SQLite's instr(lower(name), lower(search)): lower() there folds ASCII only. Apps per
            # account are few: filtered here, the same whatever the database's locale.
            wanted = search.lower()
            rows = self.pool.fetchall(
                f"SELECT {columns} FROM apps WHERE account_id = %s ORDER BY created_ms {order}, id {order}",
                (account_id,),
            )
            hits = [r for r in rows if wanted in bytes(r[2]).decode().translate(_ASCII_LOWER)]
            chosen = hits[page.offset : page.offset + page.per_page] if page.offset < len(hits) else []
            return [self._app(r) for r in chosen], len(hits)
        total = int(self.pool.fetchone("SELECT COUNT(*) FROM apps WHERE account_id = %s", (account_id,))[0])
        if page.offset >= total:
            return [], total
        rows = self.pool.fetchall(
            f"SELECT {columns} FROM apps WHERE account_id = %s ORDER BY created_ms {order}, id {order} "
            "LIMIT %s OFFSET %s",
            (account_id, page.per_page, page.offset),
        )
        return [self._app(r) for r in rows], total

    def create_token(self, account_id: str, permission: str, *, now: int) -> tuple[str, str]:
        """Make a token; returns ``(token_id, token)``. Only the hash is stored."""
        token = new_token()
        token_id = new_uuid()

        def work(conn: Conn) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = %s", (account_id,)).fetchone() is None:
                raise NotFound(f"account {account_id} not found")
            conn.execute(
                "INSERT INTO tokens (id, account_id, permission, hash, created_ms) VALUES (%s, %s, %s, %s, %s)",
                (token_id, account_id, permission, hash_token(token), now),
            )

        self.pool.write(work)
        return token_id, token

    def revoke_token(self, token_or_id: str, *, now: int) -> bool:
        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE tokens SET revoked_ms = %s WHERE (id = %s OR hash = %s) AND revoked_ms IS NULL",
                (now, token_or_id, hash_token(token_or_id)),
            )
            return cur.rowcount > 0

        return self.pool.write(work)

    def authenticate(self, token: str) -> Principal | None:
        row = self.pool.fetchone(
            "SELECT id, account_id, permission FROM tokens WHERE hash = %s AND revoked_ms IS NULL",
            (hash_token(token),),
        )
        return Principal(row[0], row[1], row[2]) if row else None
