"""bot.rules.tokens: personal API tokens — shape, digest, Authorization parsing, scopes."""

from __future__ import annotations

import hashlib
import re

import pytest

from bot.rules.tokens import (
    MAX_HEADER_LENGTH,
    IssuedToken,
    TokenScope,
    allows,
    digest,
    generate,
    parse,
)

SAMPLE = "ast_ab12cd34_" + "Z" * 20 + "-_" + "a" * 21  # 43-character secret


def test_generated_tokens_have_the_documented_shape() -> None:
    token = generate()
    match = re.fullmatch(r"ast_([a-z0-9]{8})_([A-Za-z0-9_-]+)", token.plaintext)
    assert match is not None, token.plaintext
    assert match.group(1) == token.prefix
    assert len(match.group(2)) >= 43  # base64 of >= 32 random bytes
    assert token.digest == hashlib.sha256(token.plaintext.encode()).hexdigest()
    assert parse(f"Bearer {token.plaintext}") == token.plaintext


def test_generated_tokens_are_unique() -> None:
    tokens = [generate() for _ in range(200)]
    assert len({t.plaintext for t in tokens}) == 200
    assert len({t.digest for t in tokens}) == 200
    assert len({t.prefix for t in tokens}) > 190  # ~41 bits: collisions are possible, rare


def test_the_plaintext_stays_out_of_reprs() -> None:
    token = generate()
    assert token.plaintext not in repr(token)
    assert token.prefix in repr(token) and token.digest in repr(token)
    with pytest.raises(AttributeError):
        token.plaintext = "x"  # type: ignore[misc]


def test_digest_is_sha256_hex_of_the_whole_token() -> None:
    assert digest(SAMPLE) == hashlib.sha256(SAMPLE.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest(SAMPLE))
    assert digest(SAMPLE) != digest(SAMPLE[:-1] + "b")


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {SAMPLE}",
        f"bearer {SAMPLE}",
        f"BEARER {SAMPLE}",
        f"BeArEr {SAMPLE}",
        f"Bearer   {SAMPLE}",
        f"  Bearer {SAMPLE}  ",
    ],
)
def test_parse_accepts_bearer_in_any_case(header: str) -> None:
    assert parse(header) == SAMPLE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        SAMPLE,  # no scheme
        f"Basic {SAMPLE}",
        f"Token {SAMPLE}",
        f"Bearer{SAMPLE}",
        f"Bearer\t{SAMPLE}",
        f"Bearer {SAMPLE} extra",
        f"Bearer {SAMPLE},Bearer {SAMPLE}",
        f"Bearer {SAMPLE}\n",
        "Bearer xoxb-123-456-abc",  # a Slack token is not one of ours
        "Bearer ast_AB12CD34_" + "a" * 43,  # prefix is lowercase
        "Bearer ast_ab12cd3_" + "a" * 43,  # prefix too short
        "Bearer ast_ab12cd34_" + "a" * 42,  # secret too short
        "Bearer ast_ab12cd34_" + "a" * 129,  # secret too long
        "Bearer ast_ab12cd34_" + "a" * 42 + "=",  # padding / other characters
        "Bearer ast_ab12cd34_" + "é" * 43,
        "Bearer ast_ab12cd34_" + "a" * 42 + "\u0661",
        "Bearer ast_ab12cd34_" + "a" * 42 + "\x00",
        "Bearer " + "ast_" + "a" * MAX_HEADER_LENGTH,
        "Bearer\u00a0" + SAMPLE,  # non-breaking space is not a separator
        "Bearer " + SAMPLE.replace("ast_", "AST_"),
    ],
)
def test_parse_rejects_everything_else(header: str | None) -> None:
    assert parse(header) is None


def test_header_length_cap_applies_before_parsing() -> None:
    fits = "Bearer " + " " * (MAX_HEADER_LENGTH - len("Bearer ") - len(SAMPLE)) + SAMPLE
    assert len(fits) == MAX_HEADER_LENGTH
    assert parse(fits) == SAMPLE
    assert parse(" " + fits) is None


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_read_allows_only_safe_methods(method: str) -> None:
    assert allows(TokenScope.READ, method)
    assert allows("read", method)
    assert allows(TokenScope.WRITE, method)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "get", "Get", "TRACE", ""])
def test_read_refuses_everything_else(method: str) -> None:
    assert not allows(TokenScope.READ, method)
    assert allows(TokenScope.WRITE, method)
    assert allows("write", method)


@pytest.mark.parametrize("scope", ["", "admin", "READ", "Write", "read,write"])
def test_unknown_scopes_allow_nothing(scope: str) -> None:
    for method in ("GET", "POST"):
        assert not allows(scope, method)


def test_scope_values_are_stable() -> None:
    assert [s.value for s in TokenScope] == ["read", "write"]
    assert TokenScope("read") is TokenScope.READ


def test_issued_token_is_a_plain_value() -> None:
    token = IssuedToken(plaintext=SAMPLE, prefix="ab12cd34", digest=digest(SAMPLE))
    assert token == IssuedToken(plaintext=SAMPLE, prefix="ab12cd34", digest=digest(SAMPLE))
