"""The simulator's own tiny HTTP layer: requests, responses, errors and route tables.

Independent of the client's wire code on purpose (design.md §4): the simulator and the SDK must not
share request/response code, so a wrong field name cannot pass on both sides.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import attrs


@attrs.define
class SimRequest:
    """One request as the simulated Hub sees it, whichever way it arrived (httpx transport, ASGI, socket)."""

    method: str
    path: str  # percent-decoded path, e.g. "/api/spaces/alice/demo/runtime"
    raw_path: str  # path as sent (still percent-encoded), for routes that must split encoded segments
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # e.g. "http://127.0.0.1:8123", used to build absolute URLs (Link, url, commitUrl)

    @classmethod
    def from_parts(
        cls,
        method: str,
        raw_path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        base_url: str,
    ) -> SimRequest:
        from urllib.parse import unquote

        return cls(
            method=method.upper(),
            path=unquote(raw_path),
            raw_path=raw_path,
            query=parse_qsl(query_string, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            base_url=base_url.rstrip("/"),
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter `name`."""
        for key, value in self.query:
            if key == name:
                return value
        return default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (`expand=a&expand=b`)."""
        return [value for key, value in self.query if key == name]

    def json(self) -> Any:
        """The body parsed as JSON; a `HubError(400)` if it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: nesting deeper than Python's parser goes (JSON itself allows it).
            raise HubError(400, "Invalid JSON body") from None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return None


@attrs.define
class SimResponse:
    """A response: a full body, or an async stream of chunks (SSE logs, slow bodies)."""

    status: int
    headers: list[tuple[str, str]] = attrs.field(factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def json_response(
    payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> SimResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SimResponse(
        status=status,
        headers=[("Content-Type", "application/json; charset=utf-8"), *(headers or [])],
        body=body,
    )


def text_response(
    text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8"
) -> SimResponse:
    return SimResponse(status=status, headers=[("Content-Type", content_type)], body=text.encode())


class HubError(Exception):
    """Raised by a handler to answer with the Hub's error shape: JSON `{"error": ...}` plus headers.

    `error_code` goes to `X-Error-Code` (e.g. "RepoNotFound"), `error_message` to `X-Error-Message`
    (defaults to `message` when an error code is set, as the Hub does). `extra` adds JSON keys (e.g. the
    409 `url` on repo creation).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.error_message = error_message
        self.extra = extra or {}
        self.headers = headers or []

    def to_response(self) -> SimResponse:
        headers = list(self.headers)
        if self.error_code:
            headers.append(("X-Error-Code", self.error_code))
        # The official client builds its 403 message from X-Error-Message ("403 Forbidden: {message}"),
        # so the Hub sends it there; the recorded 409 shows other errors need not (hub-api.md §3.1-§3.2).
        message_header = self.error_message or (
            self.message if self.error_code or self.status == 403 else None
        )
        if message_header:
            headers.append(("X-Error-Message", message_header))
        return json_response({"error": self.message, **self.extra}, status=self.status, headers=headers)


class DropConnection(Exception):
    """Raised while answering when a `drop` fault closes the connection instead of answering."""


Handler = Callable[..., SimResponse]
"""A bound route handler: `handler(req, **groups) -> SimResponse`."""


@attrs.frozen
class RouteSpec:
    """One row of a route table.

    `handler(host, req, **groups)` is a plain function: it runs under the hub's lock, and being synchronous
    it cannot wait there. A response that streams (logs, large files) carries an async iterator, which the
    transport drains after the lock is released.

    Attributes:
        method: HTTP method.
        pattern: Regex over the percent-decoded path; its named groups become keyword arguments.
        name: Stable route name, the key of the request counters and what faults match.
        handler: The function answering the request.
    """

    method: str
    pattern: str
    name: str
    handler: Callable[..., SimResponse]


@attrs.define
class Route:
    """A route bound to its host, as the router matches it."""

    method: str
    pattern: re.Pattern[str]
    name: str  # stable route name for counters, e.g. "GET /api/spaces/{id}/runtime"
    handler: Handler


@attrs.define
class Router:
    """Regex route table. Patterns match the decoded path; named groups are passed as keyword args.

    Routes are tried in the order they were added: the first match wins.
    """

    routes: list[Route] = attrs.field(factory=list)

    def add(self, method: str, pattern: str, name: str, handler: Handler) -> None:
        """Add one route whose handler is already bound (`handler(req, **groups)`)."""
        # \A...\Z and DOTALL: a decoded path may hold newlines (`%0A`), which `$` and `.` would mishandle.
        self.routes.append(Route(method.upper(), re.compile(rf"\A{pattern}\Z", re.DOTALL), name, handler))

    def add_table(self, table: Iterable[RouteSpec], host: object) -> None:
        """Add every row of a route table, binding each handler to `host`."""
        for spec in table:
            self.add(spec.method, spec.pattern, spec.name, functools.partial(spec.handler, host))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for (method, path), or None. HEAD falls back to GET routes."""
        for candidate in (method.upper(), "GET") if method.upper() == "HEAD" else (method.upper(),):
            for route in self.routes:
                if route.method != candidate:
                    continue
                found = route.pattern.match(path)
                if found:
                    return route, found.groupdict()
        return None

    def allows(self, path: str) -> bool:
        """Whether any route matches `path` under some method (to tell 405 from 404)."""
        return any(route.pattern.match(path) for route in self.routes)
