"""`hubsim` on the command line: a simulated Hub with the given users, served on a socket until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from ._hub import SimulatedHub
from ._transport import make_server


def main(argv: list[str] | None = None, *, prog: str = "hubsim") -> int:
    """`hubsim --host 127.0.0.1 --port 8123 --user alice --token hf_alice --speed 60` (blocks until Ctrl-C).

    Args:
        argv: the arguments (default `sys.argv[1:]`).
        prog: the command name shown in usage and error lines (e.g. `aiospaces hubsim`).

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(prog=prog, description="Run a simulated Hugging Face Hub.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8123, help="port (0 picks a free one; default 8123)")
    parser.add_argument("--user", action="append", default=[], help="user to create (repeatable)")
    parser.add_argument("--token", action="append", default=[], help="token of the matching --user")
    parser.add_argument("--org", action="append", default=[], help="organization every user belongs to")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--rate-limit", default=None, help="REQUESTS/WINDOW_SECONDS per token, e.g. 1000/300")
    parser.add_argument(
        "--commit-to-build",
        type=float,
        default=None,
        metavar="S",
        help="simulated seconds between a commit to a Space and the start of its build (default 5)",
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
        if args.commit_to_build is not None:
            hub.set_durations(commit_to_build=args.commit_to_build)
        if args.rate_limit:
            requests, _, window = args.rate_limit.partition("/")
            hub.set_rate_limit(int(requests), float(window or 300))
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    server = make_server(hub, args.host, args.port, args.log_level)
    print(f"hubsim: serving on http://{args.host}:{args.port} (speed x{args.speed:g})", file=sys.stderr)
    try:
        server.run()
    except KeyboardInterrupt:
        return 0
    return 0
