"""``client.download``: a signed link's file to disk, ``.part`` first, resumed with ``Range`` after a cut,
its size checked."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import httpx

from recordkit.client import _core
from recordkit.client._core import USER_AGENT, AsyncSleep, Downloaded, Progress, RetryPolicy


class AsyncDownloads:
    """``download``, for ``AsyncBaseClient``: it uses the client's httpx client, retry policy and sleep."""

    _http: httpx.AsyncClient
    retry: RetryPolicy
    _sleep: AsyncSleep

    async def download(
        self,
        url: str,
        destination: str | os.PathLike[str],
        *,
        expected_size: int | float | None = None,
        on_progress: Progress | None = None,
        chunk_size: int | None = None,
    ) -> Downloaded:
        """Download a recording's ``download_url`` (or ``audio_download_url``) to ``destination``.

        The link is signed: no credentials are sent with it. Written to ``destination.part`` and
        renamed when complete; an interrupted transfer is retried (resumed with ``Range`` where the
        server supports it) as ``retry`` says. The byte count must equal the response's
        ``Content-Length`` and ``expected_size`` (the recording's ``file_size``) when given, else
        ``DownloadError``; an error answer raises its ``RecordKitAPIError`` (``GoneError``: expired)."""
        target = Path(destination)
        part = target.with_name(target.name + ".part")
        target.parent.mkdir(parents=True, exist_ok=True)
        retries = 0
        got = 0
        total: int | None = None
        announced: int | None = None
        content_type: str | None = None
        try:
            with part.open("wb") as out:
                while True:
                    headers = {"User-Agent": USER_AGENT}
                    if got:
                        headers["Range"] = f"bytes={got}-"
                    try:
                        async with self._http.stream("GET", url, headers=headers, follow_redirects=True) as response:
                            if response.status_code >= 400:
                                await response.aread()
                                wait = self.retry.after_response(response, retries)
                                if wait is None:
                                    raise _core.response_error(response, "GET", _core.redacted(url))
                                await self._sleep(wait)
                                retries += 1
                                continue
                            if got and not _core.resumed_from(response, got):
                                out.seek(0)
                                out.truncate()
                                got = 0
                            length = _core.content_length(response)
                            total = None if length is None else got + length
                            if announced is None or response.status_code == 200:
                                announced = total
                            content_type = response.headers.get("content-type")
                            if on_progress is not None:
                                on_progress(got, total)
                            async for chunk in response.aiter_bytes(chunk_size):
                                out.write(chunk)
                                got += len(chunk)
                                if on_progress is not None:
                                    on_progress(got, total)
                        break
                    except httpx.TransportError as exc:
                        wait = self.retry.after_error("GET", exc, retries)
                        if wait is None:
                            raise _core.transport_error("GET", _core.redacted(url), exc, retries) from exc
                        out.flush()
                        await self._sleep(wait)
                        retries += 1
                out.flush()
                os.fsync(out.fileno())
            _core.check_size(got, total, expected_size, url)
            part.replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink()
            raise
        return Downloaded(str(target), got, announced, content_type)
