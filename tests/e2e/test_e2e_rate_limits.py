"""Per-token rate limits on a live server: 429 in the envelope with retry-after, per token, per class
(recordings endpoints apart from the rest), and the official SDK sees a RateLimitError."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cloudflare
import httpx
import pytest

from tests.support.recording import Tenant
from tests.support.servers import RkServer

pytestmark = pytest.mark.usefixtures("store_kind")  # every test on both stores (tests/conftest.py)

RECORDINGS_RATE = 4  # per 60 s
OTHER_RATE = 3  # per 60 s


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, databases: Callable[[], dict[str, str]]) -> Iterator[Tenant]:
    env = {
        **databases(),
        "RECORDKIT_RATE_LIMIT_RECORDINGS": f"{RECORDINGS_RATE}/60",
        "RECORDKIT_RATE_LIMIT_OTHER": f"{OTHER_RATE}/60",
        "RECORDKIT_RUN_JOBS": "0",
    }
    server = RkServer(tmp_path_factory.mktemp("rate-limits"), env=env)
    server.start()
    try:
        yield Tenant.create(server)
    finally:
        server.stop()


def test_limits_per_token_and_class(tenant: Tenant) -> None:
    apps = f"/client/v4/accounts/{tenant.account}/realtime/kit/apps"
    recordings = f"{tenant.kit}/recordings"
    with tenant.http() as http, tenant.http(tenant.ro_token) as other_token:
        assert [http.get(apps).status_code for _ in range(OTHER_RATE)] == [200] * OTHER_RATE
        refused = http.get(apps)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        body = refused.json()
        assert body["success"] is False and "Rate limit exceeded" in str(body)
        # the recordings endpoints count apart, and so does every other token
        assert [http.get(recordings).status_code for _ in range(RECORDINGS_RATE)] == [200] * RECORDINGS_RATE
        assert http.get(recordings).status_code == 429
        assert other_token.get(apps).status_code == 200
        # a refused request changed nothing and is not counted: still refused, same window
        assert http.get(apps).status_code == 429
    for _ in range(OTHER_RATE + 2):  # health checks are never limited
        assert httpx.get(f"{tenant.server.origin}/healthz", timeout=10).status_code == 200


def test_sdk_raises_rate_limit_error(tenant: Tenant) -> None:
    sdk = tenant.sdk(token=tenant.ro_token, max_retries=0)
    for _ in range(OTHER_RATE):  # this token has one request of its window used by the test above
        try:
            sdk.realtime_kit.apps.get(account_id=tenant.account)
        except cloudflare.RateLimitError:
            break
    else:
        pytest.fail("no 429 after the limit")
    with pytest.raises(cloudflare.RateLimitError):
        sdk.realtime_kit.apps.get(account_id=tenant.account)
