"""Nothing is sent before the input is valid: a table of bad inputs across the public API, each raising a
ValueError or TypeError that names the argument, with a counting transport proving that no request left."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aiospaces import CommitOperationAdd, CommitOperationDelete, RetryPolicy, SpacesClient
from aiospaces.tasks import TaskQueue

ENDPOINT = "https://hub.local"
NAN = math.nan
INF = math.inf


class CountingTransport(httpx2.AsyncBaseTransport):
    """Counts every request that reaches the transport, and answers each with an empty JSON object."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json={})


Call = Callable[[SpacesClient, Path, CountingTransport], Any]


def new_client(transport: CountingTransport, **options: Any) -> SpacesClient:
    """A client on the counting transport; `options` override the defaults (they are what is tested)."""
    kwargs: dict[str, Any] = {"token": "hf_x", "endpoint": ENDPOINT, "transport": transport, "retry": False}
    kwargs.update(options)
    return SpacesClient(**kwargs)


def ctor(**options: Any) -> Call:
    return lambda _client, _tmp, transport: new_client(transport, **options)


ADD = CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"x")
SECRET = {"key": "OK", "value": "v"}

# (case id, call, exception type, argument named in the message)
CASES: list[tuple[str, Call, type[Exception], str]] = [
    # --- SpacesClient(...) --------------------------------------------------------------------------
    ("client-timeout-nan", ctor(timeout=NAN), ValueError, "timeout"),
    ("client-timeout-inf", ctor(timeout=INF), ValueError, "timeout"),
    ("client-timeout-negative", ctor(timeout=-1), ValueError, "timeout"),
    ("client-timeout-zero", ctor(timeout=0), ValueError, "timeout"),
    ("client-timeout-str", ctor(timeout="5"), TypeError, "timeout"),
    ("client-timeout-parts-nan", ctor(timeout=httpx2.Timeout(5.0, read=NAN)), ValueError, "timeout.read"),
    ("client-max-concurrency-zero", ctor(max_concurrency=0), ValueError, "max_concurrency"),
    ("client-max-concurrency-float", ctor(max_concurrency=2.5), TypeError, "max_concurrency"),
    ("client-max-concurrency-bool", ctor(max_concurrency=True), TypeError, "max_concurrency"),
    ("client-endpoint-credentials", ctor(endpoint="https://user:pw@hub.local"), ValueError, "endpoint"),
    ("client-endpoint-user-only", ctor(endpoint="http://user@127.0.0.1:9"), ValueError, "endpoint"),
    ("client-endpoint-scheme", ctor(endpoint="ftp://hub.local"), ValueError, "endpoint"),
    ("client-endpoint-newline", ctor(endpoint="https://hub.local\n"), ValueError, "endpoint"),
    ("client-endpoint-query", ctor(endpoint="https://hub.local?x=1"), ValueError, "endpoint"),
    ("client-endpoint-type", ctor(endpoint=3), TypeError, "endpoint"),
    ("client-token-empty", ctor(token=""), ValueError, "token"),
    ("client-token-nul", ctor(token="hf_a\0b"), ValueError, "token"),
    ("client-token-type", ctor(token=3), TypeError, "token"),
    ("client-headers-crlf", ctor(headers={"X-A": "a\r\nInjected: b"}), ValueError, "headers"),
    ("client-headers-name", ctor(headers={"X A": "b"}), ValueError, "headers"),
    ("client-headers-type", ctor(headers=[("a", "b")]), TypeError, "headers"),
    ("client-user-agent-newline", ctor(user_agent="x\ny"), ValueError, "user_agent"),
    ("client-transport-type", ctor(transport="nope"), TypeError, "transport"),
    ("client-retry-negative", ctor(retry=-1), ValueError, "retry"),
    ("client-clock-type", ctor(clock=object()), TypeError, "clock"),
    (
        "retry-base-delay-nan",
        lambda c, t, x: ctor(retry=RetryPolicy(base_delay=NAN))(c, t, x),
        ValueError,
        "retry.base_delay",
    ),
    (
        "retry-max-delay-inf",
        lambda c, t, x: ctor(retry=RetryPolicy(max_delay=INF))(c, t, x),
        ValueError,
        "retry.max_delay",
    ),
    (
        "retry-attempts-zero",
        lambda c, t, x: ctor(retry=RetryPolicy(max_attempts=0))(c, t, x),
        ValueError,
        "retry.max_attempts",
    ),
    # --- repo ids on Space operations ---------------------------------------------------------------
    ("runtime-id-newline", lambda c, t, x: c.get_space_runtime("alice/demo\n"), ValueError, "repo_id"),
    ("runtime-id-no-namespace", lambda c, t, x: c.get_space_runtime("alice"), ValueError, "repo_id"),
    ("runtime-id-three-parts", lambda c, t, x: c.get_space_runtime("a/b/c"), ValueError, "repo_id"),
    ("runtime-id-dotdot", lambda c, t, x: c.get_space_runtime("alice/.."), ValueError, "repo_id"),
    ("runtime-id-space", lambda c, t, x: c.get_space_runtime("alice/de mo"), ValueError, "repo_id"),
    ("runtime-id-query", lambda c, t, x: c.get_space_runtime("alice/demo?x=1"), ValueError, "repo_id"),
    ("runtime-id-none", lambda c, t, x: c.get_space_runtime(None), TypeError, "repo_id"),
    ("runtime-id-leading-dash", lambda c, t, x: c.get_space_runtime("-alice/demo"), ValueError, "repo_id"),
    ("runtime-id-dot-git", lambda c, t, x: c.get_space_runtime("alice/demo.git"), ValueError, "repo_id"),
    ("runtime-id-double-dash", lambda c, t, x: c.get_space_runtime("alice/x--y"), ValueError, "repo_id"),
    ("runtime-id-too-long", lambda c, t, x: c.get_space_runtime("alice/" + "x" * 97), ValueError, "repo_id"),
    ("runtime-id-non-ascii", lambda c, t, x: c.get_space_runtime("alice/démo"), ValueError, "repo_id"),
    ("pause-id-newline", lambda c, t, x: c.pause_space("alice/demo\n"), ValueError, "repo_id"),
    ("restart-id-nul", lambda c, t, x: c.restart_space("alice/\0"), ValueError, "repo_id"),
    (
        "restart-factory-reboot",
        lambda c, t, x: c.restart_space("alice/demo", factory_reboot="yes"),
        TypeError,
        "factory_reboot",
    ),
    ("storage-delete-id", lambda c, t, x: c.delete_space_storage("alice\n/demo"), ValueError, "repo_id"),
    ("dev-mode-on-id", lambda c, t, x: c.enable_space_dev_mode("x"), ValueError, "repo_id"),
    ("dev-mode-off-id", lambda c, t, x: c.disable_space_dev_mode(3), TypeError, "repo_id"),
    ("volumes-delete-id", lambda c, t, x: c.delete_space_volumes("alice/demo "), ValueError, "repo_id"),
    # --- hardware, sleep time, storage, volumes -----------------------------------------------------
    ("hardware-empty", lambda c, t, x: c.request_space_hardware("alice/demo", ""), ValueError, "hardware"),
    (
        "hardware-space",
        lambda c, t, x: c.request_space_hardware("alice/demo", "t4 small"),
        ValueError,
        "hardware",
    ),
    ("hardware-none", lambda c, t, x: c.request_space_hardware("alice/demo", None), TypeError, "hardware"),
    (
        "hardware-sleep-negative",
        lambda c, t, x: c.request_space_hardware("alice/demo", "t4-small", sleep_time=-5),
        ValueError,
        "sleep_time",
    ),
    (
        "hardware-sleep-nan",
        lambda c, t, x: c.request_space_hardware("alice/demo", "t4-small", sleep_time=NAN),
        TypeError,
        "sleep_time",
    ),
    (
        "hardware-id-newline",
        lambda c, t, x: c.request_space_hardware("alice/demo\n", "t4-small"),
        ValueError,
        "repo_id",
    ),
    ("sleep-nan", lambda c, t, x: c.set_space_sleep_time("alice/demo", NAN), TypeError, "sleep_time"),
    ("sleep-inf", lambda c, t, x: c.set_space_sleep_time("alice/demo", INF), TypeError, "sleep_time"),
    ("sleep-negative", lambda c, t, x: c.set_space_sleep_time("alice/demo", -2), ValueError, "sleep_time"),
    ("sleep-bool", lambda c, t, x: c.set_space_sleep_time("alice/demo", True), TypeError, "sleep_time"),
    ("storage-tier", lambda c, t, x: c.request_space_storage("alice/demo", "huge"), ValueError, "storage"),
    ("volumes-type", lambda c, t, x: c.set_space_volumes("alice/demo", "vol"), TypeError, "volumes"),
    # --- secrets and variables ----------------------------------------------------------------------
    ("secret-key-equals", lambda c, t, x: c.add_space_secret("alice/demo", "KEY=1", "v"), ValueError, "key"),
    ("secret-key-dash", lambda c, t, x: c.add_space_secret("alice/demo", "MY-KEY", "v"), ValueError, "key"),
    ("secret-key-digit", lambda c, t, x: c.add_space_secret("alice/demo", "1KEY", "v"), ValueError, "key"),
    ("secret-key-nul", lambda c, t, x: c.add_space_secret("alice/demo", "A\0B", "v"), ValueError, "key"),
    ("secret-key-empty", lambda c, t, x: c.add_space_secret("alice/demo", "", "v"), ValueError, "key"),
    ("secret-value-type", lambda c, t, x: c.add_space_secret("alice/demo", "K", 3), TypeError, "value"),
    (
        "secret-description-type",
        lambda c, t, x: c.add_space_secret("alice/demo", "K", "v", description=3),
        TypeError,
        "description",
    ),
    (
        "secret-id-newline",
        lambda c, t, x: c.add_space_secret("alice/demo\n", "K", "v"),
        ValueError,
        "repo_id",
    ),
    ("secret-delete-key", lambda c, t, x: c.delete_space_secret("alice/demo", "MY-KEY"), ValueError, "key"),
    ("secrets-get-id", lambda c, t, x: c.get_space_secrets("alice/demo\n"), ValueError, "repo_id"),
    (
        "variable-key-equals",
        lambda c, t, x: c.add_space_variable("alice/demo", "KEY=1", "v"),
        ValueError,
        "key",
    ),
    (
        "variable-key-digit",
        lambda c, t, x: c.add_space_variable("alice/demo", "1KEY", "v"),
        ValueError,
        "key",
    ),
    ("variable-key-nul", lambda c, t, x: c.add_space_variable("alice/demo", "\0", "v"), ValueError, "key"),
    ("variable-delete-key", lambda c, t, x: c.delete_space_variable("alice/demo", "A B"), ValueError, "key"),
    ("variables-get-id", lambda c, t, x: c.get_space_variables("alice"), ValueError, "repo_id"),
    # --- repos --------------------------------------------------------------------------------------
    (
        "create-id-newline",
        lambda c, t, x: c.create_repo("alice/demo\n", repo_type="space", space_sdk="gradio"),
        ValueError,
        "repo_id",
    ),
    (
        "create-repo-type",
        lambda c, t, x: c.create_repo("alice/x", repo_type="spaces"),
        ValueError,
        "repo_type",
    ),
    (
        "create-sdk",
        lambda c, t, x: c.create_repo("alice/x", repo_type="space", space_sdk="flask"),
        ValueError,
        "space_sdk",
    ),
    (
        "create-secret-key",
        lambda c, t, x: c.create_repo(
            "alice/x", repo_type="space", space_sdk="gradio", space_secrets=[{"key": "MY-KEY", "value": "v"}]
        ),
        ValueError,
        "space_secrets[].key",
    ),
    (
        "create-hardware",
        lambda c, t, x: c.create_repo(
            "alice/x", repo_type="space", space_sdk="gradio", space_hardware="t4 s"
        ),
        ValueError,
        "space_hardware",
    ),
    (
        "create-sleep-time",
        lambda c, t, x: c.create_repo("alice/x", repo_type="space", space_sdk="gradio", space_sleep_time=-7),
        ValueError,
        "space_sleep_time",
    ),
    ("create-exist-ok", lambda c, t, x: c.create_repo("alice/x", exist_ok="yes"), TypeError, "exist_ok"),
    ("create-region", lambda c, t, x: c.create_repo("alice/x", region="asia"), ValueError, "region"),
    (
        "delete-repo-type",
        lambda c, t, x: c.delete_repo("alice/x", repo_type="kernels"),
        ValueError,
        "repo_type",
    ),
    ("delete-missing-ok", lambda c, t, x: c.delete_repo("alice/x", missing_ok=1), TypeError, "missing_ok"),
    (
        "settings-kernel",
        lambda c, t, x: c.update_repo_settings("alice/x", repo_type="kernel", private=True),
        ValueError,
        "repo_type",
    ),
    (
        "settings-gated",
        lambda c, t, x: c.update_repo_settings("alice/x", gated="sometimes"),
        ValueError,
        "gated",
    ),
    ("duplicate-from-id", lambda c, t, x: c.duplicate_space("alice/x\n"), ValueError, "from_id"),
    ("duplicate-to-id", lambda c, t, x: c.duplicate_space("alice/x", "bob/y/z"), ValueError, "to_id"),
    (
        "duplicate-hardware",
        lambda c, t, x: c.duplicate_space("alice/x", "bob/y", hardware=""),
        ValueError,
        "hardware",
    ),
    (
        "duplicate-storage",
        lambda c, t, x: c.duplicate_space("alice/x", "bob/y", storage="xl"),
        ValueError,
        "storage",
    ),
    (
        "duplicate-kernel",
        lambda c, t, x: c.duplicate_repo("alice/x", "bob/y", repo_type="kernel"),
        ValueError,
        "repo_type",
    ),
    (
        "duplicate-variable-key",
        lambda c, t, x: c.duplicate_repo(
            "alice/x", "bob/y", repo_type="space", space_variables=[{"key": "1A", "value": "v"}]
        ),
        ValueError,
        "space_variables[].key",
    ),
    ("info-revision-space", lambda c, t, x: c.space_info("alice/x", revision="a b"), ValueError, "revision"),
    (
        "info-revision-dotdot",
        lambda c, t, x: c.space_info("alice/x", revision="../main"),
        ValueError,
        "revision",
    ),
    ("info-timeout-nan", lambda c, t, x: c.space_info("alice/x", timeout=NAN), ValueError, "timeout"),
    ("info-timeout-negative", lambda c, t, x: c.space_info("alice/x", timeout=-1), ValueError, "timeout"),
    ("info-expand-unknown", lambda c, t, x: c.space_info("alice/x", expand=["bogus"]), ValueError, "expand"),
    ("info-expand-str", lambda c, t, x: c.space_info("alice/x", expand="runtime"), TypeError, "expand"),
    ("whoami-cache", lambda c, t, x: c.whoami(cache="yes"), TypeError, "cache"),
    # --- list_spaces and fetch_space_logs (async iterators: checked on the first step) --------------
    ("list-limit-zero", lambda c, t, x: c.list_spaces(limit=0), ValueError, "limit"),
    ("list-limit-nan", lambda c, t, x: c.list_spaces(limit=NAN), ValueError, "limit"),
    ("list-sort", lambda c, t, x: c.list_spaces(sort="best"), ValueError, "sort"),
    (
        "list-expand-and-full",
        lambda c, t, x: c.list_spaces(expand=["runtime"], full=True),
        ValueError,
        "expand",
    ),
    ("list-author-type", lambda c, t, x: c.list_spaces(author=3), TypeError, "author"),
    ("list-linked-type", lambda c, t, x: c.list_spaces(linked="yes"), TypeError, "linked"),
    ("list-filter-type", lambda c, t, x: c.list_spaces(filter=[3]), TypeError, "filter"),
    ("logs-id-newline", lambda c, t, x: c.fetch_space_logs("alice/x\n"), ValueError, "repo_id"),
    ("logs-build-type", lambda c, t, x: c.fetch_space_logs("alice/x", build="yes"), TypeError, "build"),
    ("logs-follow-type", lambda c, t, x: c.fetch_space_logs("alice/x", follow=1), TypeError, "follow"),
    # --- waiting and watching -----------------------------------------------------------------------
    ("wait-timeout-nan", lambda c, t, x: c.wait_for_space("alice/x", timeout=NAN), ValueError, "timeout"),
    ("wait-timeout-negative", lambda c, t, x: c.wait_for_space("alice/x", timeout=-1), ValueError, "timeout"),
    ("wait-timeout-inf", lambda c, t, x: c.wait_for_space("alice/x", timeout=INF), ValueError, "timeout"),
    (
        "wait-poll-zero",
        lambda c, t, x: c.wait_for_space("alice/x", poll_interval=0),
        ValueError,
        "poll_interval",
    ),
    (
        "wait-poll-nan",
        lambda c, t, x: c.wait_for_space("alice/x", poll_interval=NAN),
        ValueError,
        "poll_interval",
    ),
    ("wait-id-newline", lambda c, t, x: c.wait_for_space("alice/x\n"), ValueError, "repo_id"),
    ("wait-until-predicate", lambda c, t, x: c.wait_until("alice/x", 3), TypeError, "predicate"),
    (
        "wait-until-timeout-str",
        lambda c, t, x: c.wait_until("alice/x", bool, timeout="soon"),
        TypeError,
        "timeout",
    ),
    ("running-wake-type", lambda c, t, x: c.wait_until_running("alice/x", wake="yes"), TypeError, "wake"),
    (
        "running-timeout-nan",
        lambda c, t, x: c.wait_until_running("alice/x", timeout=NAN),
        ValueError,
        "timeout",
    ),
    (
        "running-on-change",
        lambda c, t, x: c.wait_until_running("alice/x", on_change=3),
        TypeError,
        "on_change",
    ),
    ("hw-wait-flavor", lambda c, t, x: c.wait_for_hardware("alice/x", "t4\n"), ValueError, "hardware"),
    ("hw-wait-id", lambda c, t, x: c.wait_for_hardware("alice/x\n"), ValueError, "repo_id"),
    (
        "hw-wait-policy",
        lambda c, t, x: c.wait_for_hardware("alice/x", "t4-small", policy="fast"),
        TypeError,
        "policy",
    ),
    ("watch-timeout-nan", lambda c, t, x: c.watch("alice/x", timeout=NAN), ValueError, "timeout"),
    ("watch-id-newline", lambda c, t, x: c.watch("alice/x\n"), ValueError, "repo_id"),
    ("watch-many-id", lambda c, t, x: c.watch_many(["alice/a", "alice/b\n"]), ValueError, "repo_ids"),
    ("watch-many-str", lambda c, t, x: c.watch_many("alice/a"), TypeError, "repo_ids"),
    ("wait-all-duplicates", lambda c, t, x: c.wait_all(["alice/a", "alice/a"]), ValueError, "repo_ids"),
    ("wait-all-timeout-inf", lambda c, t, x: c.wait_all(["alice/a"], timeout=INF), ValueError, "timeout"),
    ("wait-all-wake", lambda c, t, x: c.wait_all(["alice/a"], wake=1), TypeError, "wake"),
    # --- temporary_hardware -------------------------------------------------------------------------
    ("temp-hw-flavor", lambda c, t, x: c.temporary_hardware("alice/x", "t4 small"), ValueError, "hardware"),
    (
        "temp-hw-restore",
        lambda c, t, x: c.temporary_hardware("alice/x", "t4-small", restore=""),
        ValueError,
        "restore",
    ),
    (
        "temp-hw-timeout",
        lambda c, t, x: c.temporary_hardware("alice/x", "t4-small", timeout=NAN),
        ValueError,
        "timeout",
    ),
    (
        "temp-hw-sleep",
        lambda c, t, x: c.temporary_hardware("alice/x", "t4-small", sleep_time=-3),
        ValueError,
        "sleep_time",
    ),
    ("temp-hw-id", lambda c, t, x: c.temporary_hardware("alice/x\n", "t4-small"), ValueError, "repo_id"),
    # --- fleets: every id and argument is checked before the first Space is touched -----------------
    (
        "fleet-id-newline",
        lambda c, t, x: c.fleet(["alice/a", "alice/b\n"]).pause_space(),
        ValueError,
        "repo_ids[1]",
    ),
    ("fleet-duplicates", lambda c, t, x: c.fleet(["alice/a", "alice/a"]), ValueError, "repo_ids"),
    (
        "fleet-concurrency-zero",
        lambda c, t, x: c.fleet(["alice/a"], concurrency=0),
        ValueError,
        "concurrency",
    ),
    (
        "fleet-concurrency-nan",
        lambda c, t, x: c.fleet(["alice/a"], concurrency=NAN),
        TypeError,
        "concurrency",
    ),
    ("fleet-str", lambda c, t, x: c.fleet("alice/a"), TypeError, "repo_ids"),
    ("fleet-not-iterable", lambda c, t, x: c.fleet(3), TypeError, "repo_ids"),
    (
        "fleet-secret-key",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).add_space_secret("MY-KEY", "v"),
        ValueError,
        "key",
    ),
    (
        "fleet-variable-key",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).add_space_variable("1K", "v"),
        ValueError,
        "key",
    ),
    (
        "fleet-delete-key",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).delete_space_secret("A=B"),
        ValueError,
        "key",
    ),
    (
        "fleet-secret-description",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).add_space_secret("K", "v", description=3),
        TypeError,
        "description",
    ),
    (
        "fleet-hardware",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).request_space_hardware("t4 small"),
        ValueError,
        "hardware",
    ),
    (
        "fleet-hardware-sleep",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).request_space_hardware("t4-small", sleep_time=NAN),
        TypeError,
        "sleep_time",
    ),
    (
        "fleet-sleep-inf",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).set_space_sleep_time(INF),
        TypeError,
        "sleep_time",
    ),
    (
        "fleet-restart-flag",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).restart_space(factory_reboot="yes"),
        TypeError,
        "factory_reboot",
    ),
    (
        "fleet-info-expand",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).space_info(expand=["bogus"]),
        ValueError,
        "expand",
    ),
    (
        "fleet-create-sdk",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).create_repo(space_sdk="flask"),
        ValueError,
        "space_sdk",
    ),
    (
        "fleet-create-secret",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).create_repo(
            space_sdk="gradio", space_secrets=[{"key": "A-B", "value": "v"}]
        ),
        ValueError,
        "space_secrets[].key",
    ),
    (
        "fleet-delete-flag",
        lambda c, t, x: c.fleet(["a/a", "a/b"]).delete_repo(missing_ok="y"),
        TypeError,
        "missing_ok",
    ),
    ("fleet-volumes", lambda c, t, x: c.fleet(["a/a", "a/b"]).set_space_volumes("vol"), TypeError, "volumes"),
    # --- commits, uploads, downloads ----------------------------------------------------------------
    (
        "commit-id",
        lambda c, t, x: c.create_commit("alice/x\n", [ADD], commit_message="m"),
        ValueError,
        "repo_id",
    ),
    (
        "commit-message-empty",
        lambda c, t, x: c.create_commit("alice/x", [ADD], commit_message=""),
        ValueError,
        "commit_message",
    ),
    (
        "commit-revision",
        lambda c, t, x: c.create_commit("alice/x", [ADD], commit_message="m", revision="a b"),
        ValueError,
        "revision",
    ),
    (
        "commit-parent",
        lambda c, t, x: c.create_commit("alice/x", [ADD], commit_message="m", parent_commit="main"),
        ValueError,
        "parent_commit",
    ),
    (
        "commit-num-threads",
        lambda c, t, x: c.create_commit("alice/x", [ADD], commit_message="m", num_threads=0),
        ValueError,
        "num_threads",
    ),
    (
        "commit-repo-type",
        lambda c, t, x: c.create_commit("alice/x", [ADD], commit_message="m", repo_type="spaces"),
        ValueError,
        "repo_type",
    ),
    (
        "commit-operations-type",
        lambda c, t, x: c.create_commit("alice/x", "ops", commit_message="m"),
        TypeError,
        "operations",
    ),
    (
        "commit-add-nul-path",
        lambda c, t, x: c.create_commit(
            "alice/x", [CommitOperationAdd(path_in_repo="a\0b", path_or_fileobj=b"x")], commit_message="m"
        ),
        ValueError,
        "path_in_repo",
    ),
    (
        "commit-delete-dotdot",
        lambda c, t, x: c.create_commit(
            "alice/x", [CommitOperationDelete(path_in_repo="../x")], commit_message="m"
        ),
        ValueError,
        "path_in_repo",
    ),
    (
        "upload-absolute-path",
        lambda c, t, x: c.upload_file(path_or_fileobj=b"x", path_in_repo="/etc/passwd", repo_id="alice/x"),
        ValueError,
        "path_in_repo",
    ),
    (
        "upload-backslash-path",
        lambda c, t, x: c.upload_file(path_or_fileobj=b"x", path_in_repo="a\\b", repo_id="alice/x"),
        ValueError,
        "path_in_repo",
    ),
    (
        "upload-dotdot-path",
        lambda c, t, x: c.upload_file(path_or_fileobj=b"x", path_in_repo="a/../b", repo_id="alice/x"),
        ValueError,
        "path_in_repo",
    ),
    (
        "upload-nul-path",
        lambda c, t, x: c.upload_file(path_or_fileobj=b"x", path_in_repo="a\0b", repo_id="alice/x"),
        ValueError,
        "path_in_repo",
    ),
    (
        "upload-git-path",
        lambda c, t, x: c.upload_file(path_or_fileobj=b"x", path_in_repo=".git/config", repo_id="alice/x"),
        ValueError,
        "path_in_repo",
    ),
    (
        "upload-id",
        lambda c, t, x: c.upload_file(path_or_fileobj=b"x", path_in_repo="a", repo_id="alice/x\n"),
        ValueError,
        "repo_id",
    ),
    (
        "upload-revision",
        lambda c, t, x: c.upload_file(
            path_or_fileobj=b"x", path_in_repo="a", repo_id="alice/x", revision="main\n"
        ),
        ValueError,
        "revision",
    ),
    (
        "folder-dotdot-prefix",
        lambda c, t, x: c.upload_folder(repo_id="alice/x", folder_path=t, path_in_repo="../up"),
        ValueError,
        "path_in_repo",
    ),
    (
        "folder-absolute-prefix",
        lambda c, t, x: c.upload_folder(repo_id="alice/x", folder_path=t, path_in_repo="/abs"),
        ValueError,
        "path_in_repo",
    ),
    (
        "folder-parent-before-listing",
        lambda c, t, x: c.upload_folder(
            repo_id="alice/x", folder_path=t, delete_patterns="*", parent_commit="zz"
        ),
        ValueError,
        "parent_commit",
    ),
    (
        "folder-revision-before-listing",
        lambda c, t, x: c.upload_folder(
            repo_id="alice/x", folder_path=t, delete_patterns="*", revision="a b"
        ),
        ValueError,
        "revision",
    ),
    ("folder-id", lambda c, t, x: c.upload_folder(repo_id="alice/x\n", folder_path=t), ValueError, "repo_id"),
    ("download-dotdot", lambda c, t, x: c.hf_hub_download("alice/x", "../x"), ValueError, "filename"),
    (
        "download-absolute",
        lambda c, t, x: c.hf_hub_download("alice/x", "/etc/passwd"),
        ValueError,
        "filename",
    ),
    ("download-backslash", lambda c, t, x: c.hf_hub_download("alice/x", "a\\b"), ValueError, "filename"),
    ("download-nul", lambda c, t, x: c.hf_hub_download("alice/x", "a\0b"), ValueError, "filename"),
    (
        "download-subfolder",
        lambda c, t, x: c.hf_hub_download("alice/x", "f", subfolder="../up"),
        ValueError,
        "subfolder",
    ),
    (
        "download-etag-nan",
        lambda c, t, x: c.hf_hub_download("alice/x", "f", etag_timeout=NAN),
        ValueError,
        "etag_timeout",
    ),
    (
        "download-etag-inf",
        lambda c, t, x: c.hf_hub_download("alice/x", "f", etag_timeout=INF),
        ValueError,
        "etag_timeout",
    ),
    (
        "download-revision",
        lambda c, t, x: c.hf_hub_download("alice/x", "f", revision="a..b"),
        ValueError,
        "revision",
    ),
    ("download-id", lambda c, t, x: c.hf_hub_download("alice/x\n", "f"), ValueError, "repo_id"),
    (
        "download-repo-type",
        lambda c, t, x: c.hf_hub_download("alice/x", "f", repo_type="kernels"),
        ValueError,
        "repo_type",
    ),
    (
        "list-files-revision",
        lambda c, t, x: c.list_repo_files("alice/x", revision="a b"),
        ValueError,
        "revision",
    ),
    # --- the task queue -----------------------------------------------------------------------------
    ("tasks-id", lambda c, t, x: TaskQueue(c, "alice/x\n"), ValueError, "repo_id"),
    (
        "tasks-filename",
        lambda c, t, x: TaskQueue(c, "alice/x", filename="../tasks.csv"),
        ValueError,
        "filename",
    ),
    (
        "tasks-repo-type",
        lambda c, t, x: TaskQueue(c, "alice/x", repo_type="datasets"),
        ValueError,
        "repo_type",
    ),
    ("tasks-revision", lambda c, t, x: TaskQueue(c, "alice/x", revision="a b"), ValueError, "revision"),
    (
        "tasks-lease-nan",
        lambda c, t, x: TaskQueue(c, "alice/x", lease_seconds=NAN),
        ValueError,
        "lease_seconds",
    ),
    (
        "tasks-backoff-inf",
        lambda c, t, x: TaskQueue(c, "alice/x", backoff_base=INF),
        ValueError,
        "backoff_base",
    ),
]


