"""Behaviour of the wire mapping that mutation testing showed was not pinned yet: the exact requests built,
the arguments refused before any request, the models parsed from Hub answers, and the errors (class and
fields) a caller sees for an error answer."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from aiospaces import _wire, errors
from aiospaces.models import SpaceHardwareInfo, SpaceInfo, SpaceSecret, SpaceVariable, Volume

# --- arguments -------------------------------------------------------------------------------------------


class _Vis(enum.Enum):
    PRIVATE = "private"


def test_visibility_accepts_every_documented_value() -> None:
    """`public` and `private` work for any repo type, `protected` for Spaces, an enum by its value."""
    assert _wire.resolve_visibility(None, "public", None) == "public"
    assert _wire.resolve_visibility(None, "private", "model") == "private"
    assert _wire.resolve_visibility(None, _Vis.PRIVATE, "dataset") == "private"
    assert _wire.resolve_visibility(False, None, "space") == "public"


def test_visibility_refuses_bad_values_naming_the_argument() -> None:
    """A non-bool `private`, an unknown visibility or `protected` without a repo type raise, naming it."""
    with pytest.raises(TypeError, match="private"):
        _wire.resolve_visibility("yes", None, "space")
    with pytest.raises(TypeError, match="private"):
        _wire.resolve_visibility(1, None, "space")
    with pytest.raises(ValueError, match="visibility"):
        _wire.resolve_visibility(None, "secret", "space")
    with pytest.raises(ValueError, match="protected"):
        _wire.resolve_visibility(None, "protected", None)
    with pytest.raises(ValueError, match="private and visibility"):
        _wire.resolve_visibility(False, "public", "space")


def test_secrets_list_shapes_and_refusals() -> None:
    """None stays None; entries become key/value dicts without a missing description; anything but a list of
    dicts is a TypeError naming the argument."""
    assert _wire.secrets_list(None, arg="space_secrets") is None
    assert _wire.secrets_list([], arg="space_secrets") == []
    assert _wire.secrets_list(({"key": "A", "value": "1"}, {"key": "B", "value": "2"}), arg="s") == [
        {"key": "A", "value": "1"},
        {"key": "B", "value": "2"},
    ]
    for bad in ("KEY=v", b"KEY=v", {"key": "A", "value": "1"}, 3):
        with pytest.raises(TypeError, match="space_variables must be a list"):
            _wire.secrets_list(bad, arg="space_variables")
    with pytest.raises(TypeError, match="space_variables items"):
        _wire.secrets_list([("A", "1")], arg="space_variables")
    with pytest.raises(TypeError, match=r"space_secrets\[\]\.description"):
        _wire.secrets_list([{"key": "A", "value": "1", "description": 5}], arg="space_secrets")


class _ForeignVolume:
    """A volume from another library: anything with `to_dict()` giving the wire form."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        return self._data


def test_volumes_payload_accepts_ours_foreign_objects_and_wire_dicts() -> None:
    """Our Volume, an object with `to_dict()` and a wire dict all give the same camelCase wire list."""
    wire = {"type": "model", "source": "a/b", "mountPath": "/m"}
    ours = _wire.volumes_payload([Volume(type="model", source="a/b", mount_path="/m")], arg="volumes")
    assert ours == [wire]
    assert _wire.volumes_payload([_ForeignVolume(dict(wire))], arg="volumes") == [wire]
    assert _wire.volumes_payload([dict(wire)], arg="volumes") == [wire]
    assert _wire.volumes_payload((), arg="volumes") == []


def test_volumes_payload_refusals_name_the_argument() -> None:
    """A str, a non-list, a non-volume item, a missing or relative mount path and an empty source raise."""
    for bad in ("/data", b"/data", 7):
        with pytest.raises(TypeError, match="volumes must be a list of Volume"):
            _wire.volumes_payload(bad, arg="volumes")
    with pytest.raises(TypeError, match="volumes items"):
        _wire.volumes_payload([3], arg="volumes")
    with pytest.raises(ValueError, match="volumes: mount_path"):
        _wire.volumes_payload([_ForeignVolume({"type": "model", "source": "a/b"})], arg="volumes")
    with pytest.raises(ValueError, match="volumes: mount_path"):
        _wire.volumes_payload([_ForeignVolume({"source": "a/b", "mountPath": 5})], arg="volumes")
    with pytest.raises(ValueError, match="volumes: source"):
        _wire.volumes_payload([_ForeignVolume({"source": "", "mountPath": "/m"})], arg="volumes")


