"""The `aiospaces` command line: every command's arguments (argparse, standard library only)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..models import SpaceHardware
from ._exit import EXIT_CODES_HELP
from ._manage import add_commands as _add_manage_commands

DESCRIPTION = """\
Manage Hugging Face Spaces, many at a time: read runtimes, wait until a Space really runs (on the hardware you
asked for), watch stage and hardware transitions live, stream logs, change hardware, pause, restart, and set
secrets and variables. `aiospaces demo` runs all of it against an embedded simulated Hub.

Every command except `demo` and `hubsim` talks to the Hub at --endpoint (default: $HF_ENDPOINT, then
https://huggingface.co) with the token from --token (default: $HF_TOKEN, then the token file under $HF_HOME).
Prefer HF_TOKEN: a --token value is visible to other local users in the process list.
Tokens are never printed.
"""

DEFAULT_CONCURRENCY = 16

# At least one example per command, shown at the end of its --help (a test walks every command).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "aiospaces demo",
        "aiospaces runtime alice/my-space bob/other-space",
        "aiospaces wait alice/my-space --hardware t4-medium --timeout 900",
    ),
    "demo": ("aiospaces demo", "aiospaces demo --spaces 50 --speed 200 --json"),
    "runtime": (
        "aiospaces runtime alice/my-space",
        "aiospaces runtime alice/a alice/b --json",
        "aiospaces runtime --author alice",
    ),
    "wait": (
        "aiospaces wait alice/my-space --timeout 600",
        "aiospaces wait alice/my-space --hardware t4-medium --wake",
        "aiospaces wait alice/a alice/b alice/c --timeout 900",
    ),
    "watch": (
        "aiospaces watch alice/a alice/b",
        "aiospaces watch --author alice --until-settled --timeout 900",
    ),
    "deploy": (
        "aiospaces deploy alice/my-space ./app",
        "aiospaces deploy alice/a alice/b ./app --hardware t4-small --timeout 1200",
    ),
    "logs": ("aiospaces logs alice/my-space", "aiospaces logs alice/my-space --build --follow"),
    "hardware": (
        "aiospaces hardware alice/my-space t4-medium",
        "aiospaces hardware alice/a alice/b cpu-upgrade --sleep-time 3600",
        "aiospaces hardware --author alice cpu-basic",
    ),
    "pause": ("aiospaces pause alice/a alice/b", "aiospaces pause --author alice"),
    "restart": (
        "aiospaces restart alice/my-space",
        "aiospaces restart alice/my-space --factory",
        "aiospaces restart --author alice",
    ),
    "secrets": ("aiospaces secrets list alice/my-space",),
    "secrets set": (
        "aiospaces secrets set alice/a alice/b API_KEY --from-env API_KEY",
        'printf %s "$API_KEY" | aiospaces secrets set alice/my-space API_KEY',
    ),
    "secrets delete": ("aiospaces secrets delete alice/a alice/b API_KEY",),
    "secrets list": ("aiospaces secrets list alice/my-space --json",),
    "variables": ("aiospaces variables list alice/my-space",),
    "variables set": ("aiospaces variables set alice/a alice/b MODEL_ID gpt2",),
    "variables delete": ("aiospaces variables delete alice/a alice/b MODEL_ID",),
    "variables list": ("aiospaces variables list alice/my-space",),
    "fleet": ("aiospaces fleet plan fleet.toml", "aiospaces fleet apply fleet.toml --yes --wait"),
    "create": (
        "aiospaces create alice/a alice/b --sdk gradio",
        "aiospaces create alice/gpu-app --hardware t4-small --sleep-time 3600 --variable MODEL_ID=gpt2",
    ),
    "duplicate": ("aiospaces duplicate bob/template alice/my-copy --private",),
    "upload": ("aiospaces upload alice/a alice/b ./app --message 'New model'",),
    "list": ("aiospaces list --author alice", "aiospaces list --author alice --runtime --json"),
    "info": ("aiospaces info alice/my-space",),
    "storage": ("aiospaces storage alice/my-space small", "aiospaces storage delete alice/my-space"),
    "sleep": ("aiospaces sleep alice/a alice/b 3600", "aiospaces sleep alice/my-space -1"),
    "delete": ("aiospaces delete alice/old-space --yes",),
    "fleet plan": ("aiospaces fleet plan fleet.toml", "aiospaces fleet plan fleet.toml --json"),
    "fleet apply": (
        "aiospaces fleet apply fleet.toml",
        "aiospaces fleet apply fleet.toml --yes --wait --timeout 900",
    ),
}


def _with_examples(parser: argparse.ArgumentParser, command: str) -> None:
    """Put the command's examples before the exit codes at the end of its --help."""
    examples = EXAMPLES.get(command, ())
    if examples:
        lines = "".join(f"  {example}\n" for example in examples)
        parser.epilog = f"examples:\n{lines}\n{parser.epilog or ''}"


class _Formatter(argparse.HelpFormatter):
    """Keeps pre-formatted (multi-line) descriptions and epilogs as written; wraps one-line ones."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=110)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _positive_factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a speed-up factor such as 50, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive speed-up factor such as 50, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _sleep_time(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole seconds (or -1 for never), got {text!r}") from None
    if value < -1:
        raise argparse.ArgumentTypeError(f"expected whole seconds >= -1 (-1 means never sleep), got {text!r}")
    return value


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool, hub: bool = True) -> None:
    """Options accepted both before and after the command name (`aiospaces --json runtime x` and
    `aiospaces runtime x --json`). After the command they default to SUPPRESS so they don't overwrite a value
    given before it. `hub=False`: a command that talks to no Hub of the user's (no --endpoint, --token)."""
    default: object = argparse.SUPPRESS if suppress else None
    if hub:
        parser.add_argument(
            "--endpoint",
            metavar="URL",
            default=default,
            help="Hub URL (default: $HF_ENDPOINT, then https://huggingface.co)",
        )
        parser.add_argument(
            "--token",
            metavar="TOKEN",
            default=default,
            help="Hub token (default: $HF_TOKEN, then the token file); prefer the environment variable",
        )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print one JSON object per line instead of tables",
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="show the SDK's log: -v retries and pacing, -vv every detail",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the full `aiospaces` argument parser."""
    parser = argparse.ArgumentParser(
        prog="aiospaces", description=DESCRIPTION, epilog=EXIT_CODES_HELP, formatter_class=_Formatter
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"aiospaces {__version__}")
    _add_common(parser, suppress=False)
    _add_concurrency(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, description: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=_Formatter,
        )
        _add_common(sub, suppress=True, hub=name != "demo")
        return sub

    _add_runtime_commands(add)
    _add_space_commands(add)
    _add_settings_commands(add)
    _add_fleet_command(add)
    _add_manage_commands(add, _add_concurrency)
    commands.add_parser(
        "hubsim",
        help="serve a simulated Hub on 127.0.0.1 (see `aiospaces hubsim --help`)",
        add_help=False,
    )
    for sub in all_parsers(parser):
        if sub.add_help:
            _with_examples(sub, sub.prog.removeprefix("aiospaces").strip())
    return parser


def all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and every parser of its subcommands, depth first."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.extend(all_parsers(sub))
    return found


AddCommand = Callable[..., argparse.ArgumentParser]


def _add_concurrency(sub: argparse.ArgumentParser, *, suppress: bool = True) -> None:
    """`--concurrency`, before the command (for commands over several Spaces) or after it (like `--json`)."""
    sub.add_argument(
        "--concurrency",
        type=_positive_int,
        default=argparse.SUPPRESS if suppress else DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"Spaces handled at once (default {DEFAULT_CONCURRENCY})",
    )


def _add_targets(sub: argparse.ArgumentParser, help_text: str = "Space ids") -> None:
    """`ID...` and/or `--author NAME`: the Spaces a command acts on (at least one of the two)."""
    sub.add_argument("repo_ids", nargs="*", metavar="ID", help=help_text)
    sub.add_argument("--author", metavar="NAME", help="also every Space of this user or organization")


def _add_runtime_commands(add: AddCommand) -> None:
    """demo, runtime, wait, watch, deploy."""
    demo = add(
        "demo",
        "run the whole workflow on a dozen Spaces against an embedded simulated Hub",
        "Start a simulated Hub on 127.0.0.1 and run a fleet workflow against it over HTTP: create Spaces, "
        "upload their code, set secrets and variables, request GPU hardware, watch every transition, run a "
        "temporary-hardware block, pause everything, and print a summary. Needs no network and no token.",
    )
    demo.add_argument("--spaces", type=_positive_int, default=12, metavar="N", help="number of Spaces (12)")
    demo.add_argument(
        "--speed",
        type=_positive_factor,
        default=None,
        metavar="F",
        help="simulated time runs F times faster than real time (default: fast enough to finish in seconds)",
    )

    runtime = add(
        "runtime",
        "show the runtime (stage, hardware, sleep time) of Spaces",
        "Show each Space's stage, current and requested hardware, and sleep time (`never`, or a duration; "
        "`default` when the Hub reports none), one row per Space; --author NAME: every Space of that owner.",
    )
    _add_targets(runtime, "Space id, e.g. alice/my-space")
    _add_concurrency(runtime)

    wait = add(
        "wait",
        "wait until Spaces run (optionally on given hardware)",
        "Wait until each Space is RUNNING — with --hardware, until that hardware is requested and running — "
        "showing each stage or hardware transition as it happens (a line each; a live per-Space table on a "
        "terminal for several Spaces; `change` events in JSON). Several Spaces are waited for together, "
        "each to the end, then shown one row each. A failure stage exits 1 with the log tail on stderr; "
        "PAUSED/STOPPED/SLEEPING exit 1 unless --wake; the deadline exits 3. Over several Spaces: 1 when "
        "any failed (each named, with its log tail), else 3 when any timed out, else 0 when all run.",
    )
    wait.add_argument("repo_ids", nargs="+", metavar="ID", help="Space ids")
    wait.add_argument("--hardware", metavar="HW", help="wait until this hardware runs (e.g. t4-medium)")
    wait.add_argument("--timeout", type=_positive_float, metavar="S", help="give up after S seconds (exit 3)")
    wait.add_argument("--wake", action="store_true", help="restart the Space if it is paused or asleep")

    watch = add(
        "watch",
        "show stage and hardware transitions of Spaces live",
        "Watch Spaces and show each stage or hardware change as it happens (one shared poll loop; Spaces of "
        "one owner are read in pages). Runs until interrupted, --timeout, or --until-settled.",
    )
    watch.add_argument("repo_ids", nargs="*", metavar="ID", help="Space ids")
    watch.add_argument("--author", metavar="NAME", help="watch every Space of this user or organization")
    watch.add_argument("--timeout", type=_positive_float, metavar="S", help="stop watching after S seconds")
    watch.add_argument(
        "--until-settled",
        action="store_true",
        help="stop once every Space is out of a transitional stage and on its requested hardware",
    )

    deploy = add(
        "deploy",
        "upload a folder to Spaces and wait until the new code runs (for CI)",
        "Upload FOLDER to each Space (files the Space already has are skipped), request --hardware if the "
        "Space is not on it, and wait until the new commit runs: not the previous build, which keeps serving "
        "while the Hub schedules the new one. One line per phase (uploaded, build started, app starting, "
        "running on HW) with durations, then one row per Space. Exit 0 only when the new code runs on every "
        "Space; a failed Space prints its failure class (build, app, config or platform) and the log tail of "
        "the failing phase on stderr (exit 1); the deadline exits 3.",
    )
    deploy.add_argument("repo_ids", nargs="+", metavar="ID", help="Space id, e.g. alice/my-space")
    deploy.add_argument("folder", metavar="FOLDER", help="local folder holding the Space's files")
    deploy.add_argument("--hardware", metavar="HW", help="run on this hardware (e.g. t4-small)")
    deploy.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="give up after S seconds, upload included (default 1800; exit 3)",
    )
    deploy.add_argument(
        "--message", "-m", metavar="M", help="commit message (default: Deploy with aiospaces)"
    )
    _add_concurrency(deploy)


def _add_space_commands(add: AddCommand) -> None:
    """logs, hardware, pause, restart."""
    logs = add(
        "logs",
        "print a Space's run logs (or build logs)",
        "Print the log lines the Hub has buffered for the Space's current run (or, with --build, its latest "
        "build) and return. With --follow, keep the stream open and print new lines as they come, until "
        "Ctrl-C or the Space stops.",
    )
    logs.add_argument("repo_id", metavar="ID", help="Space id")
    logs.add_argument("--build", action="store_true", help="build logs instead of run logs")
    logs.add_argument(
        "--follow", "-f", action="store_true", help="keep streaming new lines instead of returning"
    )

    hardware = add(
        "hardware",
        "request hardware for Spaces",
        "Request a hardware flavor for each Space (the Space rebuilds on it; `aiospaces wait ID --hardware "
        "HW` waits until it runs there). Flavors known to "
        f"this version: {', '.join(SpaceHardware)}.",
    )
    _add_targets(hardware)
    hardware.add_argument("hardware", metavar="HW", help="hardware flavor, e.g. t4-medium or cpu-basic")
    hardware.add_argument(
        "--sleep-time", type=_sleep_time, metavar="S", help="sleep after S idle seconds (-1: never)"
    )
    _add_concurrency(hardware)

    pause = add(
        "pause",
        "pause Spaces (stops billing until restarted)",
        "Pause each Space: it stops running and is not billed until `aiospaces restart` (or the Hub's UI) "
        "starts it again.",
    )
    _add_targets(pause)
    _add_concurrency(pause)

    restart = add(
        "restart",
        "restart Spaces",
        "Restart each Space (also starts a paused one); --factory rebuilds it from scratch, without the "
        "build cache.",
    )
    _add_targets(restart)
    restart.add_argument("--factory", action="store_true", help="factory reboot (rebuild without cache)")
    _add_concurrency(restart)


def _add_settings_commands(add: AddCommand) -> None:
    """secrets and variables: set, delete, list."""
    for kind in ("secrets", "variables"):
        group = add(kind, f"set, delete or list Space {kind}")
        actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
        setter = actions.add_parser(
            "set",
            help=f"set a {kind[:-1]} on Spaces",
            formatter_class=_Formatter,
            epilog=EXIT_CODES_HELP,
            description=(
                "Set a secret on Spaces. The value is read from the environment variable named by --from-env "
                "or from stdin (all of it, one trailing newline removed; on a terminal, a prompt that does "
                "not echo) — never from the command line."
                if kind == "secrets"
                else "Set a variable on Spaces (variables are public; use secrets for credentials)."
            ),
        )
        _add_common(setter, suppress=True)
        setter.add_argument("repo_ids", nargs="+", metavar="ID", help="Space ids")
        setter.add_argument("key", metavar="KEY", help=f"{kind[:-1]} name")
        if kind == "secrets":
            setter.add_argument(
                "--from-env", metavar="VAR", help="read the value from this environment variable"
            )
        else:
            setter.add_argument("value", metavar="VALUE", help="variable value")
        setter.add_argument("--description", metavar="TEXT", help="description shown on the Hub")
        _add_concurrency(setter)
        deleter = actions.add_parser(
            "delete",
            help=f"delete a {kind[:-1]} from Spaces",
            description=f"Delete the {kind[:-1]} KEY from each Space (a Space without it is not an error).",
            formatter_class=_Formatter,
            epilog=EXIT_CODES_HELP,
        )
        _add_common(deleter, suppress=True)
        deleter.add_argument("repo_ids", nargs="+", metavar="ID", help="Space ids")
        deleter.add_argument("key", metavar="KEY", help=f"{kind[:-1]} name")
        _add_concurrency(deleter)
        lister = actions.add_parser(
            "list",
            help=f"list a Space's {kind}"
            + (" (names only: values are write-only)" if kind == "secrets" else ""),
            description=(
                "List the names, descriptions and update times of a Space's secrets (the Hub never "
                "returns their values)."
                if kind == "secrets"
                else "List the keys, values and descriptions of a Space's variables."
            ),
            formatter_class=_Formatter,
            epilog=EXIT_CODES_HELP,
        )
        _add_common(lister, suppress=True)
        lister.add_argument("repo_id", metavar="ID", help="Space id")


def _add_fleet_command(add: AddCommand) -> None:
    """fleet plan / fleet apply."""
    fleet = add(
        "fleet",
        "plan or apply a fleet file: the desired settings of many Spaces, kept in git",
        "A fleet file (TOML) declares hardware, sleep time, paused state, variables and secrets (read from "
        "environment variables, never written in the file) per Space, with [defaults]. `fleet plan FILE` "
        "shows what would change; `fleet apply FILE` changes it. Only what the file names is managed.",
    )
    fleet_actions = fleet.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (
        ("plan", "show the actions that would bring each Space to the file's state (changes nothing)"),
        ("apply", "apply those actions (asks first on a terminal; --yes otherwise)"),
    ):
        step = fleet_actions.add_parser(
            name, help=help_text, description=help_text, formatter_class=_Formatter, epilog=EXIT_CODES_HELP
        )
        _add_common(step, suppress=True)
        step.add_argument("file", metavar="FILE", help="the fleet file (TOML)")
        _add_concurrency(step)
        if name == "apply":
            step.add_argument("--yes", "-y", action="store_true", help="apply without asking")
            step.add_argument(
                "--skip-existing-secrets",
                action="store_true",
                help="set only the secrets a Space lacks (by default every secret in the file is set again, "
                "as values cannot be read back to compare)",
            )
            step.add_argument(
                "--wait",
                action="store_true",
                help="then wait until every Space whose hardware changed or that was restarted runs on its "
                "requested hardware",
            )
            step.add_argument(
                "--timeout", type=_positive_float, metavar="S", help="with --wait: give up after S seconds"
            )
