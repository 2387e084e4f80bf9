"""``AsyncBaseClient``: the settings and the authenticated request with its retries (the download
comes from ``AsyncDownloads``; ``AsyncClient`` adds the resources: ``client.realtime_kit``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
import msgspec

from recordkit.client import _core
from recordkit.client._async.downloads import AsyncDownloads
from recordkit.client._core import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    AsyncSleep,
    Call,
    RetryPolicy,
)

T = TypeVar("T")
log = logging.getLogger("recordkit.client")


class AsyncBaseClient(AsyncDownloads):
    """What every call goes through; see ``AsyncClient`` for the settings."""

    def __init__(
        self,
        api_token: str | None = None,
        *,
        base_url: str | None = None,
        account_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_token = _core.resolve_token(api_token)
        self.base_url = _core.normalise_base_url(base_url)
        self.account_id = account_id
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)
        self._owns_http = http_client is None
        self._sleep: AsyncSleep = anyio.sleep

    # -- lifecycle ---------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, account_id={self.account_id!r})"

    # -- sending -----------------------------------------------------------------------------------

    def account(self, account_id: str | None) -> str:
        chosen = account_id or self.account_id
        if not chosen:
            raise ValueError("account_id: pass account_id= to the call or to the client")
        return chosen

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request to ``base_url + path`` with the token, retrying as ``retry`` says.

        Returns the successful response; raises the typed error of an error answer
        (``RecordKitAPIError`` and subclasses) or ``RecordKitConnectionError``."""
        url = self.base_url + path
        headers = {**self._headers, "Authorization": f"Bearer {self.api_token}"}
        content = None
        if json is not None:
            content = msgspec.json.encode(json)
            headers["Content-Type"] = "application/json"
        retries = 0
        while True:
            try:
                response = await self._http.request(
                    method, url, params=list(params or ()), content=content, headers=headers
                )
            except httpx.TransportError as exc:
                wait = self.retry.after_error(method, exc, retries)
                if wait is None:
                    raise _core.transport_error(method, url, exc, retries) from exc
                log.info("%s %s: %s; retry %d in %.2f s", method, path, type(exc).__name__, retries + 1, wait)
                await self._sleep(wait)
                retries += 1
                continue
            if response.is_success:
                return response
            wait = self.retry.after_response(response, retries)
            if wait is None:
                raise _core.response_error(response, method, url)
            log.info("%s %s: HTTP %d; retry %d in %.2f s", method, path, response.status_code, retries + 1, wait)
            await response.aclose()
            await self._sleep(wait)
            retries += 1

    async def send(self, call: Call[T]) -> T:
        response = await self.request(call.method, call.path, params=call.params, json=call.body)
        return call.decode(response.content)