# --- URLs -----------------------------------------------------------------------------------------------


def test_the_bare_hub_host_moves_to_a_custom_endpoint() -> None:
    """A URL that is exactly the Hub's host becomes the custom endpoint."""
    assert _wire.fix_endpoint_in_url("https://huggingface.co", "http://127.0.0.1:9") == "http://127.0.0.1:9"
    assert _wire.fix_endpoint_in_url("https://huggingface.cox/a", "http://e") == "https://huggingface.cox/a"


def test_resolve_path_quotes_revision_and_filename() -> None:
    """A branch with a slash is fully encoded; a filename keeps its directory slashes but encodes spaces."""
    assert (
        _wire.resolve_path("space", "a/b", "refs/pr/1", "dir/my file.txt")
        == "/spaces/a/b/resolve/refs%2Fpr%2F1/dir/my%20file.txt"
    )


# --- request specs --------------------------------------------------------------------------------------


def test_every_space_request_has_its_method_route_body_and_idempotency() -> None:
    """Each runtime/settings request is sent with the method, route, body and resend-safety of hub-api.md."""
    cases = [
        (_wire.runtime_request("a/b"), ("GET", "/api/spaces/a/b/runtime", True, None, None)),
        (
            _wire.hardware_request("a/b", "t4-small", None),
            ("POST", "/api/spaces/a/b/hardware", True, None, {"flavor": "t4-small"}),
        ),
        (
            _wire.sleeptime_request("a/b", 300),
            ("POST", "/api/spaces/a/b/sleeptime", True, None, {"seconds": 300}),
        ),
        (_wire.pause_request("a/b"), ("POST", "/api/spaces/a/b/pause", True, None, None)),
        (
            _wire.restart_request("a/b", True),
            ("POST", "/api/spaces/a/b/restart", False, [("factory", "true")], None),
        ),
        (_wire.restart_request("a/b", False), ("POST", "/api/spaces/a/b/restart", False, None, None)),
        (
            _wire.dev_mode_request("a/b", True),
            ("POST", "/api/spaces/a/b/dev-mode", True, None, {"enabled": True}),
        ),
        (
            _wire.storage_request("a/b", "large"),
            ("POST", "/api/spaces/a/b/storage", True, None, {"tier": "large"}),
        ),
        (
            _wire.secret_add_request("a/b", "K", "v", "d"),
            ("POST", "/api/spaces/a/b/secrets", True, None, {"key": "K", "value": "v", "description": "d"}),
        ),
        (
            _wire.variable_add_request("a/b", "K", "v", None),
            ("POST", "/api/spaces/a/b/variables", True, None, {"key": "K", "value": "v"}),
        ),
    ]
    for spec, expected in cases:
        assert (spec.method, spec.path, spec.idempotent, spec.params, spec.json) == expected
    assert _wire.space_path("a/b") == "/api/spaces/a/b"


def _list_params(**overrides: Any) -> list[tuple[str, str]]:
    args: dict[str, Any] = {
        "filter": None,
        "author": None,
        "search": None,
        "datasets": None,
        "models": None,
        "linked": False,
        "sort": None,
        "limit": None,
        "expand": None,
        "full": None,
    }
    args.update(overrides)
    return _wire.list_spaces_params(**args)


def test_list_spaces_query_for_each_argument() -> None:
    """Each list argument becomes its query parameter; unset ones and false flags send nothing."""
    assert _list_params() == []
    assert _list_params(filter="gradio", search="chat", datasets=["d/1", "d/2"]) == [
        ("filter", "gradio"),
        ("search", "chat"),
        ("datasets", "d/1"),
        ("datasets", "d/2"),
    ]
    assert _list_params(models=("m/1",), full=True, limit=1) == [
        ("models", "m/1"),
        ("limit", "1"),
        ("full", "true"),
    ]
    assert _list_params(full=False, linked=False) == []
    assert _list_params(expand=[]) == []


