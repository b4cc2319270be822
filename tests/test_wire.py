"""Pure wire-layer tests: validation, request building, response parsing, error mapping, rate-limit headers
and
backoff. No transport anywhere in this file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx2
import pytest

from aiospaces import _headers, _retry, _wire, errors
from aiospaces.models import Volume

# --- payload arguments ----------------------------------------------------------------------------


def test_visibility_rules() -> None:
    """`private` maps to visibility, both together raise, `protected` needs repo_type='space'."""
    assert _wire.resolve_visibility(True, None, "space") == "private"
    assert _wire.resolve_visibility(False, None, None) == "public"
    assert _wire.resolve_visibility(None, "protected", "space") == "protected"
    assert _wire.resolve_visibility(None, None, None) is None
    with pytest.raises(ValueError, match="private and visibility"):
        _wire.resolve_visibility(True, "private", "space")
    with pytest.raises(ValueError, match="protected"):
        _wire.resolve_visibility(None, "protected", "model")


def test_secrets_list_never_echoes_values_in_errors() -> None:
    """A malformed `space_secrets` entry is rejected without the value appearing in the message."""
    with pytest.raises(ValueError, match="key") as info:
        _wire.secrets_list([{"key": "", "value": "hunter2-secret"}], arg="space_secrets")
    assert "hunter2-secret" not in str(info.value)
    assert _wire.secrets_list([{"key": "K", "value": "v", "description": "d"}], arg="s") == [
        {"key": "K", "value": "v", "description": "d"}
    ]


def test_volumes_payload_is_camel_case_and_checks_mount_path() -> None:
    """Volumes become the wire form with camelCase keys; a relative mount path is refused."""
    payload = _wire.volumes_payload(
        [Volume(type="bucket", source="a/b", mount_path="/data", read_only=True)], arg="v"
    )
    assert payload == [{"type": "bucket", "source": "a/b", "mountPath": "/data", "readOnly": True}]
    with pytest.raises(ValueError, match="mount_path"):
        _wire.volumes_payload([Volume(type="model", source="a/b", mount_path="data")], arg="volumes")


# --- request building -----------------------------------------------------------------------------


def test_runtime_request_specs() -> None:
    """Runtime endpoints use the paths and camelCase bodies of hub-api.md §8.2, with the documented
    idempotency."""
    hw = _wire.hardware_request("a/b", "t4-small", 3600)
    assert (hw.method, hw.path, hw.json, hw.idempotent) == (
        "POST",
        "/api/spaces/a/b/hardware",
        {"flavor": "t4-small", "sleepTimeSeconds": 3600},
        True,
    )
    assert _wire.hardware_request("a/b", "cpu-basic", None).json == {"flavor": "cpu-basic"}
    assert _wire.sleeptime_request("a/b", -1).json == {"seconds": -1}
    restart = _wire.restart_request("a/b", True)
    assert (restart.params, restart.idempotent) == ([("factory", "true")], False)
    assert _wire.restart_request("a/b", False).params is None
    assert _wire.dev_mode_request("a/b", False).json == {"enabled": False}
    assert _wire.pause_request("a/b").json is None


def test_secret_and_variable_bodies_omit_missing_description() -> None:
    """`description` is omitted (not null) when not given, as in recording test_manage_secrets."""
    assert _wire.secret_add_request("a/b", "foo", "123", None).json == {"key": "foo", "value": "123"}
    assert _wire.variable_add_request("a/b", "k", "v", "d").json == {
        "key": "k",
        "value": "v",
        "description": "d",
    }


def test_list_spaces_params() -> None:
    """List params repeat keys, map sort names to camelCase, render flags as `true`."""
    params = _wire.list_spaces_params(
        filter=["a", "b"],
        author="alice",
        search=None,
        datasets=None,
        models="m/x",
        linked=True,
        sort="last_modified",
        limit=10,
        expand=["runtime", "sdk"],
        full=None,
    )
    assert params == [
        ("filter", "a"),
        ("filter", "b"),
        ("author", "alice"),
        ("models", "m/x"),
        ("linked", "true"),
        ("sort", "lastModified"),
        ("limit", "10"),
        ("expand", "runtime"),
        ("expand", "sdk"),
    ]


def test_list_spaces_params_rejects_bad_combinations() -> None:
    """expand+full, unknown expand values, bad sort and non-positive limit raise before any request."""
    base: dict[str, object] = {
        "filter": None,
        "author": None,
        "search": None,
        "datasets": None,
        "models": None,
        "linked": False,
        "sort": None,
        "limit": None,
    }
    with pytest.raises(ValueError, match="expand and full"):
        _wire.list_spaces_params(**base, expand=["runtime"], full=True)
    with pytest.raises(ValueError, match="expand"):
        _wire.list_spaces_params(**base, expand=["nope"], full=None)
    with pytest.raises(ValueError, match="limit"):
        _wire.list_spaces_params(**{**base, "limit": 0}, expand=None, full=None)
    with pytest.raises(ValueError, match="sort"):
        _wire.list_spaces_params(**{**base, "sort": "stars"}, expand=None, full=None)


def test_quote_revision_encodes_slashes() -> None:
    """Revisions are percent-encoded with no safe characters (hub-api.md §1.2)."""
    assert _wire.quote_revision("refs/pr/1") == "refs%2Fpr%2F1"


# --- parsing --------------------------------------------------------------------------------------


def test_parse_link_next() -> None:
    """The `rel="next"` URL is extracted; absent or other rels give None."""
    link = '<https://huggingface.co/api/spaces?author=a&cursor=abc>; rel="next"'
    assert _wire.parse_link_next(link) == "https://huggingface.co/api/spaces?author=a&cursor=abc"
    assert _wire.parse_link_next('<https://x/prev>; rel="prev"') is None
    assert _wire.parse_link_next(None) is None


def test_parse_sse_event_only_accepts_data_objects() -> None:
    """Only `data: {` lines are events; keep-alives, comments and empty data are skipped (hub-api.md §9)."""
    assert _wire.parse_sse_event('data: {"data": "hi\\n", "timestamp": "t"}') == {
        "data": "hi\n",
        "timestamp": "t",
    }
    assert _wire.parse_sse_event("data: ") is None
    assert _wire.parse_sse_event(": keep-alive") is None
    assert _wire.parse_sse_event("data: {broken") is None


def test_sse_replay_end_and_event_after() -> None:
    """A no-follow read stops at events stamped after the response Date + 1 s."""
    end = _wire.sse_replay_end("Sat, 07 Mar 2025 12:00:00 GMT")
    assert end == datetime(2025, 3, 7, 12, 0, 1, tzinfo=UTC)
    assert not _wire.event_after({"timestamp": "2025-03-07T12:00:00.500Z"}, end)
    assert _wire.event_after({"timestamp": "2025-03-07T12:00:02Z"}, end)
    assert _wire.sse_replay_end("garbage") is None


def test_parse_runtime_requires_an_object() -> None:
    """A runtime payload that is not an object raises ValueError (never an AttributeError deep inside)."""
    with pytest.raises(ValueError, match="runtime"):
        _wire.parse_runtime(["stage"])


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "RepoNotFound", errors.RepositoryNotFoundError),
        (401, "RepoNotFound", errors.RepositoryNotFoundError),
        (404, "RevisionNotFound", errors.RevisionNotFoundError),
        (404, "EntryNotFound", errors.EntryNotFoundError),
        (404, None, errors.NotFoundError),
        (400, None, errors.BadRequestError),
        (401, None, errors.AuthenticationError),
        (402, None, errors.PaymentRequiredError),
        (403, None, errors.PermissionDeniedError),
        (409, None, errors.ConflictError),
        (412, None, errors.CommitConflictError),
        (429, None, errors.RateLimitedError),
        (500, None, errors.ServerError),
        (503, None, errors.ServerError),
        (418, None, errors.HubHTTPError),
    ],
)
def test_error_mapping_by_code_then_status(
    status: int, code: str | None, cls: type[errors.HubHTTPError]
) -> None:
    """`X-Error-Code` wins over the status; otherwise the status picks the class (hub-api.md §3.2)."""
    headers = {"X-Error-Code": code} if code else {}
    err = _wire.error_from_response(
        status=status, reason="R", headers=headers, body=b"{}", method="GET", url="https://h/api/x"
    )
    assert type(err) is cls
    assert err.status == status
    assert err.error_code == code


def test_error_carries_method_url_request_id_and_server_message() -> None:
    """Status errors carry method, URL, the Hub's request id and its JSON `error` message."""
    err = _wire.error_from_response(
        status=403,
        reason="Forbidden",
        headers={"X-Request-Id": "Root=1-abc;trace", "Content-Type": "application/json"},
        body=json.dumps({"error": "You are not the owner"}).encode(),
        method="POST",
        url="https://user:pw@huggingface.co/api/spaces/a/b/pause",
    )
    assert (err.method, err.url, err.request_id) == (
        "POST",
        "https://huggingface.co/api/spaces/a/b/pause",
        "Root=1-abc;trace",
    )
    assert err.server_message == "You are not the owner"
    assert "You are not the owner" in str(err)
    assert "Root=1-abc;trace" in str(err)
    assert "pw" not in str(err)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, b'{"error": ["a", "b"]}', "a\nb"),
        ({}, b'{"error": "invalid_grant", "error_description": "expired"}', "invalid_grant: expired"),
        ({}, b'{"errors": [{"message": "m1"}, {"message": "m2"}]}', "m1\nm2"),
        ({"X-Error-Message": "from header"}, b"", "from header"),
        ({"Content-Type": "text/plain"}, b"plain failure", "plain failure"),
        ({"Content-Type": "text/html"}, b"<html>oops</html>", None),
    ],
)
def test_server_message_sources(headers: dict[str, str], body: bytes, expected: str | None) -> None:
    """The server message comes from JSON `error`/`error_description`/`errors`, the header, or a text body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    assert _wire.server_message(headers, body, lowered.get("content-type")) == expected


def test_request_id_precedence() -> None:
    """`X-Request-Id` is preferred, then `X-Amzn-Trace-Id`, then `X-Amz-Cf-Id`."""
    assert _wire.request_id({"x-amz-cf-id": "cf", "X-Amzn-Trace-Id": "tr"}) == "tr"
    assert _wire.request_id({"x-amz-cf-id": "cf"}) == "cf"
    assert _wire.request_id({}) is None


def test_429_error_carries_retry_after() -> None:
    """A 429 error's `retry_after` comes from `RateLimit` t when r=0, else `Retry-After`."""
    err = _wire.error_from_response(
        status=429,
        reason="Too Many Requests",
        headers={"RateLimit": '"api";r=0;t=55'},
        body=b"",
        method="GET",
        url="u",
    )
    assert isinstance(err, errors.RateLimitedError)
    assert err.retry_after == 55
    err2 = _wire.error_from_response(
        status=429, reason="", headers={"Retry-After": "7"}, body=b"", method="GET", url="u"
    )
    assert isinstance(err2, errors.RateLimitedError)
    assert err2.retry_after == 7


