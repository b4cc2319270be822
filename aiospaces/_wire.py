"""Pure wire mapping: argument payloads, repo URLs, request specs, response parsing, and statuses mapped to
errors. No I/O here (design.md §6), so all of it is tested without a transport. The rate-limit headers are
read in `_headers.py`, retry delays computed in `_retry.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import attrs
import httpx2

from . import errors
from ._config import DEFAULT_ENDPOINT, STAGING_ENDPOINT
from ._headers import rate_limited_wait
from .models import (
    SpaceHardwareInfo,
    SpaceInfo,
    SpaceRuntime,
    SpaceSecret,
    SpaceVariable,
    Volume,
    parse_datetime,
)
from .validation import enum_value, validate_bool, validate_key, validate_optional_str, validate_value

# --- argument rules ----------------------------------------------------------------------------------

SPACE_SDKS: tuple[str, ...] = ("gradio", "streamlit", "docker", "static")
VISIBILITIES: tuple[str, ...] = ("public", "private", "protected")
SPACE_EXPAND: frozenset[str] = frozenset(
    {
        *("author", "cardData", "createdAt", "datasets", "disabled", "lastModified", "likes", "models"),
        *("private", "region", "resourceGroup", "runtime", "sdk", "sha", "siblings", "subdomain", "tags"),
        *("trendingScore", "usedStorage"),
        # Accepted by the server though undocumented (hub-api.md §6.1 [test]).
        *("gitalyUid", "xetEnabled"),
    }
)
SORT_KEYS = {
    "created_at": "createdAt",
    "createdAt": "createdAt",
    "last_modified": "lastModified",
    "lastModified": "lastModified",
    "likes": "likes",
    "trending_score": "trendingScore",
    "trendingScore": "trendingScore",
}


def resolve_visibility(private: object, visibility: object, repo_type: str | None) -> str | None:
    """huggingface_hub's rule: `private` and `visibility` are exclusive; `protected` is for Spaces only
    (hub-api.md §5.1)."""
    if private is not None and visibility is not None:
        raise ValueError("private and visibility cannot be passed together")
    if private is not None:
        if not isinstance(private, bool):
            raise TypeError(f"private must be a bool or None, got {type(private).__name__}")
        return "private" if private else "public"
    if visibility is None:
        return None
    value = enum_value(visibility, arg="visibility")
    if value not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, got {value!r}")
    if value == "protected" and repo_type != "space":
        raise ValueError("visibility='protected' is only allowed with repo_type='space'")
    return value


def secrets_list(items: object, *, arg: str) -> list[dict[str, str]] | None:
    """`space_secrets` / `space_variables`: a list of `{"key", "value", "description"?}` dicts."""
    if items is None:
        return None
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise TypeError(f"{arg} must be a list of {{'key', 'value', 'description'?}} dicts")
    out: list[dict[str, str]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise TypeError(f"{arg} items must be dicts with 'key' and 'value'")
        entry = {
            "key": validate_key(item.get("key"), arg=f"{arg}[].key"),
            "value": validate_value(item.get("value"), arg=f"{arg}[].value"),
        }
        description = validate_optional_str(item.get("description"), arg=f"{arg}[].description")
        if description is not None:
            entry["description"] = description
        out.append(entry)
    return out


def volumes_payload(volumes: object, *, arg: str) -> list[dict[str, Any]]:
    """A list of `Volume` (ours, or anything with `to_dict()`, or wire dicts) → the wire list."""
    if isinstance(volumes, str | bytes) or not isinstance(volumes, Sequence):
        raise TypeError(f"{arg} must be a list of Volume")
    out: list[dict[str, Any]] = []
    for item in volumes:
        if isinstance(item, Volume):
            data = item.to_dict()
        elif hasattr(item, "to_dict"):
            data = dict(item.to_dict())
        elif isinstance(item, Mapping):
            data = Volume.from_dict(item).to_dict()
        else:
            raise TypeError(f"{arg} items must be Volume objects")
        mount = data.get("mountPath")
        if not isinstance(mount, str) or not mount.startswith("/"):
            raise ValueError(f"{arg}: mount_path must be an absolute path, got {mount!r}")
        if not data.get("source"):
            raise ValueError(f"{arg}: source must be a non-empty repo or bucket id")
        out.append(data)
    return out


# --- repo URLs -------------------------------------------------------------------------------------------

# The Hub's own hosts, which a custom endpoint stands in for (hub-api.md §1.1).
_HUB_HOSTS = (DEFAULT_ENDPOINT, STAGING_ENDPOINT)
# Prefix of a repo's non-API routes (web page, `resolve`, `.git/info/lfs`), hub-api.md §1.1.
_REPO_URL_PREFIX: dict[str, str] = {
    "model": "",
    "dataset": "datasets/",
    "space": "spaces/",
    "kernel": "kernels/",
}


def fix_endpoint_in_url(url: str, endpoint: str) -> str:
    """A URL the Hub returned (`url`, `commitUrl`, ...), on `endpoint`: a custom endpoint replaces the Hub's
    own host, or its staging host, as huggingface_hub's `fix_hf_endpoint_in_url` does (hub-api.md §1.1)."""
    if endpoint in _HUB_HOSTS:
        return url
    for host in _HUB_HOSTS:
        if url == host or url.startswith(host + "/"):
            return endpoint + url[len(host) :]
    return url