def test_list_spaces_sort_names_map_to_the_hub_keys() -> None:
    """Python and camelCase sort names both map to the Hub's camelCase sort key."""
    expected = {
        "created_at": "createdAt",
        "createdAt": "createdAt",
        "last_modified": "lastModified",
        "lastModified": "lastModified",
        "likes": "likes",
        "trending_score": "trendingScore",
        "trendingScore": "trendingScore",
    }
    for name, key in expected.items():
        assert _list_params(sort=name) == [("sort", key)]


def test_list_spaces_accepts_every_documented_expand_property() -> None:
    """Every documented `expand` property is accepted and sent in order."""
    props = [
        "author", "cardData", "createdAt", "datasets", "disabled", "lastModified", "likes", "models",
        "private", "region", "resourceGroup", "runtime", "sdk", "sha", "siblings", "subdomain", "tags",
        "trendingScore", "usedStorage", "gitalyUid", "xetEnabled",
    ]  # fmt: skip
    assert _list_params(expand=props) == [("expand", p) for p in props]
    assert _wire.expand_values(None) == []


def test_list_spaces_refusals_name_the_argument() -> None:
    """Non-str filters, bool/float/negative limits, a str `expand` and non-bool flags are refused."""
    with pytest.raises(TypeError, match="models must be a str or a list of str"):
        _list_params(models=["m/1", 2])
    with pytest.raises(TypeError, match="filter"):
        _list_params(filter=[None])
    for bad in (True, 2.0, -1, "5"):
        with pytest.raises(ValueError, match="limit"):
            _list_params(limit=bad)
    with pytest.raises(TypeError, match="expand must be a list"):
        _list_params(expand="runtime")
    with pytest.raises(TypeError, match="linked"):
        _list_params(linked="yes")
    with pytest.raises(TypeError, match="full"):
        _list_params(full="yes")
    with pytest.raises(TypeError, match="author"):
        _list_params(author=3)
    with pytest.raises(ValueError, match="expand and full"):
        _list_params(expand=[], full=False)
    with pytest.raises(ValueError, match=r"fields has unknown properties \['nope'\]"):
        _wire.expand_values(["sdk", "nope"], arg="fields")


# --- response parsing -----------------------------------------------------------------------------------


def _response(content: bytes, url: str = "https://u:p@hub.example/api/spaces?author=a") -> httpx2.Response:
    return httpx2.Response(200, content=content, request=httpx2.Request("GET", url))


def test_json_body_parses_or_raises_naming_the_request_without_query_or_credentials() -> None:
    """A JSON body is returned; a non-JSON one raises UnexpectedResponseError naming method and clean URL."""
    assert _wire.json_body(_response(b'{"a": [1]}')) == {"a": [1]}
    with pytest.raises(errors.UnexpectedResponseError) as info:
        _wire.json_body(_response(b"<html>"))
    message = str(info.value)
    assert "GET https://hub.example/api/spaces " in message
    assert "author=a" not in message
    assert "u:p" not in message
    with pytest.raises(errors.UnexpectedResponseError):
        _wire.json_body(_response(b"\xff\xfe{"))


def test_payloads_of_the_wrong_shape_raise_unexpected_response_naming_the_payload() -> None:
    """Each parser refuses a payload of the wrong JSON type with an error naming which payload it was."""
    for parse, what in (
        (_wire.parse_runtime, "runtime"),
        (_wire.parse_secrets, "secrets"),
        (_wire.parse_variables, "variables"),
        (_wire.parse_space_info, "space"),
    ):
        with pytest.raises(errors.UnexpectedResponseError, match=rf"^unexpected {what} payload"):
            parse([])
    with pytest.raises(errors.UnexpectedResponseError, match=r"^unexpected list_spaces payload"):
        _wire.parse_space_list({})
    with pytest.raises(errors.UnexpectedResponseError, match=r"^unexpected hardware payload"):
        _wire.parse_hardware_list({})


