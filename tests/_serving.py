"""What tests that run a server share: a free port, waiting until `aiospaces hubsim` started in a process
listens there, the proxy variables to clear, a minimal keep-alive HTTP server for an anyio listener, and TLS
contexts from a test certificate authority."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import anyio
import anyio.abc
import trustme

# Every environment variable that names a proxy or exempts a host from one (as urllib reads them).
PROXY_VARIABLES = (
    "NO_PROXY",
    "no_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(server: subprocess.Popen[str] | subprocess.Popen[bytes], port: int) -> None:
    """Return once `server` accepts connections on `port`; fail (with its standard error, if captured) if it
    exits first or does not listen within 30 s."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if server.poll() is not None:
                stderr = server.stderr.read() if server.stderr else ""
                raise AssertionError(f"aiospaces hubsim exited: {stderr!r}") from None
            assert time.monotonic() < deadline, "aiospaces hubsim did not start listening"
            time.sleep(0.05)


class RuntimeServer:
    """A handler for `listener.serve`: a minimal HTTP/1.1 server keeping each connection alive and answering
    every request with a running Space's runtime; it records each request head and counts connections."""

    body = b'{"stage": "RUNNING", "hardware": {"current": null, "requested": null}}'

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.connections = 0

    @property
    def request_lines(self) -> list[bytes]:
        """The first line of each request head."""
        return [head.split(b"\r\n", 1)[0] for head in self.heads]

    async def __call__(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        async with stream:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        data += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return
                head, _, data = data.partition(b"\r\n\r\n")
                self.heads.append(head)
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(self.body), self.body)
                await stream.send(answer)


def tls_contexts(hostname: str = "127.0.0.1") -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server's TLS context, with a certificate for `hostname` from a new test authority, and a client's
    context that trusts that authority."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(hostname).configure_cert(server_context)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    return server_context, trusting