def repo_type_prefix(repo_type: str | None) -> str:
    """`/api/{prefix}/...` path segment: `models`, `datasets`, `spaces`, `kernels`."""
    return f"{repo_type or 'model'}s"


def api_repo_path(repo_type: str | None, repo_id: str) -> str:
    """`/api/{type}s/{repo_id}` (repo_id raw: its slash is a path separator, hub-api.md §1.2)."""
    return f"/api/{repo_type_prefix(repo_type)}/{repo_id}"


def repo_path(repo_type: str | None, repo_id: str) -> str:
    """`/{prefix}{repo_id}`: the repo's web page, under which `resolve` and `.git` routes live."""
    return f"/{_REPO_URL_PREFIX[repo_type or 'model']}{repo_id}"


def repo_web_url(endpoint: str, repo_type: str | None, repo_id: str) -> str:
    """The repo's URL on `endpoint`, as the Hub builds `url` and `commitUrl` from it."""
    return f"{endpoint}{repo_path(repo_type, repo_id)}"


def resolve_path(repo_type: str | None, repo_id: str, revision: str, filename: str) -> str:
    """`/{prefix}{repo_id}/resolve/{quoted revision}/{quoted filename}` (hub-api.md §12.1)."""
    return f"{repo_path(repo_type, repo_id)}/resolve/{quote_revision(revision)}/{quote(filename)}"


def lfs_batch_path(repo_type: str | None, repo_id: str) -> str:
    """`/{prefix}{repo_id}.git/info/lfs/objects/batch` (hub-api.md §11.4)."""
    return f"{repo_path(repo_type, repo_id)}.git/info/lfs/objects/batch"


def quote_revision(revision: str) -> str:
    """Revisions are percent-encoded with no safe characters (`refs/pr/1` → `refs%2Fpr%2F1`, hub-api.md
    §1.2)."""
    return quote(revision, safe="")


# --- request specs -----------------------------------------------------------------------------------------


@attrs.frozen
class RequestSpec:
    """A request to send: method, path (joined to the endpoint), query, JSON body, and whether resending it
    after an ambiguous failure is safe (`idempotent`)."""

    method: str
    path: str
    idempotent: bool
    params: list[tuple[str, str]] | None = None
    json: Any = None


def space_path(repo_id: str, suffix: str = "") -> str:
    """`/api/spaces/{repo_id}{suffix}`; the repo id goes in raw, two path segments (hub-api.md §1.2)."""
    return f"/api/spaces/{repo_id}{suffix}"


# Idempotency per Space operation. Setting a value is idempotent in effect: resending the same hardware, sleep
# time, dev-mode flag, pause, storage tier or volumes list after an ambiguous failure ends in the same state.
# Secrets and variables POSTs are upserts. Restart is NOT idempotent (a second restart restarts the Space
# again), so the client reconciles it instead (see `HubOperations.restart_space`).


def runtime_request(repo_id: str) -> RequestSpec:
    """`GET /api/spaces/{id}/runtime` (hub-api.md §8.2)."""
    return RequestSpec("GET", space_path(repo_id, "/runtime"), idempotent=True)


def hardware_request(repo_id: str, hardware: str, sleep_time: int | None) -> RequestSpec:
    """`POST …/hardware` `{"flavor", "sleepTimeSeconds"?}` (hub-api.md §8.2)."""
    body: dict[str, Any] = {"flavor": hardware}
    if sleep_time is not None:
        body["sleepTimeSeconds"] = sleep_time
    return RequestSpec("POST", space_path(repo_id, "/hardware"), idempotent=True, json=body)