def test_409_error_carries_existing_url() -> None:
    """The 409 on create keeps the existing repo's URL from the body (recording test_manage_secrets)."""
    body = b'{"error":"You already created this space repo","url":"https://huggingface.co/spaces/user/tmp"}'
    err = _wire.error_from_response(
        status=409, reason="Conflict", headers={}, body=body, method="POST", url="u"
    )
    assert isinstance(err, errors.ConflictError)
    assert err.existing_url == "https://huggingface.co/spaces/user/tmp"
    assert err.server_message == "You already created this space repo"


def test_redact_scrubs_message_and_attributes() -> None:
    """`redact` replaces secret values in the message and string attributes of an error."""
    err = errors.ServerError(
        "500 for POST u: bad value hf_tok_123",
        status=500,
        method="POST",
        url="u",
        server_message="hf_tok_123!",
    )
    _wire.redact(err, ["hf_tok_123", None])
    assert "hf_tok_123" not in str(err)
    assert err.server_message == "***!"


# --- rate limits and backoff ----------------------------------------------------------------------


def test_parse_rate_limit_headers() -> None:
    """`RateLimit` and `RateLimit-Policy` parse into bucket, remaining, reset, quota, window (hub-api.md
    §4.1)."""
    info = _headers.parse_rate_limit(
        {"ratelimit": '"api";r=12;t=55', "RATELIMIT-POLICY": '"fixed window";"api";q=500;w=300'}
    )
    assert info == _headers.RateLimitInfo(bucket="api", remaining=12, reset_in=55, limit=500, window=300)
    assert _headers.parse_rate_limit({"RateLimit": '"api";r=1;t=2'}) == _headers.RateLimitInfo("api", 1, 2)
    assert _headers.parse_rate_limit({"RateLimit": "garbage"}) is None
    assert _headers.parse_rate_limit({}) is None


