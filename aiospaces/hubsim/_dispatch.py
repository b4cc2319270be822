"""What every answer of the simulated Hub shares: its common headers, and streams the hub keeps count of.

Pure helpers of `SimulatedHub.handle`; nothing here touches the hub's state.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

from ._http import SimRequest, SimResponse

PRESIGNED_PREFIX = "/__hubsim/"  # the routes of `_lfs.py` that stand for pre-signed storage URLs
RATE_LIMIT_HEADERS = ("RateLimit", "RateLimit-Policy", "Retry-After")


def finish(req: SimRequest, response: SimResponse, extra: list[tuple[str, str]], epoch_now: float) -> None:
    """Add the headers every Hub answer carries, then make every header value safe to send.

    Args:
        req: The request answered.
        response: The answer, changed in place.
        extra: Headers of the dispatcher (rate limits).
        epoch_now: The hub clock as a Unix time, for `Date`.
    """
    trace = req.headers.get("x-request-id") or req.headers.get("x-amzn-trace-id") or secrets.token_hex(8)
    # Real responses echo the client's trace id (hub-api.md §1.3, cassettes).
    response.headers += [
        ("X-Request-Id", f"Root=1-{int(time.time()):x}-{secrets.token_hex(12)};{trace}"),
        ("X-Powered-By", "huggingface-moon"),
        # Hub-clock time, so that clients comparing log timestamps with `Date` (the official client's
        # no-follow log replay ends at the first event after it) see one consistent timeline.
        ("Date", email.utils.formatdate(epoch_now, usegmt=True)),
        *extra,
    ]
    if (
        response.stream is None
        and response.body
        and response.header("ETag") is None
        and not req.path.startswith(PRESIGNED_PREFIX)
    ):
        # Every API body carries the web framework's weak ETag (as in every recording).
        response.headers.append(("ETag", weak_etag(response.body)))
    # Header values must be single-line ASCII on every transport (httpx encodes ASCII, h11 refuses CR/LF):
    # messages that quote a revision or path the caller sent are percent-encoded where they are not.
    response.headers = [(name, header_safe(value)) for name, value in response.headers]
    if response.status == 429:
        # A 429 carries its rate-limit headers both from the error and from the dispatcher: keep one of each.
        seen: set[str] = set()
        deduped = []
        for name, value in response.headers:
            if name in RATE_LIMIT_HEADERS:
                if name in seen:
                    continue
                seen.add(name)
            deduped.append((name, value))
        response.headers = deduped


def weak_etag(body: bytes) -> str:
    """Express's weak ETag: body length in hex and the first 27 characters of its base64 SHA-1."""
    digest = base64.b64encode(hashlib.sha1(body, usedforsecurity=False).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


_HEADER_UNSAFE = re.compile(r"[^\x20-\x7e\t]+")


def header_safe(value: str) -> str:
    """`value` with every run of non-printable or non-ASCII characters percent-encoded as UTF-8."""
    if value.isascii() and value.isprintable():
        return value
    # `errors="replace"`: a JSON body may carry a lone surrogate (`"\ud800"`), which has no UTF-8 form.
    return _HEADER_UNSAFE.sub(lambda m: quote(m.group(0), safe="", errors="replace"), value)


def corrupt(body: bytes) -> bytes:
    """`body` with its last byte flipped: same size, other sha256 (a `corrupt_body` fault)."""
    if not body:
        return body
    return body[:-1] + bytes([body[-1] ^ 0xFF])


async def corrupt_stream(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`stream` with the first byte of its first non-empty chunk flipped (a `corrupt_body` fault)."""
    flipped = False
    async for chunk in stream:
        if not flipped and chunk:
            chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
            flipped = True
        yield chunk


async def slow_body(
    body: bytes, seconds: float, sleep: Callable[[float], Awaitable[None]]
) -> AsyncIterator[bytes]:
    """`body` in up to ten chunks spread over `seconds` (a `slow_body` fault)."""
    parts = max(1, min(10, len(body)))
    size = -(-len(body) // parts) if body else 0
    for i in range(parts):
        await sleep(seconds / parts)
        yield body[i * size : (i + 1) * size]


class TrackedStream:
    """A response stream that runs `on_done` exactly once: at its end, on error, or when closed unread."""

    def __init__(self, inner: AsyncIterator[bytes], on_done: Callable[[], None]) -> None:
        self._inner = inner
        self._on_done: Callable[[], None] | None = on_done

    def __aiter__(self) -> TrackedStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._inner.__anext__()
        except BaseException:
            self._finish()
            raise

    def _finish(self) -> None:
        if self._on_done is not None:
            on_done, self._on_done = self._on_done, None
            on_done()

    async def aclose(self) -> None:
        """Close the underlying stream (an un-started generator included)."""
        self._finish()
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            await aclose()