def test_parse_secrets_and_variables_build_models() -> None:
    """Secrets and variables maps become models keyed by name; an entry that is not an object is empty."""
    secrets = _wire.parse_secrets(
        {"TOKEN": {"description": "d", "updatedAt": "2025-01-02T03:04:05.000Z"}, "BARE": None}
    )
    assert secrets == {
        "TOKEN": SpaceSecret("TOKEN", "d", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        "BARE": SpaceSecret("BARE", None, None),
    }
    variables = _wire.parse_variables({"MODE": {"value": "fast", "description": "x"}, "ODD": "v"})
    assert variables == {
        "MODE": SpaceVariable("MODE", "fast", "x", None),
        "ODD": SpaceVariable("ODD", "", None, None),
    }


def test_parse_space_info_list_and_hardware_skip_non_objects() -> None:
    """Space info, space pages and hardware lists parse their objects and skip anything else in an array."""
    assert _wire.parse_space_info({"id": "a/b"}).id == "a/b"
    page = _wire.parse_space_list([{"id": "a/b"}, "junk", {"id": "c/d"}])
    assert [s.id for s in page] == ["a/b", "c/d"]
    assert all(isinstance(s, SpaceInfo) for s in page)
    hw = _wire.parse_hardware_list([{"name": "cpu-basic", "prettyName": "CPU basic"}, 3])
    assert [(h.name, h.pretty_name) for h in hw] == [("cpu-basic", "CPU basic")]
    assert isinstance(hw[0], SpaceHardwareInfo)


def test_parse_link_next_variants() -> None:
    """An unquoted `rel=next`, one among several links, or an empty header are handled."""
    assert _wire.parse_link_next("<http://h/p?c=1>; rel=next") == "http://h/p?c=1"
    assert _wire.parse_link_next('<http://h/a>; rel="prev", <http://h/b>;rel="next"') == "http://h/b"
    assert _wire.parse_link_next("") is None


def test_parse_sse_event_refuses_non_objects_and_missing_space() -> None:
    """A `data:` line must hold a JSON object after exactly `data: `."""
    assert _wire.parse_sse_event('data:{"data": "x"}') is None
    assert _wire.parse_sse_event('data: {"data": "x"} trailing') is None
    assert _wire.parse_sse_event('data: {"data": "x"}') == {"data": "x"}


def test_event_after_edges() -> None:
    """Without a replay end or a valid timestamp nothing is new; an event exactly at the end is old."""
    end = datetime(2025, 3, 7, 12, 0, 1, tzinfo=UTC)
    assert not _wire.event_after({"timestamp": "2025-03-07T12:00:02Z"}, None)
    assert not _wire.event_after({}, end)
    assert not _wire.event_after({"timestamp": 5}, end)
    assert not _wire.event_after({"timestamp": "not a date"}, end)
    assert not _wire.event_after({"timestamp": "2025-03-07T12:00:01Z"}, end)
    assert _wire.event_after({"timestamp": "2025-03-07T12:00:01.001Z"}, end)
    assert _wire.sse_replay_end(None) is None
    assert _wire.sse_replay_end("") is None


# --- errors ---------------------------------------------------------------------------------------------


def test_safe_url_drops_userinfo_containing_an_at_sign() -> None:
    """A password holding `@` is removed entirely, keeping scheme, host, path, query and fragment."""
    assert _wire.safe_url("https://u:p@ss@hub.example/a?b=1#f") == "https://hub.example/a?b=1#f"


def test_request_id_skips_empty_headers_and_ignores_case() -> None:
    """An empty `X-Request-Id` falls through to the next header; header case does not matter."""
    assert _wire.request_id({"X-Request-Id": "", "X-AMZ-CF-ID": "cf"}) == "cf"
    assert _wire.request_id({"X-REQUEST-ID": "rid", "x-amzn-trace-id": "tr"}) == "rid"


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "expected"),
    [
        ({}, b'{"error": "e"}', "application/json", "e"),
        ({}, b'{"error_description": "only d"}', None, "only d"),
        ({}, b'{"error": 5, "error_description": "d"}', None, "d"),
        ({}, b'{"error": ["a"], "errors": [{"message": "m"}, "x", {"message": 3}]}', None, "a\nm"),
        ({}, b'{"errors": null}', None, None),
        ({"x-error-message": "h"}, b'{"error": "e"}', None, "e\nh"),
        ({"X-Error-Message": "e"}, b'{"error": "e"}', None, "e"),
        ({"X-Error-Message": ""}, b"", None, None),
        ({}, b"[1, 2]", "text/plain", None),
        ({}, b"  spaced out \n", None, "spaced out"),
        ({}, b"   ", "text/plain", None),
        ({}, b"<p>bad</p>", "Text/HTML; charset=utf-8", None),
        ({}, b"x" * 600, "text/plain", "x" * 500),
        ({}, b"caf\xe9", "text/plain", "caf\ufffd"),
        ({}, b"", None, None),
    ],
)
def test_server_message_edge_cases(
    headers: dict[str, str], body: bytes, content_type: str | None, expected: str | None
) -> None:
    """The Hub's message is assembled from every JSON source, then the header unless repeated, else a
    trimmed, non-HTML, non-JSON text body of at most 500 characters."""
    assert _wire.server_message(headers, body, content_type) == expected


