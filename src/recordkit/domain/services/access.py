"""Who may see what: a token's account, an app of that account, and the write permission.

Every resource's service asks this one object before it touches the store (SPEC §2): a token of
another account gets 403, an app of another account (or none) 404, a Realtime (read-only) token
403 on a write.
"""

from __future__ import annotations

from recordkit.domain.ids import check_account_id, check_app_id
from recordkit.domain.models import App, Principal
from recordkit.domain.ports import RecordingStore
from recordkit.errors import Forbidden, NotFound


class Access:
    def __init__(self, store: RecordingStore) -> None:
        self.store = store

    @staticmethod
    def check_account(principal: Principal, account_id: str) -> str:
        check_account_id(account_id)
        if principal.account_id != account_id:
            raise Forbidden("token is not allowed to access this account")
        return account_id

    def app_for(self, principal: Principal, account_id: str, app_id: str) -> App:
        self.check_account(principal, account_id)
        app = self.store.get_app(check_app_id(app_id))
        if app is None or app.account_id != account_id:
            raise NotFound(f"app {app_id} not found")
        return app

    @staticmethod
    def require_write(principal: Principal) -> None:
        if not principal.can_write:
            raise Forbidden("token has the Realtime permission (read only); this needs Realtime Admin")
