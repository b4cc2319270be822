"""The rate-limit headers of a Hub answer, parsed (pure): `RateLimit`, `RateLimit-Policy` and `Retry-After`
(hub-api.md §4.1, §4.3), with the patterns huggingface_hub uses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import attrs
import httpx2

__all__ = ["RateLimitInfo", "header", "parse_rate_limit", "rate_limited_wait", "retry_after_seconds"]


@attrs.frozen
class RateLimitInfo:
    """What one response said about the rate limit (hub-api.md §4.1).

    Attributes:
        bucket: `api`, `resolvers` or `pages`.
        remaining: requests left in the window (`r`).
        reset_in: seconds until the window resets (`t`).
        limit: the window's quota (`q` of `RateLimit-Policy`), if sent.
        window: the window length in seconds (`w`), if sent.
    """

    bucket: str
    remaining: int
    reset_in: float
    limit: int | None = None
    window: float | None = None


# The same patterns huggingface_hub uses (hub-api.md §4.1), made tolerant of spaces around `=`.
_RATELIMIT = re.compile(r'"(?P<bucket>\w+)"\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+(?:\.\d+)?)')
_RATELIMIT_POLICY = re.compile(r"q\s*=\s*(?P<q>\d+).*?w\s*=\s*(?P<w>\d+(?:\.\d+)?)")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name` (lowercase), whatever the case of the keys in `headers`.

    `httpx2.Headers` is looked up directly (it is case-insensitive and joins repeated headers with ", ");
    any other mapping is scanned. Runs on every response, so it never copies the headers.
    """
    if isinstance(headers, httpx2.Headers):
        return headers.get(name)
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitInfo | None:
    """Parse `RateLimit` (+ `RateLimit-Policy`); None when absent or malformed."""
    value = header(headers, "ratelimit")
    if not value:
        return None
    match = _RATELIMIT.search(value)
    if not match:
        return None
    limit: int | None = None
    window: float | None = None
    policy = header(headers, "ratelimit-policy")
    if policy:
        pmatch = _RATELIMIT_POLICY.search(policy)
        if pmatch:
            limit, window = int(pmatch.group("q")), float(pmatch.group("w"))
    return RateLimitInfo(
        bucket=match.group("bucket"),
        remaining=int(match.group("r")),
        reset_in=float(match.group("t")),
        limit=limit,
        window=window,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds (delta form only; the HTTP-date form is ignored, as huggingface_hub does)."""
    value = (header(headers, "retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    # `inf`, `nan` or an overflow would make the client wait forever: not a delay the Hub could mean.
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def rate_limited_wait(headers: Mapping[str, str]) -> float | None:
    """How long a 429 says to wait: `RateLimit` `t` when `r=0`, else `Retry-After` (hub-api.md §4.3)."""
    info = parse_rate_limit(headers)
    if info is not None and info.remaining == 0:
        return info.reset_in
    return retry_after_seconds(headers)
