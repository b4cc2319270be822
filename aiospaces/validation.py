"""Argument validation: every rule the SDK checks an argument with before it sends anything, defined once.

Public so that code built on the SDK (a fleet file, a task queue, a command line) checks its input with the
same rules as the client, e.g. `aiospaces.validation.validate_repo_id("alice/demo")`.

Each function takes the raw argument (`object`: callers may pass anything) and the argument's name, returns
the value to use, and raises `TypeError` (wrong type) or `ValueError` (right type, invalid value) with a
message that names the argument. Every pattern is matched with `fullmatch`: `re.match(r"...$")` lets a
trailing newline through, and such a value later breaks the URL it is put in.

No I/O, and no import of the rest of the package: the wire mapping, the client, the fleet, the task queue
and the CLI all import their rules from here. (The simulated Hub keeps its own, server-side rules.)
Functions whose names start with `validate_` are the stable part; the rest may change.
"""

from __future__ import annotations

import enum
import hmac
import math
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx2

#: Repo types, as huggingface_hub 2.4 accepts them for create, delete, commits and downloads
#: (`constants.REPO_TYPES_WITH_KERNEL`; `None` means "model").
REPO_TYPES: tuple[str, ...] = ("model", "dataset", "space", "kernel")
#: Repo types huggingface_hub 2.4 accepts for settings and duplication (`constants.REPO_TYPES`).
REPO_TYPES_WITHOUT_KERNEL: tuple[str, ...] = ("model", "dataset", "space")

# One part of a repo id (huggingface_hub 2.4 `utils/_validators.py` REPO_ID_REGEX, ASCII): 1 to 96 letters,
# digits, `_`, `-` or `.`, starting and ending with a letter, digit or `_`.
_REPO_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"(?:{_REPO_PART}/)?{_REPO_PART}")
# A Space secret or variable key becomes an environment variable of the Space's container: the POSIX
# portable name rule the Hub applies.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A hardware flavor (`cpu-basic`, `a10g-largex2`, `zero-a10g`, hub-api.md §13.2): the Hub adds flavors over
# time, so the rule is the shape of a flavor name, not a closed list.
# A sleep time written as a string, as the "Manage your Space" guide does (`space_sleep_time="7200"`): ASCII
# digits only (str.isdigit would also take other scripts' digits), optionally the "-1" of "never".
_SLEEP_DIGITS = re.compile(r"-?[0-9]{1,18}")
_FLAVOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")
# What git's check-ref-format forbids inside a ref name (besides control characters).
_REF_FORBIDDEN = re.compile(r"[ ~^:?*\[\\]|@\{")
# `parentCommit` must be a full or abbreviated sha (huggingface_hub constants.REGEX_COMMIT_OID).
_COMMIT_OID = re.compile(r"[0-9a-fA-F]{5,40}")
# Folders that may never be written to (huggingface_hub `_commit_api.py` FORBIDDEN_FOLDERS).
FORBIDDEN_FOLDERS: tuple[str, ...] = (".git", ".cache")
STORAGE_TIERS: tuple[str, ...] = ("small", "medium", "large")

_SHOWN_MAX = 120


def _shown(value: str) -> str:
    """`repr(value)`, cut short so that a huge argument does not make a huge message."""
    text = repr(value)
    return text if len(text) <= _SHOWN_MAX else f"{text[: _SHOWN_MAX - 5]}...{text[-1]}"


def _has_control(value: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in value)


def _type_name(value: object) -> str:
    return type(value).__name__


# --- repos ---------------------------------------------------------------------------------------------