def sleeptime_request(repo_id: str, sleep_time: int) -> RequestSpec:
    """`POST …/sleeptime` `{"seconds"}` (hub-api.md §8.2)."""
    return RequestSpec(
        "POST", space_path(repo_id, "/sleeptime"), idempotent=True, json={"seconds": sleep_time}
    )


def pause_request(repo_id: str) -> RequestSpec:
    """`POST …/pause`, no body (recording test_pause_and_restart_space)."""
    return RequestSpec("POST", space_path(repo_id, "/pause"), idempotent=True)


def restart_request(repo_id: str, factory_reboot: bool) -> RequestSpec:
    """`POST …/restart[?factory=true]` (hub-api.md §8.2). Not idempotent."""
    params = [("factory", "true")] if factory_reboot else None
    return RequestSpec("POST", space_path(repo_id, "/restart"), idempotent=False, params=params)


def dev_mode_request(repo_id: str, enabled: bool) -> RequestSpec:
    """`POST …/dev-mode` `{"enabled"}` (hub-api.md §8.2)."""
    return RequestSpec("POST", space_path(repo_id, "/dev-mode"), idempotent=True, json={"enabled": enabled})


def storage_request(repo_id: str, tier: str) -> RequestSpec:
    """`POST …/storage` `{"tier"}` (hub-api.md §8.2, deprecated)."""
    return RequestSpec("POST", space_path(repo_id, "/storage"), idempotent=True, json={"tier": tier})


def secret_add_request(repo_id: str, key: str, value: str, description: str | None) -> RequestSpec:
    """`POST …/secrets` `{"key", "value", "description"?}`: an upsert (recording test_manage_secrets)."""
    body = {"key": key, "value": value}
    if description is not None:
        body["description"] = description
    return RequestSpec("POST", space_path(repo_id, "/secrets"), idempotent=True, json=body)


def variable_add_request(repo_id: str, key: str, value: str, description: str | None) -> RequestSpec:
    """`POST …/variables` `{"key", "value", "description"?}`: an upsert (recording test_manage_variables)."""
    body = {"key": key, "value": value}
    if description is not None:
        body["description"] = description
    return RequestSpec("POST", space_path(repo_id, "/variables"), idempotent=True, json=body)


def list_spaces_params(
    *,
    filter: str | Iterable[str] | None,
    author: str | None,
    search: str | None,
    datasets: str | Iterable[str] | None,
    models: str | Iterable[str] | None,
    linked: bool,
    sort: str | None,
    limit: int | None,
    expand: Sequence[str] | None,
    full: bool | None,
) -> list[tuple[str, str]]:
    """Query for `GET /api/spaces` (hub-api.md §6.2); validates before any request."""
    if expand is not None and full is not None:
        raise ValueError("expand and full cannot be passed together")
    params: list[tuple[str, str]] = []

    def many(name: str, value: str | Iterable[str] | None) -> None:
        if value is None:
            return
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if not isinstance(item, str):
                raise TypeError(f"{name} must be a str or a list of str")
            params.append((name, item))

    many("filter", filter)
    if author is not None:
        params.append(("author", validate_optional_str(author, arg="author") or ""))
    if search is not None:
        params.append(("search", validate_optional_str(search, arg="search") or ""))
    many("datasets", datasets)
    many("models", models)
    if validate_bool(linked, arg="linked"):
        params.append(("linked", "true"))
    if sort is not None:
        sort_value = enum_value(sort, arg="sort")
        if sort_value not in SORT_KEYS:
            raise ValueError(
                f"sort must be one of created_at, last_modified, likes, trending_score, got {sort!r}"
            )
        params.append(("sort", SORT_KEYS[sort_value]))
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        params.append(("limit", str(limit)))
    params.extend(("expand", value) for value in expand_values(expand))
    if validate_bool(full, arg="full", optional=True):
        params.append(("full", "true"))
    return params


def expand_values(expand: Sequence[str] | None, *, arg: str = "expand") -> list[str]:
    """Validate `expand` against the allowed properties (hub-api.md §6.1)."""
    if expand is None:
        return []
    if isinstance(expand, str):
        raise TypeError(f"{arg} must be a list of property names, not a str")
    values = [enum_value(v, arg=arg) for v in expand]
    unknown = [v for v in values if v not in SPACE_EXPAND]
    if unknown:
        raise ValueError(
            f"{arg} has unknown properties {unknown}; allowed: {', '.join(sorted(SPACE_EXPAND))}"
        )
    return values