def test_retry_after_parsing() -> None:
    """Delta-seconds `Retry-After` parses; the HTTP-date form and junk are ignored."""
    assert _headers.retry_after_seconds({"Retry-After": "3"}) == 3
    assert _headers.retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert _headers.retry_after_seconds({}) is None


def test_rate_limited_wait_prefers_ratelimit_reset_when_spent() -> None:
    """On a 429, `t` of a spent `RateLimit` wins over `Retry-After` (hub-api.md §4.3)."""
    assert _headers.rate_limited_wait({"RateLimit": '"api";r=0;t=9', "Retry-After": "2"}) == 9
    assert _headers.rate_limited_wait({"RateLimit": '"api";r=3;t=9', "Retry-After": "2"}) == 2


def test_retryable_statuses() -> None:
    """408, 429 and transient 5xx are retryable; 4xx and 501 are not."""
    assert all(_retry.is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(_retry.is_retryable_status(s) for s in (400, 401, 403, 404, 409, 412, 501))


def test_backoff_is_exponential_capped_and_jittered() -> None:
    """Delays double per attempt within [half, full] of the raw value, and never exceed the cap."""
    assert _retry.backoff_delay(1, base=1, cap=8, jitter=0.0) == 0.5
    assert _retry.backoff_delay(1, base=1, cap=8, jitter=0.999) == pytest.approx(1.0, abs=1e-3)
    assert _retry.backoff_delay(3, base=1, cap=8, jitter=0.0) == 2.0
    assert _retry.backoff_delay(10, base=1, cap=8, jitter=1.0) == 8.0
    assert _retry.backoff_delay(0, base=1, cap=8, jitter=0.5) == 0.0


@pytest.mark.parametrize(
    ("url", "endpoint", "expected"),
    [
        ("https://huggingface.co/spaces/a/b", "http://127.0.0.1:9", "http://127.0.0.1:9/spaces/a/b"),
        ("https://hub-ci.huggingface.co/a/b/commit/1", "http://e", "http://e/a/b/commit/1"),
        ("https://huggingface.co/a/b", "https://huggingface.co", "https://huggingface.co/a/b"),
        ("https://huggingface.co/a/b", "https://hub-ci.huggingface.co", "https://huggingface.co/a/b"),
        ("https://huggingface.co.evil.test/a", "http://e", "https://huggingface.co.evil.test/a"),
        ("http://other/x", "http://e", "http://other/x"),
    ],
)
def test_urls_from_the_hub_move_to_a_custom_endpoint(url: str, endpoint: str, expected: str) -> None:
    """The Hub's host or its staging host becomes a custom endpoint (as huggingface_hub does); other hosts,
    and look-alike hosts, are kept."""
    assert _wire.fix_endpoint_in_url(url, endpoint) == expected


@pytest.mark.parametrize(
    ("repo_type", "expected"),
    [
        (None, "/a/b"),
        ("model", "/a/b"),
        ("dataset", "/datasets/a/b"),
        ("space", "/spaces/a/b"),
        ("kernel", "/kernels/a/b"),
    ],
)
def test_repo_paths_for_every_repo_type(repo_type: str | None, expected: str) -> None:
    """Web, resolve, LFS and API paths are built from one prefix table for every repo type."""
    assert _wire.repo_path(repo_type, "a/b") == expected
    assert _wire.repo_web_url("http://e", repo_type, "a/b") == "http://e" + expected
    assert _wire.resolve_path(repo_type, "a/b", "main", "f") == expected + "/resolve/main/f"
    assert _wire.lfs_batch_path(repo_type, "a/b") == expected + ".git/info/lfs/objects/batch"
    assert _wire.api_repo_path(repo_type, "a/b") == f"/api/{repo_type or 'model'}s/a/b"


def test_header_lookup_ignores_key_case_and_joins_repeats_like_httpx2() -> None:
    """A header is found whatever the case of the keys, in a plain mapping and in httpx2.Headers (where
    repeated headers read as one comma-joined value); an absent one is None."""
    assert _headers.header({"Retry-After": "7"}, "retry-after") == "7"
    assert _headers.header({"retry-after": "7"}, "retry-after") == "7"
    assert _headers.header({"X-Other": "1"}, "retry-after") is None
    headers = httpx2.Headers([("RateLimit", '"api";r=9;t=3'), ("X-HF-Warning", "a"), ("x-hf-warning", "b")])
    assert _headers.header(headers, "ratelimit") == '"api";r=9;t=3'
    assert _headers.header(headers, "x-hf-warning") == "a, b"
    assert _headers.header(headers, "retry-after") is None
    info = _headers.parse_rate_limit(
        httpx2.Headers({"RATELIMIT": '"api";r=9;t=3', "RateLimit-Policy": "q=10;w=300"})
    )
    assert info == _headers.RateLimitInfo(bucket="api", remaining=9, reset_in=3.0, limit=10, window=300.0)
    assert _headers.retry_after_seconds(httpx2.Headers({"Retry-After": " 2.5 "})) == 2.5


def test_safe_url_drops_userinfo_and_leaves_other_urls_unchanged() -> None:
    """Credentials before the host are removed; a URL without them, or with `@` only in its path or query,
    comes back as it was."""
    assert _wire.safe_url("https://user:pw@hub.example/api?x=1") == "https://hub.example/api?x=1"
    assert _wire.safe_url("https://hub.example/api/spaces/a/b") == "https://hub.example/api/spaces/a/b"
    assert _wire.safe_url("https://hub.example/a@b?c=d@e") == "https://hub.example/a@b?c=d@e"
