"""`hubsim` on the command line: a simulated Hub with the given users, served on a socket until Ctrl-C."""

from __future__ import annotations

import argparse
import socket
import sys
from types import FrameType
from typing import NoReturn

from ._hub import SimulatedHub
from ._transport import make_server

EXAMPLES = """\
examples:
  aiospaces hubsim --port 0 --user alice --token hf_alice --speed 60
  HF_ENDPOINT=http://127.0.0.1:8123 HF_TOKEN=hf_alice aiospaces runtime alice/my-space
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535 (0 picks a free one), got {text}")
    return value


def _rate_limit(text: str) -> tuple[int, float]:
    requests, _, window = text.partition("/")
    try:
        count, seconds = int(requests), float(window or 300)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected REQUESTS or REQUESTS/WINDOW_SECONDS, e.g. 1000/300, got {text!r}"
        ) from None
    if count <= 0 or not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive count and window, got {text!r}")
    return count, seconds


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port`, or OSError with a message that says which part is wrong."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise OSError(f"cannot resolve --host {host!r}; use an address such as 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = f"cannot listen on {host}:{port} ({exc.strerror})"
        raise OSError(f"{reason}; try another --port or --host") from None
    return sock


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as every other `aiospaces` command reports a usage mistake.
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None, *, prog: str = "hubsim") -> int:
    """`hubsim --host 127.0.0.1 --port 8123 --user alice --token hf_alice --speed 60` (blocks until Ctrl-C).

    Prints `serving on http://HOST:PORT` on stderr once the socket listens (with `--port 0`, the port the
    system picked), and one line when Ctrl-C stops it.

    Args:
        argv: the arguments (default `sys.argv[1:]`).
        prog: the command name shown in usage and error lines (e.g. `aiospaces hubsim`).

    Returns:
        The process exit status: 0 when stopped by Ctrl-C or SIGTERM, 2 on bad arguments or a port that
        cannot be bound.
    """
    parser = _Parser(
        prog=prog,
        description="Serve a simulated Hugging Face Hub on a socket, for tests, demos and benchmarks.\n"
        "Point any Hub client at it with HF_ENDPOINT; its tokens are the ones of --user/--token.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8123, help="port (0 picks a free one; default 8123)")
    parser.add_argument("--user", action="append", default=[], help="user to create (repeatable)")
    parser.add_argument("--token", action="append", default=[], help="token of the matching --user")
    parser.add_argument("--org", action="append", default=[], help="organization every user belongs to")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=None,
        metavar="N[/S]",
        help="N requests per S seconds (default 300) per token, e.g. 1000/300",
    )
    parser.add_argument(
        "--commit-to-build",
        type=float,
        default=None,
        metavar="S",
        help="simulated seconds between a commit to a Space and the start of its build (default 5)",
    )
    parser.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="ID[:SDK]",
        help="create this Space at start, running a sample app (SDK gradio, streamlit, docker or static; "
        "default gradio); repeatable",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault RNG")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be positive")
    if len(args.token) > len(args.user):
        parser.error("every --token needs a --user before it")
    hub = SimulatedHub(speed=args.speed, seed=args.seed)
    try:
        for index, name in enumerate(args.user):
            token = args.token[index] if index < len(args.token) else None
            token = hub.add_user(name, token, orgs=args.org)
            shown = "(given)" if index < len(args.token) else token
            print(f"user {name}: token {shown}", file=sys.stderr)
        for spec in args.space:
            repo_id, _, sdk = spec.partition(":")
            hub.create_space(repo_id, sdk=sdk or "gradio")
            print(f"space {repo_id} ({sdk or 'gradio'}): running", file=sys.stderr)
        if args.commit_to_build is not None:
            hub.set_durations(commit_to_build=args.commit_to_build)
        if args.rate_limit:
            hub.set_rate_limit(*args.rate_limit)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    server = make_server(hub, args.host, args.port, args.log_level)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if not args.user:
        print(
            "hubsim: note: no --user given, so the Hub knows no token and answers 401 to any request that "
            "sends one; add --user NAME [--token TOKEN]",
            file=sys.stderr,
        )
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}"
    print(f"hubsim: serving on {url} (speed x{args.speed:g})", file=sys.stderr, flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # Stop at once: open log streams would otherwise hold the graceful shutdown for its whole timeout,
        # and a simulated Hub has nothing to flush.
        if not server.should_exit:
            print("hubsim: stopped", file=sys.stderr, flush=True)
        server.should_exit = True
        server.force_exit = True

    server.handle_exit = stop
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn raises the signal it caught again once it has stopped
    finally:
        sock.close()
    return 0