# --- response parsing --------------------------------------------------------------------------------------


def json_body(response: httpx2.Response) -> Any:
    """The response body as JSON; `UnexpectedResponseError` when it is not JSON."""
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise errors.UnexpectedResponseError(
            f"the Hub answered {response.request.method} {safe_url(str(response.request.url)).split('?')[0]} "
            f"with a body that is not JSON"
        ) from None


def _json_object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise errors.UnexpectedResponseError(
            f"unexpected {what} payload from the Hub: expected a JSON object"
        )
    return data


def parse_runtime(data: Any) -> SpaceRuntime:
    """A runtime object (hub-api.md §8.1)."""
    return SpaceRuntime.from_dict(_json_object(data, "runtime"))


def parse_secrets(data: Any) -> dict[str, SpaceSecret]:
    """`{"KEY": {"description"?, "updatedAt"?}}` (hub-api.md §7)."""
    obj = _json_object(data, "secrets")
    return {k: SpaceSecret.from_dict(k, v if isinstance(v, Mapping) else {}) for k, v in obj.items()}


def parse_variables(data: Any) -> dict[str, SpaceVariable]:
    """`{"KEY": {"value", "description"?, "updatedAt"}}` (recording test_manage_variables)."""
    obj = _json_object(data, "variables")
    return {k: SpaceVariable.from_dict(k, v if isinstance(v, Mapping) else {}) for k, v in obj.items()}


def parse_space_info(data: Any) -> SpaceInfo:
    """A space object (hub-api.md §6.1)."""
    return SpaceInfo.from_dict(_json_object(data, "space"))


def parse_space_list(data: Any) -> list[SpaceInfo]:
    """A page of `GET /api/spaces`: a JSON array (hub-api.md §6.2)."""
    if not isinstance(data, list):
        raise errors.UnexpectedResponseError(
            "unexpected list_spaces payload from the Hub: expected a JSON array"
        )
    return [SpaceInfo.from_dict(item) for item in data if isinstance(item, Mapping)]


def parse_hardware_list(data: Any) -> list[SpaceHardwareInfo]:
    """`GET /api/spaces/hardware`: an array (hub-api.md §8.6)."""
    if not isinstance(data, list):
        raise errors.UnexpectedResponseError(
            "unexpected hardware payload from the Hub: expected a JSON array"
        )
    return [SpaceHardwareInfo.from_dict(item) for item in data if isinstance(item, Mapping)]


_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def parse_link_next(link: str | None) -> str | None:
    """The `rel="next"` URL of a `Link` header (hub-api.md §6.2), or None."""
    if not link:
        return None
    match = _LINK_NEXT.search(link)
    return match.group(1) if match else None


def parse_sse_event(line: str) -> dict[str, Any] | None:
    """One SSE line → the event object, or None for keep-alives and comments.

    Only lines starting with exactly `data: {` count as events, as in huggingface_hub (hub-api.md §9); that
    also makes the replay-dedup index match the official client's.
    """
    if not line.startswith("data: {"):
        return None
    try:
        event = json.loads(line[len("data: ") :])
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def sse_replay_end(date_header: str | None) -> datetime | None:
    """For a no-follow log read: events stamped later than the response's `Date` + 1 s are new, not replayed
    (huggingface_hub's `_stream_sse_events`)."""
    if not date_header:
        return None
    try:
        from datetime import timedelta

        return parsedate_to_datetime(date_header) + timedelta(seconds=1)
    except (TypeError, ValueError):
        return None


def event_after(event: Mapping[str, Any], replay_end: datetime | None) -> bool:
    """True when the event's timestamp is after `replay_end`."""
    if replay_end is None:
        return False
    stamp = event.get("timestamp")
    if not isinstance(stamp, str):
        return False
    try:
        return parse_datetime(stamp) > replay_end
    except ValueError:
        return False