def test_the_table_covers_at_least_100_bad_inputs() -> None:
    """The table is as large as promised, and its case ids are unique."""
    ids = [case[0] for case in CASES]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)


async def _drive(result: Any) -> None:
    """Run what a call returned far enough to send its first request: await it, step it, or enter it."""
    if inspect.isawaitable(result):
        await result
    elif hasattr(result, "__anext__"):
        try:
            await result.__anext__()
        finally:
            await result.aclose()
    elif hasattr(result, "__aenter__"):
        async with result:
            pass


@pytest.mark.anyio
@pytest.mark.parametrize(("call", "error", "argument"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_bad_input_raises_naming_the_argument_and_sends_nothing(
    call: Call, error: type[Exception], argument: str, tmp_path: Path
) -> None:
    """The bad input raises the expected ValueError/TypeError, whose message names the argument, and the
    transport sees no request at all."""
    transport = CountingTransport()
    async with new_client(transport) as client:
        with pytest.raises(error) as caught:
            await _drive(call(client, tmp_path, transport))
    assert re.search(rf"(?<![\w.\[]){re.escape(argument)}(?![\w])", str(caught.value)), str(caught.value)
    assert transport.requests == []


def test_credentials_in_hf_endpoint_are_refused_at_client_creation(monkeypatch: pytest.MonkeyPatch) -> None:
    """`HF_ENDPOINT` with `user:password@` raises a ValueError naming HF_ENDPOINT, without the password."""
    monkeypatch.setenv("HF_ENDPOINT", "https://user:s3cret@hub.local")
    with pytest.raises(ValueError, match="HF_ENDPOINT must not contain credentials") as caught:
        SpacesClient(token="hf_x", transport=CountingTransport())
    assert "s3cret" not in str(caught.value)


# --- every public method, by argument name ------------------------------------------------------------

# One bad value per argument name: every public method of the client and of a fleet that takes an argument
# of that name is called with it (the other arguments valid), so a method added later is covered too.
BAD_BY_ARGUMENT: dict[str, tuple[object, type[Exception]]] = {
    "repo_id": ("alice/demo\n", ValueError),
    "from_id": ("alice/demo\n", ValueError),
    "to_id": ("bob/x/y", ValueError),
    "repo_ids": (["alice/a", "alice/b\n"], ValueError),
    "key": ("MY-KEY", ValueError),
    "hardware": ("t4 small", ValueError),
    "space_hardware": ("t4 small", ValueError),
    "restore": ("", ValueError),
    "storage": ("huge", ValueError),
    "space_storage": ("huge", ValueError),
    "sleep_time": ("1.5", ValueError),
    "space_sleep_time": ("abc", ValueError),
    "timeout": (NAN, ValueError),
    "etag_timeout": (INF, ValueError),
    "poll_interval": (NAN, ValueError),
    "concurrency": (0, ValueError),
    "num_threads": (0, ValueError),
    "path_in_repo": ("/abs", ValueError),
    "filename": ("../x", ValueError),
    "subfolder": ("a/../../x", ValueError),
    "revision": ("a b", ValueError),
    "repo_type": ("spaces", ValueError),
    "parent_commit": ("main", ValueError),
}
# Valid values for the arguments a method requires besides the one under test.
REQUIRED: dict[str, Callable[[Path], object]] = {
    "repo_id": lambda _: "alice/demo",
    "from_id": lambda _: "alice/demo",
    "to_id": lambda _: "alice/demo2",
    "repo_ids": lambda _: ["alice/a", "alice/b"],
    "key": lambda _: "K",
    "value": lambda _: "v",
    "hardware": lambda _: "t4-small",
    "sleep_time": lambda _: 60,
    "storage": lambda _: "small",
    "volumes": lambda _: [],
    "predicate": lambda _: bool,
    "operations": lambda _: [ADD],
    "commit_message": lambda _: "m",
    "filename": lambda _: "f.txt",
    "path_or_fileobj": lambda _: b"x",
    "path_in_repo": lambda _: "a.txt",
    "folder_path": lambda tmp: tmp,
    "space_sdk": lambda _: "gradio",
}


def _public_methods(cls: type) -> list[tuple[str, inspect.Signature]]:
    return [
        (name, inspect.signature(member))
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    ]


def _argument_cases() -> list[tuple[str, str, str]]:
    from aiospaces.fleet import Fleet

    cases = []
    for owner, cls in (("client", SpacesClient), ("fleet", Fleet)):
        for name, signature in _public_methods(cls):
            for argument in signature.parameters:
                if argument in BAD_BY_ARGUMENT:
                    cases.append((owner, name, argument))
    return cases


ARGUMENT_CASES = _argument_cases()


def test_every_checked_argument_name_is_exercised() -> None:
    """Each argument name of the table is taken by at least one public method, and every public method that
    takes a repo id is in the cases (so the cases cannot silently become empty)."""
    assert {argument for _, _, argument in ARGUMENT_CASES} == set(BAD_BY_ARGUMENT)
    taking_ids = {
        name
        for name, signature in _public_methods(SpacesClient)
        if {"repo_id", "from_id", "repo_ids"} & set(signature.parameters)
    }
    assert len(taking_ids) >= 35
    assert taking_ids <= {name for owner, name, _ in ARGUMENT_CASES if owner == "client"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("owner", "method", "argument"), ARGUMENT_CASES, ids=[f"{o}.{m}-{a}" for o, m, a in ARGUMENT_CASES]
)
async def test_every_public_method_checks_its_arguments_before_sending(
    owner: str, method: str, argument: str, tmp_path: Path
) -> None:
    """A public method of the client or of a fleet, given one bad argument (the others valid), raises a
    ValueError/TypeError naming it, and sends nothing."""
    transport = CountingTransport()
    bad, error = BAD_BY_ARGUMENT[argument]
    async with new_client(transport) as client:
        target: Any = client if owner == "client" else client.fleet(["alice/a", "alice/b"])
        signature = inspect.signature(getattr(type(target), method))
        kwargs: dict[str, Any] = {
            name: REQUIRED[name](tmp_path)
            for name, parameter in signature.parameters.items()
            if name not in ("self", argument) and parameter.default is inspect.Parameter.empty
        }
        kwargs[argument] = bad
        with pytest.raises(error) as caught:
            await _drive(getattr(target, method)(**kwargs))
    assert re.search(rf"(?<![\w.\[]){re.escape(argument)}(?![\w])", str(caught.value)), str(caught.value)
    assert transport.requests == []
