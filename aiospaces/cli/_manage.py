"""The commands that cover the "Manage your Space" guide from the command line: create, duplicate, upload,
list, info, storage, sleep and delete (their arguments here too, added to the parser by `add_commands`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .. import validation
from ._commands import check_hardware_option, read_secret_value, run_on_each, runtime_fields, text
from ._exit import ExitCode, UsageError
from ._render import Output, isatty

if TYPE_CHECKING:
    from ..client import SpacesClient

SDKS = ("gradio", "streamlit", "docker", "static")
STORAGE_TIERS = ("small", "medium", "large")


def _sleep_time(text_value: str) -> int:
    try:
        return validation.validate_sleep_time(text_value, arg="--sleep-time")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _variable(text_value: str) -> tuple[str, str]:
    key, sep, value = text_value.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text_value!r}")
    try:
        validation.validate_key(key, arg="--variable key")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return key, value


def _space_settings(sub: argparse.ArgumentParser) -> None:
    """Hardware, storage, sleep time, a secret and variables: accepted by create and duplicate."""
    sub.add_argument("--hardware", metavar="HW", help="hardware flavor, e.g. t4-small (default: cpu-basic)")
    sub.add_argument("--storage", choices=STORAGE_TIERS, help="persistent storage tier")
    sub.add_argument("--sleep-time", type=_sleep_time, metavar="S", help="sleep after S idle seconds")
    sub.add_argument(
        "--secret",
        metavar="KEY",
        help="set this secret; its value comes from --from-env VAR or stdin, never the command line",
    )
    sub.add_argument("--from-env", metavar="VAR", help="with --secret: read the value from this variable")
    sub.add_argument(
        "--variable",
        type=_variable,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set this variable (repeatable)",
    )
    sub.add_argument("--private", action="store_true", help="make the Space private")


def add_commands(add: Callable[..., argparse.ArgumentParser], concurrency: Callable[[Any], None]) -> None:
    """create, duplicate, upload, list, info, storage, sleep, delete."""
    create = add(
        "create",
        "create Spaces (with hardware, storage, sleep time, a secret and variables)",
        "Create each Space with the given SDK and settings, in one request per Space. A secret's value is "
        "read from --from-env VAR or stdin, never from the command line.",
    )
    create.add_argument("repo_ids", nargs="+", metavar="ID", help="Space id, e.g. alice/my-space")
    create.add_argument("--sdk", choices=SDKS, default="gradio", help="the Space's SDK (default gradio)")
    _space_settings(create)
    create.add_argument("--exist-ok", action="store_true", help="a Space that exists already is not an error")
    concurrency(create)

    duplicate = add(
        "duplicate",
        "duplicate a Space (yours or another user's public one)",
        "Copy FROM (its files and settings) to TO, or to your namespace under the same name.",
    )
    duplicate.add_argument("from_id", metavar="FROM", help="the Space to copy")
    duplicate.add_argument("to_id", nargs="?", metavar="TO", help="the new Space (default: yours, same name)")
    _space_settings(duplicate)

    upload = add(
        "upload",
        "upload a folder to Spaces (files they already have are not sent again)",
        "Upload FOLDER to each Space in one commit per Space; files whose content the Space already has are "
        "left out, and a Space already up to date gets no commit.",
    )
    upload.add_argument("repo_ids", nargs="+", metavar="ID", help="Space id")
    upload.add_argument("folder", metavar="FOLDER", help="the local folder")
    upload.add_argument("--path-in-repo", metavar="P", help="folder in the Space to upload into")
    upload.add_argument("--message", "-m", metavar="M", help="commit message")
    upload.add_argument("--include", action="append", metavar="GLOB", help="only files matching (repeatable)")
    upload.add_argument("--exclude", action="append", metavar="GLOB", help="skip files matching (repeatable)")
    concurrency(upload)

    listing = add("list", "list the Spaces of a user or organization")
    listing.add_argument("--author", required=True, metavar="NAME", help="user or organization")
    listing.add_argument("--search", metavar="TEXT", help="only Spaces whose id contains TEXT")
    listing.add_argument("--runtime", action="store_true", help="show each Space's stage and hardware")

    info = add("info", "show a Space's metadata and runtime")
    info.add_argument("repo_id", metavar="ID", help="Space id")

    storage = add(
        "storage",
        "request a persistent storage tier for Spaces, or delete their storage",
        "`storage ID... TIER` requests small, medium or large storage (a tier only goes up: delete first to "
        "go down); `storage delete ID...` deletes it, and its data.",
    )
    storage.add_argument("items", nargs="+", metavar="ID... TIER | delete ID...", help="Spaces and tier")
    concurrency(storage)

    sleep = add("sleep", "set the sleep time of Spaces (seconds of inactivity; -1: never)")
    sleep.add_argument("repo_ids", nargs="+", metavar="ID", help="Space ids")
    sleep.add_argument("seconds", type=_sleep_time, metavar="SECONDS", help="seconds, or -1 for never")
    concurrency(sleep)

    delete = add(
        "delete",
        "delete Spaces (asks first on a terminal; --yes otherwise)",
        "Delete each Space and everything in it. On a terminal the command asks first; without a terminal it "
        "refuses unless --yes.",
    )
    delete.add_argument("repo_ids", nargs="+", metavar="ID", help="Space ids")
    delete.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    concurrency(delete)


# --- commands ----------------------------------------------------------------------------------------------


def _secret_and_variables(
    args: argparse.Namespace, stdin: TextIO | None
) -> tuple[list[dict[str, str]] | None, list[dict[str, str]] | None]:
    if args.from_env and not args.secret:
        raise UsageError("--from-env gives the value of --secret KEY: pass --secret too")
    secrets = None
    if args.secret:
        validation.validate_key(args.secret, arg="--secret")
        reading = argparse.Namespace(key=args.secret, from_env=args.from_env)
        value = read_secret_value(reading, stdin if stdin is not None else sys.stdin)
        secrets = [{"key": args.secret, "value": value}]
    variables = [{"key": k, "value": v} for k, v in args.variable] or None
    return secrets, variables


async def cmd_create(
    client: SpacesClient, args: argparse.Namespace, output: Output, *, stdin: TextIO | None = None
) -> int:
    """`aiospaces create ID... [--sdk] [--hardware] [--storage] [--sleep-time] [--secret] [--variable]`"""
    secrets, variables = _secret_and_variables(args, stdin)
    await check_hardware_option(client, args.hardware, args.repo_ids)

    async def create(repo_id: str) -> Any:
        await client.create_repo(
            repo_id,
            repo_type="space",
            space_sdk=args.sdk,
            private=args.private or None,
            exist_ok=args.exist_ok,
            space_hardware=args.hardware,
            space_storage=args.storage,
            space_sleep_time=args.sleep_time,
            space_secrets=secrets,
            space_variables=variables,
        )
        return await client.get_space_runtime(repo_id)

    return await run_on_each(client, args, output, create, description="creating", show_runtime=True)


async def cmd_duplicate(
    client: SpacesClient, args: argparse.Namespace, output: Output, *, stdin: TextIO | None = None
) -> int:
    """`aiospaces duplicate FROM [TO] [--hardware] [--storage] [--sleep-time] [--secret] [--variable]`"""
    secrets, variables = _secret_and_variables(args, stdin)
    await check_hardware_option(client, args.hardware, [args.from_id, *([args.to_id] if args.to_id else [])])
    url = await client.duplicate_space(
        args.from_id,
        args.to_id,
        private=args.private or None,
        hardware=args.hardware,
        storage=args.storage,
        sleep_time=args.sleep_time,
        secrets=secrets,
        variables=variables,
    )
    output.emit("duplicated", from_id=args.from_id, repo_id=url.repo_id, url=str(url))
    output.line(f"{args.from_id} -> {url.repo_id}  {url}")
    return ExitCode.OK


async def cmd_upload(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces upload ID... FOLDER [--path-in-repo P] [--message M] [--include/--exclude GLOB]`"""
    folder = Path(args.folder)  # upload_folder refuses a path that is not a folder (exit 2)

    async def upload(repo_id: str) -> None:
        info = await client.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            path_in_repo=args.path_in_repo,
            repo_type="space",
            commit_message=args.message,
            allow_patterns=args.include,
            ignore_patterns=args.exclude,
        )
        output.emit("uploaded", repo_id=repo_id, commit=info.oid, url=info.commit_url)

    return await run_on_each(client, args, output, upload, description="uploading", show_runtime=False)