# --- errors ------------------------------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """The URL without any userinfo (`user:password@`), for error messages and logs."""
    if "@" not in url:
        return url  # no userinfo possible: skip parsing (this runs for every request)
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def request_id(headers: Mapping[str, str]) -> str | None:
    """First of `X-Request-Id`, `X-Amzn-Trace-Id`, `X-Amz-Cf-Id` (hub-api.md §3.1)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("x-request-id", "x-amzn-trace-id", "x-amz-cf-id"):
        if lowered.get(name):
            return lowered[name]
    return None


def server_message(headers: Mapping[str, str], body: bytes, content_type: str | None) -> str | None:
    """The Hub's human message, from the JSON body (`error`, `error` + `error_description`,
    `errors[].message`),
    else `X-Error-Message`, else a non-HTML text body (hub-api.md §3.1)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    parts: list[str] = []
    data: Any = None
    if body:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
    if isinstance(data, Mapping):
        error = data.get("error")
        description = data.get("error_description")
        if isinstance(error, list):
            parts.extend(str(e) for e in error)
        elif isinstance(error, str) and isinstance(description, str):
            parts.append(f"{error}: {description}")
        elif isinstance(error, str):
            parts.append(error)
        elif isinstance(description, str):
            parts.append(description)
        for item in data.get("errors") or []:
            if isinstance(item, Mapping) and isinstance(item.get("message"), str):
                parts.append(item["message"])
    header_message = lowered.get("x-error-message")
    if header_message and header_message not in parts:
        parts.append(header_message)
    if not parts and body and data is None and "html" not in (content_type or "").lower():
        text = body.decode("utf-8", errors="replace").strip()
        if text:
            parts.append(text[:500])
    return "\n".join(parts) if parts else None


def _existing_url(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, Mapping) and isinstance(data.get("url"), str):
        return str(data["url"])
    return None


_STATUS_CLASSES: dict[int, type[errors.HubHTTPError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    402: errors.PaymentRequiredError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    412: errors.CommitConflictError,
    429: errors.RateLimitedError,
}

_CODE_CLASSES: dict[str, type[errors.HubHTTPError]] = {
    "RevisionNotFound": errors.RevisionNotFoundError,
    "EntryNotFound": errors.EntryNotFoundError,
    "RepoNotFound": errors.RepositoryNotFoundError,
}


def error_class(status: int, error_code: str | None) -> type[errors.HubHTTPError]:
    """The class for a status and `X-Error-Code` (hub-api.md §3.2: codes first, then the status).

    `GatedRepo` maps by status (403/401) since the SDK has no gated class; a bare 401 stays an authentication
    error (the https-only 401→not-found fallback of huggingface_hub is not reproduced, hub-api.md §3.2 note).
    """
    if error_code in _CODE_CLASSES:
        return _CODE_CLASSES[error_code]
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return errors.ServerError
    return errors.HubHTTPError


def error_from_response(
    *,
    status: int,
    reason: str,
    headers: Mapping[str, str],
    body: bytes,
    method: str,
    url: str,
    now_retry_after: float | None = None,
) -> errors.HubHTTPError:
    """Build the error for an HTTP error response. Never includes request headers (so never the token)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    code = lowered.get("x-error-code") or None
    message = server_message(headers, body, lowered.get("content-type"))
    rid = request_id(headers)
    cls = error_class(status, code)
    clean_url = safe_url(url)
    text = f"{status} {reason or 'Error'} for {method} {clean_url}"
    if message:
        text += f": {message}"
    if rid:
        text += f" (Request ID: {rid})"
    common: dict[str, Any] = {
        "status": status,
        "method": method,
        "url": clean_url,
        "request_id": rid,
        "server_message": message,
        "error_code": code,
    }
    if issubclass(cls, errors.RateLimitedError):
        retry = now_retry_after if now_retry_after is not None else rate_limited_wait(headers)
        if retry is not None:
            text += f" (retry after {retry:g}s)"
        return cls(text, retry_after=retry, **common)
    if issubclass(cls, errors.ConflictError):
        return cls(text, existing_url=_existing_url(body), **common)
    return cls(text, **common)


def redact(exc: BaseException, values: Iterable[str | None]) -> None:
    """Replace every occurrence of `values` (a token, secret values) in an exception's message and string
    attributes with `***`, in place. Used before an error leaves the SDK, in case the Hub echoed one back."""
    secrets = [v for v in values if v and len(v) >= 3]
    if not secrets:
        return

    def clean(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    exc.args = tuple(clean(a) if isinstance(a, str) else a for a in exc.args)
    for name in ("server_message", "url", "existing_url"):
        value = getattr(exc, name, None)
        if isinstance(value, str):
            setattr(exc, name, clean(value))
