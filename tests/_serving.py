"""What the end-to-end tests that start `aiospaces hubsim` in a process share: a free port, and waiting until
the server listens there."""

from __future__ import annotations

import socket
import subprocess
import time


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