async def cmd_list(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces list --author NAME [--search TEXT] [--runtime]`"""
    expand = ["sdk", "private", "runtime"] if args.runtime else None
    rows: list[list[object]] = []
    async for info in client.list_spaces(author=args.author, search=args.search, expand=expand):
        runtime = runtime_fields(info.runtime) if info.runtime is not None else {}
        output.emit("space", repo_id=info.id, sdk=info.sdk, private=info.private, **runtime)
        row: list[object] = [info.id, info.sdk, info.private]
        if args.runtime:
            row += [runtime.get("stage"), runtime.get("hardware"), runtime.get("requested_hardware")]
        rows.append(row)
    columns = ["Space", "sdk", "private", *(("stage", "hardware", "requested") if args.runtime else ())]
    output.table(columns, rows)
    return ExitCode.OK


async def cmd_info(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces info ID`"""
    info = await client.space_info(args.repo_id)
    runtime = info.runtime if info.runtime is not None else await client.get_space_runtime(args.repo_id)
    fields = {
        "sdk": info.sdk,
        "private": info.private,
        "sha": info.sha,
        "likes": info.likes,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        **runtime_fields(runtime),
    }
    output.emit("info", repo_id=info.id, **fields)
    output.table(["field", "value"], [["Space", info.id], *([k, text(v)] for k, v in fields.items())])
    return ExitCode.OK


async def cmd_storage(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces storage ID... TIER` / `aiospaces storage delete ID...`"""
    items: list[str] = args.items
    if items[0] == "delete":
        args.repo_ids = items[1:]
        if not args.repo_ids:
            raise UsageError("storage delete takes the Space ids whose storage to delete")
        return await run_on_each(
            client,
            args,
            output,
            client.delete_space_storage,
            description="deleting storage",
            show_runtime=True,
        )
    *repo_ids, tier = items
    if tier not in STORAGE_TIERS or not repo_ids:
        raise UsageError(f"storage takes ID... TIER (TIER: {', '.join(STORAGE_TIERS)}) or delete ID...")
    args.repo_ids = repo_ids

    async def request(repo_id: str) -> Any:
        return await client.request_space_storage(repo_id, tier)

    return await run_on_each(
        client, args, output, request, description="requesting storage", show_runtime=True
    )


async def cmd_sleep(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces sleep ID... SECONDS`"""

    async def set_sleep(repo_id: str) -> Any:
        return await client.set_space_sleep_time(repo_id, args.seconds)

    return await run_on_each(
        client, args, output, set_sleep, description="setting sleep time", show_runtime=True
    )


async def cmd_delete(
    client: SpacesClient, args: argparse.Namespace, output: Output, *, stdin: TextIO | None = None
) -> int:
    """`aiospaces delete ID... [--yes]`"""
    source = stdin if stdin is not None else sys.stdin
    for repo_id in args.repo_ids:
        validation.validate_repo_id(repo_id)
    if not args.yes:
        if not isatty(source):
            raise UsageError("delete removes Spaces and everything in them: pass --yes without a terminal")
        from ._fleet import _read_line

        output.stderr.write(f"delete {', '.join(args.repo_ids)} and everything in them? [y/N] ")
        output.stderr.flush()
        if (await _read_line(source)).strip().lower() not in ("y", "yes"):
            output.line("not deleted")
            return ExitCode.OK

    async def delete(repo_id: str) -> None:
        await client.delete_repo(repo_id, repo_type="space")

    return await run_on_each(client, args, output, delete, description="deleting", show_runtime=False)