def validate_repo_id(repo_id: object, *, arg: str = "repo_id", allow_bare_name: bool = False) -> str:
    """Check a repo id and return it.

    The rule is huggingface_hub 2.4's `validate_repo_id`: `name` or `namespace/name`, each part 1 to 96 ASCII
    letters, digits, `_`, `-` or `.`, starting and ending with a letter, digit or `_`; no `--` or `..`
    anywhere; not ending in `.git`. Space operations need the namespace.

    Args:
        repo_id: the value to check.
        arg: the argument name used in the error message.
        allow_bare_name: accept `name` without a namespace (create, delete, commits, and a duplicate's
            target use the caller's namespace then, as huggingface_hub does).

    Raises:
        TypeError: `repo_id` is not a string.
        ValueError: it does not follow the rule.
    """
    if not isinstance(repo_id, str):
        raise TypeError(f"{arg} must be a str, got {_type_name(repo_id)}")
    form = "'name' or 'namespace/name'" if allow_bare_name else "'namespace/name'"
    if "/" not in repo_id and not allow_bare_name:
        raise ValueError(f"{arg} must be {form}, got {_shown(repo_id)}")
    if repo_id.count("/") > 1:
        slashes = "at most one" if allow_bare_name else "exactly one"
        raise ValueError(f"{arg} must be {form}, with {slashes} '/'; got {_shown(repo_id)}")
    if not _REPO_ID.fullmatch(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        raise ValueError(
            f"{arg} must be {form}: letters, digits, '_', '-' or '.', each part 1 to 96 characters that "
            f"start and end with a letter, digit or '_', without '--' or '..', not ending in '.git'; "
            f"got {_shown(repo_id)}"
        )
    return repo_id


def resolve_repo_type(repo_type: object, *, arg: str = "repo_type") -> str:
    """`validate_repo_type`, with `None` resolved to `"model"`."""
    return validate_repo_type(repo_type, arg=arg) or "model"


def validate_repo_type(repo_type: object, *, arg: str = "repo_type", allow_kernel: bool = True) -> str | None:
    """`None` (a model) or one of `REPO_TYPES`; an enum member gives its value.

    Args:
        repo_type: the value to check.
        arg: the argument name used in the error message.
        allow_kernel: False where huggingface_hub 2.4 refuses kernels (settings, duplication).
    """
    if repo_type is None:
        return None
    value = enum_value(repo_type, arg=arg)
    allowed = REPO_TYPES if allow_kernel else REPO_TYPES_WITHOUT_KERNEL
    if value not in allowed:
        raise ValueError(f"{arg} must be one of {', '.join(allowed)} or None, got {_shown(value)}")
    return value


def validate_revision(revision: object, *, arg: str = "revision") -> str:
    """A branch, tag or commit (`None` means `main`), checked with git's ref-name rules.

    A revision is percent-encoded into URLs and also names a file of the download cache
    (`refs/<revision>`), so empty, `.` or `..` parts, control characters and git's forbidden characters
    are refused.
    """
    if revision is None:
        return "main"
    if not isinstance(revision, str):
        raise TypeError(f"{arg} must be a str or None, got {_type_name(revision)}")
    if (
        not revision
        or _has_control(revision)
        or _REF_FORBIDDEN.search(revision)
        or ".." in revision
        or revision.endswith((".", ".lock"))
        or any(part in ("", ".", "..") or part.startswith(".") for part in revision.split("/"))
    ):
        raise ValueError(
            f"{arg} must be a git branch, tag or commit (no empty part, no part starting with '.', no '..', "
            f"no control characters, no spaces or any of ~^:?*[\\), got {_shown(revision)}"
        )
    return revision


def validate_optional_revision(revision: object, *, arg: str = "revision") -> str | None:
    """None (the server's default), or a revision checked as `validate_revision`."""
    return None if revision is None else validate_revision(revision, arg=arg)


def validate_parent_commit(parent_commit: object, *, arg: str = "parent_commit") -> str | None:
    """None, or a full or abbreviated (5 to 40 hex digits) commit sha."""
    if parent_commit is None:
        return None
    if not isinstance(parent_commit, str):
        raise TypeError(f"{arg} must be a str or None, got {_type_name(parent_commit)}")
    if not _COMMIT_OID.fullmatch(parent_commit):
        raise ValueError(f"{arg} must be a 5 to 40 character hex commit sha, got {_shown(parent_commit)}")
    return parent_commit


def _repo_path(value: object, arg: str, *, writing: bool, folder: bool) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str, got {_type_name(value)}")
    if "\\" in value:
        raise ValueError(f"{arg} must use '/' between folders, not '\\', got {_shown(value)}")
    if _has_control(value):
        raise ValueError(
            f"{arg} must not contain control characters (NUL, newline, ...), got {_shown(value)}"
        )
    if value.startswith("/"):
        raise ValueError(f"{arg} must be relative to the repo's root (no leading '/'), got {_shown(value)}")
    path = value[2:] if value.startswith("./") else value
    parts = (path[:-1] if folder and path.endswith("/") else path).split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"{arg} must be a path inside the repo without empty, '.' or '..' parts, got {_shown(value)}"
        )
    if writing:
        for forbidden in FORBIDDEN_FOLDERS:
            if forbidden in parts:
                raise ValueError(f"{arg} cannot be under a '{forbidden}/' folder, got {_shown(value)}")
    return path


def validate_path_in_repo(path_in_repo: object, *, arg: str = "path_in_repo", folder: bool = False) -> str:
    """A path to write in a repo, returned without a leading `./` (as huggingface_hub does).

    Relative to the repo's root, `/`-separated, with no empty, `.` or `..` part, no control character and
    nothing under `.git/` or `.cache/`. With `folder`, one trailing `/` is allowed (a folder to delete).
    """
    return _repo_path(path_in_repo, arg, writing=True, folder=folder)


def validate_filename(filename: object, *, arg: str = "filename") -> str:
    """A path of a file to read from a repo: relative, `/`-separated, no empty, `.` or `..` part."""
    return _repo_path(filename, arg, writing=False, folder=False)