def _error(status: int, **kwargs: Any) -> errors.HubHTTPError:
    args: dict[str, Any] = {
        "reason": "",
        "headers": {},
        "body": b"",
        "method": "GET",
        "url": "https://hub.example/api/x",
    }
    args.update(kwargs)
    return _wire.error_from_response(status=status, **args)


def test_error_text_names_status_reason_method_url_message_and_request_id() -> None:
    """The error's text starts with status, reason (or `Error`), method and URL, then the Hub's message and
    request id; its fields carry the same facts."""
    bare = _error(418)
    assert str(bare) == "418 Error for GET https://hub.example/api/x"
    assert (bare.server_message, bare.request_id, bare.error_code) == (None, None, None)
    err = _error(
        500,
        reason="Internal Server Error",
        headers={"X-Error-Message": "boom", "x-amz-cf-id": "cf1", "x-error-code": ""},
        method="DELETE",
        url="https://a:b@hub.example/api/y",
    )
    assert isinstance(err, errors.ServerError)
    assert (
        str(err) == "500 Internal Server Error for DELETE https://hub.example/api/y: boom (Request ID: cf1)"
    )
    assert (err.status, err.method, err.url) == (500, "DELETE", "https://hub.example/api/y")
    assert (err.server_message, err.request_id, err.error_code) == ("boom", "cf1", None)


def test_error_code_header_is_read_whatever_its_case() -> None:
    """`X-Error-Code` in any case selects the class and is kept on the error."""
    err = _error(404, headers={"X-ERROR-CODE": "EntryNotFound"})
    assert isinstance(err, errors.EntryNotFoundError)
    assert err.error_code == "EntryNotFound"
    unknown = _error(404, headers={"X-Error-Code": "SomethingNew"})
    assert type(unknown) is errors.NotFoundError
    assert unknown.error_code == "SomethingNew"


def test_statuses_just_below_500_are_not_server_errors() -> None:
    """499 maps to the base HubHTTPError, 500 and above to ServerError."""
    assert type(_error(499)) is errors.HubHTTPError
    assert type(_error(599)) is errors.ServerError


def test_html_error_pages_never_become_the_server_message() -> None:
    """An HTML error page (proxy or CDN) is not shown as the Hub's message."""
    err = _error(502, headers={"Content-Type": "text/html"}, body=b"<html>Bad gateway</html>")
    assert err.server_message is None
    assert "<html>" not in str(err)
    text = _error(502, headers={"content-type": "text/plain"}, body=b"upstream gone")
    assert text.server_message == "upstream gone"


def test_rate_limited_error_retry_after_sources() -> None:
    """A caller-computed wait wins over the headers; without either, `retry_after` is None and the text
    promises no wait."""
    err = _error(429, headers={"Retry-After": "7"}, now_retry_after=2.5)
    assert isinstance(err, errors.RateLimitedError)
    assert err.retry_after == 2.5
    assert "(retry after 2.5s)" in str(err)
    zero = _error(429, headers={"Retry-After": "7"}, now_retry_after=0.0)
    assert isinstance(zero, errors.RateLimitedError)
    assert zero.retry_after == 0.0
    none = _error(429)
    assert isinstance(none, errors.RateLimitedError)
    assert none.retry_after is None
    assert "retry after" not in str(none)
    assert none.status == 429


def test_conflict_existing_url_only_from_a_json_string() -> None:
    """`existing_url` is None when the 409 body is not JSON or its `url` is not a string."""
    for body in (b"not json", b'{"url": 3}', b'["url"]', b"\xff"):
        err = _error(409, body=body)
        assert isinstance(err, errors.ConflictError)
        assert err.existing_url is None
    ok = _error(409, body=b'{"url": "https://h/spaces/a/b"}', method="POST")
    assert isinstance(ok, errors.ConflictError)
    assert (ok.existing_url, ok.status, ok.method) == ("https://h/spaces/a/b", 409, "POST")


