"""The two kinds of child process a benchmark run uses, and the line-based JSON protocol to talk to them.

- The simulated Hub runs in its own process (`python -m benchmarks._server`), so its CPU time and memory are
  never charged to the client under test; the runner drives it (seeding, counters, verification) over the
  child's stdin/stdout.
- Each client run is a fresh process (`python -m benchmarks._worker`), so peak memory (`ru_maxrss`) and CPU
  seconds belong to that one run and to that one client library.

Both children only ever talk to 127.0.0.1: the Hub binds there, and proxy variables are removed from the
children's environment so that no HTTP library routes a request anywhere else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy", "wss_proxy")


class BenchmarkError(RuntimeError):
    """A child process failed or broke the protocol; the message carries the tail of its stderr."""


def child_env(hf_home: str | None = None, endpoint: str | None = None) -> dict[str, str]:
    """Environment for a child: no proxies, no telemetry, no Xet, an isolated `HF_HOME`, no ambient token."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_ENABLE_HF_TRANSFER"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["HF_HUB_DISABLE_XET"] = "1"
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if hf_home is not None:
        env["HF_HOME"] = hf_home
    if endpoint is not None:
        env["HF_ENDPOINT"] = endpoint
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no stderr>"


def _read_message(stream: IO[str], who: str, stderr_path: Path) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        raise BenchmarkError(f"{who} exited without answering; stderr tail:\n{_tail(stderr_path)}")
    try:
        message = json.loads(line)
    except ValueError:
        raise BenchmarkError(f"{who} wrote a non-JSON line {line[:200]!r}") from None
    if not isinstance(message, dict):
        raise BenchmarkError(f"{who} wrote {line[:200]!r}, expected a JSON object")
    if "error" in message:
        raise BenchmarkError(f"{who} failed: {message['error']}\nstderr tail:\n{_tail(stderr_path)}")
    return message


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


class HubProcess:
    """A simulated Hub in a child process, served on 127.0.0.1; `call()` sends it one control command."""

    def __init__(self, proc: subprocess.Popen[str], url: str, token: str, stderr_path: Path) -> None:
        self._proc = proc
        self.url = url
        self.token = token
        self._stderr_path = stderr_path
        self._lock = threading.Lock()

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Send one command (see `_server.py`) and return its JSON answer."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        with self._lock:
            _send(self._proc.stdin, {"cmd": cmd, **args})
            return _read_message(self._proc.stdout, "hub process", self._stderr_path)

    @classmethod
    @contextmanager
    def start(cls, workdir: Path, **config: Any) -> Iterator[HubProcess]:
        """Start a Hub process configured by `config` (see `_server.main`), and stop it on exit."""
        stderr_path = workdir / "hub-stderr.log"
        with open(stderr_path, "w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks._server", json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=REPO_ROOT,
                env=child_env(),
            )
        try:
            assert proc.stdout is not None
            hello = _read_message(proc.stdout, "hub process", stderr_path)
            yield cls(proc, str(hello["url"]), str(hello["token"]), stderr_path)
        finally:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    _send(proc.stdin, {"cmd": "stop"})
                proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


def run_worker(
    spec: dict[str, Any],
    workdir: Path,
    *,
    on_ready: Callable[[], dict[str, Any]],
    on_event: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Run one client workload in a fresh process and return its result.

    The worker imports its client library, answers `{"ready": ...}`, and waits; `on_ready()` then prepares the
    Hub (e.g. starts the builds a watch must detect, so import time never delays detection) and returns extra
    fields for the workload, which the worker receives as its "go". Lines carrying `"event"` are passed to
    `on_event` as they arrive (the scale scenario samples the Hub's counters on them); the line carrying
    `"result"` ends the run.
    """
    hf_home = workdir / f"hf-home-{spec['client']}"
    hf_home.mkdir(exist_ok=True)
    stderr_path = workdir / f"worker-{spec['scenario']}-{spec['client']}.log"
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=REPO_ROOT,
            env=child_env(hf_home=str(hf_home), endpoint=str(spec["url"])),
        )
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        _send(proc.stdin, spec)
        who = f"{spec['client']} worker ({spec['scenario']})"
        _read_message(proc.stdout, who, stderr_path)  # {"ready": true}
        _send(proc.stdin, on_ready())
        while True:
            message = _read_message(proc.stdout, who, stderr_path)
            if "event" in message:
                if on_event is not None:
                    on_event(message)
                continue
            result = message.get("result")
            if not isinstance(result, dict):
                raise BenchmarkError(f"{who} answered without a result: {message!r:.300}")
            return result
    finally:
        killer.cancel()
        if proc.poll() is None:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def busy_cores(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes that each keep one CPU busy (a Python loop) for the block: a reproducible stand-in
    for the other work of a shared machine, under which both clients are measured alike."""
    spinners: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            spinners.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
