from __future__ import annotations

import pytest

from recordkit.errors import InvalidRequest
from recordkit.security.netpolicy import check_host, check_url, is_public

BLOCKED = [
    "127.0.0.1",
    "127.9.9.9",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "fe80::1",
    "fd00:ec2::254",
    "fc00::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(InvalidRequest, match="private, loopback or link-local"):
        check_host(address, "url", allow_private=False)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(address)
    check_host(address, "url", allow_private=False)


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    def resolver(name: str) -> list[str]:
        return {"mixed.example": ["8.8.8.8", "10.0.0.1"], "good.example": ["8.8.4.4"]}.get(name, [])

    check_host("good.example", "url", allow_private=False, resolver=resolver)
    with pytest.raises(InvalidRequest, match=r"10\.0\.0\.1"):
        check_host("mixed.example", "url", allow_private=False, resolver=resolver)
    with pytest.raises(InvalidRequest, match="does not resolve"):
        check_host("nowhere.example", "url", allow_private=False, resolver=resolver)


def test_localhost_resolves_to_loopback_and_is_blocked_unless_allowed() -> None:
    with pytest.raises(InvalidRequest, match="url: host 'localhost'"):
        check_url("http://localhost:8080/x", "url", allow_private=False)
    check_url("http://localhost:8080/x", "url", allow_private=True)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "example.com/path", "http://", "http://user:pw@8.8.8.8/", "http://8.8.8.8:99999/"]
)
def test_malformed_urls_are_400(url: str) -> None:
    with pytest.raises(InvalidRequest, match=r"^url: "):
        check_url(url, "url", allow_private=True)


def test_the_policy_at_connect_time_names_the_first_private_address() -> None:
    from recordkit.security.netpolicy import AddressPolicy, Pinned

    def resolver(name: str) -> list[str]:
        return {"moved.example": ["8.8.8.8", "10.9.8.7"], "public.example": ["8.8.4.4"]}.get(name, [])

    strict = AddressPolicy(allow_private=False, resolver=resolver)
    assert strict.resolves
    assert strict.pin("https://moved.example/hook") == Pinned(blocked="10.9.8.7")
    assert strict.pin("https://public.example/hook") == Pinned(address="8.8.4.4")
    assert strict.pin("https://gone.example/hook") == Pinned(unresolved=True)  # a network error, retried
    assert strict.pin("http://169.254.169.254/latest") == Pinned(blocked="169.254.169.254")
    allowed = AddressPolicy(allow_private=True, resolver=resolver)
    assert not allowed.resolves and allowed.pin("https://moved.example/hook") == Pinned()
    with pytest.raises(InvalidRequest, match=r"^storage_config\.host: .*10\.9\.8\.7"):
        strict.check_host("moved.example", "storage_config.host")
    with pytest.raises(InvalidRequest, match=r"^recording_config\.storage_config\.host: .*10\.9\.8\.7"):
        strict.check_storage({"type": "sftp", "host": "moved.example"}, "recording_config.storage_config.")
    strict.check_storage({"type": "aws", "host": "moved.example"}, "storage_config.")  # no host to reach
    strict.check_storage(None, "storage_config.")
    allowed.check_url("http://127.0.0.1/", "url")


@pytest.mark.parametrize("host", ["a\x00b", "x" * 300, "\udcff", "[::1:", "é" * 70])
def test_odd_host_names_do_not_resolve_rather_than_raise(host: str) -> None:
    from recordkit.security.netpolicy import resolve

    assert resolve(host) == []
    with pytest.raises(InvalidRequest, match="does not resolve"):
        check_host(host, "url", allow_private=False)