def test_redact_scrubs_every_string_field_and_keeps_other_args() -> None:
    """Secrets of 3+ characters are replaced in args, url, server_message and existing_url; shorter ones and
    non-string args are left alone."""
    err = errors.ConflictError(
        "409 for POST https://h/tok/x: tok and ab",
        existing_url="https://h/tok",
        status=409,
        method="POST",
        url="https://h/tok/x",
        server_message="tok!",
    )
    err.args = (*err.args, 7)  # an exception can carry non-string args too
    _wire.redact(err, ["tok", "ab", None, ""])
    assert err.args == ("409 for POST https://h/***/x: *** and ab", 7)
    assert (err.url, err.server_message, err.existing_url) == ("https://h/***/x", "***!", "https://h/***")
    untouched = errors.ServerError("ab", status=500, method="GET", url="ab")
    _wire.redact(untouched, ["ab"])
    assert (untouched.args, untouched.url) == (("ab",), "ab")
    _wire.redact(untouched, [])
    assert untouched.args == ("ab",)


def test_redact_replaces_several_secrets() -> None:
    """Every listed secret is replaced, not only the first."""
    err = errors.ServerError("one two three", status=500, method="GET", url="two")
    _wire.redact(err, ["one", "three", "two"])
    assert str(err) == "*** *** ***"
    assert err.url == "***"


# --- argument errors name the argument first ------------------------------------------------------------


def test_visibility_errors_lead_with_the_argument_and_say_what_was_wrong() -> None:
    """Each visibility error starts with the argument's name and states the wrong type or the allowed
    values."""
    with pytest.raises(ValueError, match=r"^private and visibility cannot be passed together"):
        _wire.resolve_visibility(True, "public", "space")
    with pytest.raises(TypeError, match=r"^private must be a bool or None, got str"):
        _wire.resolve_visibility("yes", None, "space")
    with pytest.raises(TypeError, match=r"^visibility must be a str"):
        _wire.resolve_visibility(None, 5, "space")
    with pytest.raises(ValueError, match=r"^visibility must be one of public, private, protected, got 'x'"):
        _wire.resolve_visibility(None, "x", "space")
    with pytest.raises(ValueError, match=r"^visibility='protected' is only allowed with repo_type='space'"):
        _wire.resolve_visibility(None, "protected", "dataset")


def test_secret_value_of_the_wrong_type_names_the_entry_field() -> None:
    """A non-str secret value is refused naming `space_secrets[].value`."""
    with pytest.raises(TypeError, match=r"^space_secrets\[\]\.value must be a str"):
        _wire.secrets_list([{"key": "K", "value": 5}], arg="space_secrets")


def test_list_spaces_argument_errors_lead_with_the_argument() -> None:
    """Every wrongly typed list argument is refused with a message starting with its name."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"author": 3}, "author"),
        ({"search": 3}, "search"),
        ({"linked": "yes"}, "linked"),
        ({"full": "yes"}, "full"),
        ({"sort": 3}, "sort"),
        ({"expand": [3]}, "expand"),
    ]
    for overrides, name in cases:
        with pytest.raises(TypeError, match=rf"^{name} must be "):
            _list_params(**overrides)
    with pytest.raises(ValueError, match=r"^expand and full cannot be passed together"):
        _list_params(expand=["sdk"], full=True)
    with pytest.raises(ValueError, match=r"allowed: author, cardData, createdAt, datasets, "):
        _list_params(expand=["nope"])


def test_empty_author_and_search_are_sent_empty() -> None:
    """An empty author or search string is sent as an empty parameter, not replaced."""
    assert _list_params(author="", search="") == [("author", ""), ("search", "")]


def test_error_text_keeps_the_status_line_for_rate_limits_and_conflicts() -> None:
    """A 429's text still starts with its status line before the retry hint; a 409's text is its status
    line and message."""
    limited = _error(429, reason="Too Many Requests", headers={"Retry-After": "3"})
    assert str(limited) == "429 Too Many Requests for GET https://hub.example/api/x (retry after 3s)"
    conflict = _error(409, reason="Conflict", body=b'{"error": "exists"}', method="POST")
    assert str(conflict) == "409 Conflict for POST https://hub.example/api/x: exists"