# --- Space settings -------------------------------------------------------------------------------------


def enum_value(value: object, *, arg: str) -> str:
    """A plain string for a `str` or a `str`-valued enum member (ours or huggingface_hub's), checked
    non-empty, without surrounding spaces or control characters."""
    if isinstance(value, enum.Enum):
        value = value.value
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str or a str enum, got {_type_name(value)}")
    if not value or value != value.strip() or _has_control(value):
        raise ValueError(
            f"{arg} must be a non-empty string without surrounding spaces or control characters, "
            f"got {_shown(value)}"
        )
    return value


def validate_hardware(hardware: object, *, arg: str = "hardware") -> str:
    """A hardware flavor name (`t4-small`, or a `SpaceHardware` member): letters, digits, `-`, `_`, `.`."""
    value = enum_value(hardware, arg=arg)
    if not _FLAVOR.fullmatch(value):
        raise ValueError(
            f"{arg} must be a hardware flavor such as 'cpu-basic' or 't4-small', got {_shown(value)}"
        )
    return value


def validate_storage(storage: object, *, arg: str = "storage") -> str:
    """A persistent-storage tier: `small`, `medium` or `large`."""
    value = enum_value(storage, arg=arg)
    if value not in STORAGE_TIERS:
        raise ValueError(f"{arg} must be one of {', '.join(STORAGE_TIERS)}, got {_shown(value)}")
    return value


def validate_sleep_time(sleep_time: object, *, arg: str = "sleep_time") -> int:
    """Seconds of inactivity before a Space sleeps: an int >= 0, or -1 for never.

    A string of decimal digits (`"7200"`, as the "Manage your Space" guide writes it) is read as that int;
    any other string (`"abc"`, `"1.5"`, `" 60"`) raises `ValueError`, as do negatives other than -1.
    """
    if isinstance(sleep_time, str):
        if not _SLEEP_DIGITS.fullmatch(sleep_time):
            raise ValueError(
                f"{arg} must be a whole number of seconds (an int or a string of digits, or -1 for never), "
                f"got {_shown(sleep_time)}"
            )
        sleep_time = int(sleep_time)
    if isinstance(sleep_time, bool) or not isinstance(sleep_time, int):
        raise TypeError(f"{arg} must be an int (seconds, or -1 for never), got {_type_name(sleep_time)}")
    if sleep_time < -1:
        raise ValueError(f"{arg} must be -1 (never sleep) or a number of seconds >= 0, got {sleep_time}")
    return sleep_time


def validate_key(key: object, *, arg: str = "key") -> str:
    """A secret or variable key: an environment-variable name (letters, digits and `_`, not starting with a
    digit), as the Hub requires: the key becomes an environment variable of the Space."""
    if not isinstance(key, str):
        raise TypeError(f"{arg} must be a str, got {_type_name(key)}")
    if not _ENV_NAME.fullmatch(key):
        raise ValueError(
            f"{arg} must be an environment-variable name (letters, digits and '_', not starting with a "
            f"digit), got {_shown(key)}"
        )
    return key


def validate_value(value: object, *, arg: str = "value") -> str:
    """A secret or variable value: a string (may be empty). The value itself never appears in a message."""
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str, got {_type_name(value)}")
    return value


def validate_optional_str(value: object, *, arg: str) -> str | None:
    """None or a string."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{arg} must be a str or None, got {_type_name(value)}")
    return value


def validate_bool(value: object, *, arg: str, optional: bool = False) -> bool:
    """A bool (not merely truthy: `"no"` is not False); with `optional`, None too, meaning False."""
    if optional and value is None:
        return False
    if not isinstance(value, bool):
        raise TypeError(f"{arg} must be a bool{' or None' if optional else ''}, got {_type_name(value)}")
    return value


# --- numbers --------------------------------------------------------------------------------------------


def validate_concurrency(value: object, *, arg: str = "concurrency") -> int:
    """A positive int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg} must be a positive int, got {_type_name(value)}")
    if value < 1:
        raise ValueError(f"{arg} must be a positive int, got {value}")
    return value


