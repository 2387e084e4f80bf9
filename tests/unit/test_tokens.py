"""API tokens: shape and uniqueness."""

from __future__ import annotations

from recordkit.security.tokens import hash_token, new_token


def test_tokens_never_start_like_an_option() -> None:
    tokens = [new_token() for _ in range(2000)]
    assert all(t[0].isalnum() and len(t) == 40 for t in tokens)
    assert len(set(tokens)) == len(tokens)


def test_only_a_digest_is_kept() -> None:
    token = new_token()
    assert hash_token(token) != token and len(hash_token(token)) == 64 and hash_token(token) == hash_token(token)