def validate_seconds(value: object, *, arg: str, allow_zero: bool = False) -> float:
    """A finite number of seconds, > 0 (or >= 0 with `allow_zero`): never NaN, an infinity or negative."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{arg} must be a number of seconds, got {_type_name(value)}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{arg} must be a finite number of seconds {bound}, got {value!r}")
    return float(value)


def validate_timeout(value: object, *, arg: str = "timeout", allow_zero: bool = False) -> float | None:
    """None (no timeout) or a finite number of seconds, > 0 (or >= 0 with `allow_zero`)."""
    if value is None:
        return None
    return validate_seconds(value, arg=arg, allow_zero=allow_zero)


# --- configuration --------------------------------------------------------------------------------------


def validate_token_text(token: str, *, source: str | None) -> None:
    """A token must be printable ASCII without spaces to go into the `Authorization` header.

    The message names where the token came from and never shows it.
    """
    if not all("!" <= c <= "~" for c in token):
        where = {"argument": "token", "env": "HF_TOKEN (the environment)", "file": "the token file"}
        raise ValueError(
            f"{where.get(source or '', 'token')} holds a token with spaces, control or non-ASCII characters, "
            "which cannot be sent in an HTTP header (the token is not shown)"
        )


def validate_call_token(token: object, *, own: str | None) -> None:
    """Check the `token` argument of a method ported from `HfApi` against the client's own token.

    A client calls the Hub as one identity: its connection pool, rate-limit state and action fences belong to
    that token, so a single call cannot switch to another. None and True (`HfApi`'s "the saved token") mean
    the client's own token; a string equal to it is accepted, and so is False on a client that sends no
    token. Anything else raises. No message shows a token.

    Args:
        token: the argument as passed.
        own: the token the client sends (None: it sends none).

    Raises:
        TypeError: `token` is not a str, a bool or None.
        ValueError: `token` names another identity than the client's.
    """
    if token is None or token is True:
        return
    if isinstance(token, bool):
        if own is None:
            return
        raise ValueError(
            "token=False asks for a call without a token, but this client sends its token with every call: "
            "create a SpacesClient(token=False) for anonymous calls"
        )
    if not isinstance(token, str):
        raise TypeError(f"token must be a str, a bool or None, got {_type_name(token)}")
    # Cleaned as the client's own token was (a token read from a file may end with a newline).
    given = token.replace("\r", "").replace("\n", "").strip()
    if own is not None and hmac.compare_digest(given.encode(), own.encode()):
        return
    raise ValueError(
        "token must be this client's own token (or None): a client calls the Hub as one identity, with one "
        "connection pool and one rate-limit state, so create a SpacesClient with that token for the calls "
        "made with it (the token is not shown)"
    )


def validate_endpoint(value: object, *, arg: str = "endpoint") -> str:
    """An http(s) base URL with a host and no credentials, query or fragment, without its trailing slash.

    Credentials in the URL (`https://user:pw@host`) are refused: the HTTP stack would send them as Basic
    auth instead of the token, so every call would be anonymous. The URL is never echoed when it has them.
    """
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a str, got {_type_name(value)}")
    if "@" in value:
        try:
            credentials = bool(urlsplit(value).username is not None)
        except ValueError:
            credentials = True
        if credentials:
            raise ValueError(
                f"{arg} must not contain credentials ('user:password@host'): they would be sent instead of "
                "the token; pass the token as token= or HF_TOKEN"
            )
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and not parts.query and not parts.fragment and "@" not in parts.netloc
    except ValueError:
        valid = False
    # urlsplit drops tabs and newlines silently; the value itself is what would go into every URL.
    if not valid or _has_control(value) or any(c.isspace() for c in value):
        shown = "<a URL with '@'>" if "@" in value else _shown(value)
        raise ValueError(f"{arg} must be an http(s) URL such as 'https://huggingface.co', got {shown}")
    return value.rstrip("/")


# An HTTP header name (RFC 9110 `token`).
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def validate_client_options(
    *, timeout: object, transport: object, headers: object, user_agent: object
) -> None:
    """The client's HTTP options: each would otherwise fail inside the HTTP stack, on the first request.

    Raises:
        TypeError, ValueError: naming `timeout` (None, a finite number of seconds > 0, or an `httpx2.Timeout`
            whose parts are), `transport`, `headers` (str names and values, no line breaks) or `user_agent`.
    """
    if isinstance(timeout, httpx2.Timeout):
        for part in ("connect", "read", "write", "pool"):
            validate_timeout(getattr(timeout, part), arg=f"timeout.{part}")
    else:
        validate_timeout(timeout)
    if transport is not None and not isinstance(transport, httpx2.AsyncBaseTransport):
        raise TypeError(
            f"transport must be an httpx2.AsyncBaseTransport or None, got {_type_name(transport)}"
        )
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise TypeError(f"headers must be a mapping of str to str, got {_type_name(headers)}")
        for name, value in headers.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("headers must be a mapping of str to str")
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"headers has an invalid header name {_shown(name)}")
            if _has_control(value.replace("\t", " ")):
                # The value is not shown: extra headers often carry credentials.
                raise ValueError(f"headers[{name!r}] must not contain line breaks or control characters")
    if user_agent is not None:
        if not isinstance(user_agent, str):
            raise TypeError(f"user_agent must be a str or None, got {_type_name(user_agent)}")
        if _has_control(user_agent):
            raise ValueError(f"user_agent must not contain control characters, got {_shown(user_agent)}")
