"""Deciding a Space build's outcome from its files, as the real Hub would.

Pure functions, no I/O: given the Space's files at the built commit and its SDK, say which stage the build
ends in, with the build log and run log the Hub would show. User code is only ever *compiled* (never run):
a syntax error in `app.py` is the simulated runtime crash.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping

import attrs

SDKS: tuple[str, ...] = ("gradio", "streamlit", "docker", "static")  # hub-api.md §13.4

APP_DIR = "/home/user/app"


@attrs.frozen
class BuildPlan:
    """What a build will produce.

    Attributes:
        outcome: Final stage: RUNNING, NO_APP_FILE, CONFIG_ERROR, BUILD_ERROR or RUNTIME_ERROR.
        sdk: The SDK the build used (README front matter wins over the repo's creation SDK).
        build_log: Build log lines (each ends with a newline).
        run_log: Run log lines of the started app (each ends with a newline).
        error_message: The runtime's `errorMessage` for failure stages.
    """

    outcome: str
    sdk: str
    build_log: tuple[str, ...] = ()
    run_log: tuple[str, ...] = ()
    error_message: str | None = None

    @property
    def built_log(self) -> tuple[str, ...]:
        """The build log when the image builds (the app may still crash at start), else empty."""
        return self.build_log if self.outcome in ("RUNNING", "RUNTIME_ERROR") else ()


FAILURE_PHASES: tuple[str, ...] = ("build", "start", "schedule", "config")

# Observed on huggingface.co Spaces pages (stage RUNTIME_ERROR, `errorMessage` as the Hub words it): the
# scheduler found no machine for the Space's hardware. The container never started, so the run log is empty.
SCHEDULING_FAILURE = "Scheduling failure: not enough hardware capacity"


@attrs.frozen
class ForcedFailure:
    """How the next build of a Space fails, whatever its files say (a test control).

    Attributes:
        phase: `build` (BUILD_ERROR; `logs` are the build log), `start` (the build succeeds, then the app
            crashes: RUNTIME_ERROR; `logs` are the run log), `schedule` (the build succeeds, then no machine
            can run it: RUNTIME_ERROR with no run log), or `config` (CONFIG_ERROR at once, no build).
        logs: Log lines of the failing phase (each ends with a newline).
        message: The runtime's `errorMessage`.
    """

    phase: str
    logs: tuple[str, ...]
    message: str

    def apply(self, plan: BuildPlan) -> BuildPlan:
        """The plan of a build of the same files that fails this way."""
        if self.phase == "build":
            return BuildPlan("BUILD_ERROR", plan.sdk, build_log=self.logs, error_message=self.message)
        if self.phase == "config":
            return BuildPlan("CONFIG_ERROR", plan.sdk, error_message=self.message)
        run_log = ("\n", *self.logs) if self.phase == "start" else ()
        return BuildPlan(
            "RUNTIME_ERROR", plan.sdk, build_log=plan.build_log, run_log=run_log, error_message=self.message
        )


_QUOTED = re.compile(r"""^(?:'(?:[^']|'')*'|"(?:[^"\\]|\\.)*")""")


def without_comment(value: str) -> str:
    """A top-level front matter value without its trailing YAML comment (YAML 1.2: a `#` after whitespace, or
    at the start, opens a comment; inside quotes it is text), still quoted if it was."""
    quoted = _QUOTED.match(value)
    if quoted is not None:
        return quoted.group(0)
    return re.sub(r"(?:^|\s)#.*$", "", value).strip()


def parse_front_matter(readme: str) -> dict[str, str] | None:
    """The top-level `key: value` pairs of a README's YAML front matter, or None if it has none.

    Only scalar top-level keys are read (enough for `sdk`, `app_file`, `title`, ...); nested values and
    lists are kept as their raw text. Quotes around scalars and trailing comments are removed.

    Raises:
        ValueError: the front matter is opened but never closed, or a top-level line is not `key: value`.
    """
    text = readme.lstrip("\ufeff")
    if not text.startswith("---"):
        return None
    lines = text.splitlines()
    if lines[0].strip() != "---":
        return None
    out: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() == "---":
            return out
        if not line.strip() or line.lstrip().startswith("#") or line[0] in " \t-":
            continue
        key, sep, value = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", key.strip()):
            raise ValueError(f"invalid YAML line in README.md front matter: {line!r}")
        value = without_comment(value.strip())
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    raise ValueError("README.md front matter is not closed by '---'")


_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_EXTRAS = rf"\[\s*(?:{_NAME}(?:\s*,\s*{_NAME})*)?\s*\]"
_VERSION_ONE = r"(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9*][A-Za-z0-9_.*+!-]*"
_VERSIONS = rf"{_VERSION_ONE}(?:\s*,\s*{_VERSION_ONE})*"
_REQUIREMENT = re.compile(
    rf"^(?P<name>{_NAME})\s*(?P<extras>{_EXTRAS})?\s*"
    rf"(?:(?:\((?:{_VERSIONS})\)|{_VERSIONS})?\s*(?:;\s*\S.*)?|@\s*\S+\s*(?:;\s*\S.*)?)$"
)
_NAME_PREFIX = re.compile(rf"^{_NAME}\s*(?:{_EXTRAS})?")


def invalid_requirement(line: str) -> str | None:
    """Why `line` of a requirements.txt is not a valid requirement, as pip words it; None when valid."""
    stripped = re.sub(r"(^|\s)#.*$", "", line).strip()
    if not stripped or stripped.startswith("-"):
        return None  # blank, comment, or a pip option (-r, -e, --extra-index-url, ...)
    if re.match(r"^(?:[a-z][a-z0-9+.-]*://|git\+|\.{0,2}/)", stripped) or stripped.endswith(
        (".whl", ".tar.gz")
    ):
        return None  # a URL or a local path
    if _REQUIREMENT.match(stripped):
        return None
    prefix = _NAME_PREFIX.match(stripped)
    if prefix is None:
        return "Expected package name at the start of dependency specifier"
    return "Expected end or semicolon (after name and no valid version specifier)"


# Dockerfile reference: every instruction a Dockerfile may hold (case-insensitive).
DOCKERFILE_INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip


def dockerfile_error(text: str) -> str | None:
    """Why BuildKit refuses to parse this Dockerfile, in its words; None when every instruction is known.

    Only the instruction words are checked (continuation lines, comments and parser directives are skipped):
    enough to tell a typo such as `RUNN` from a Dockerfile that builds.
    """
    seen_from = False
    continued = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        was_continued, continued = continued, line.endswith("\\")
        if was_continued or not line or line.startswith("#"):
            continue
        word = line.split(None, 1)[0].upper()
        if word not in DOCKERFILE_INSTRUCTIONS:
            return f"dockerfile parse error on line {number}: unknown instruction: {line.split(None, 1)[0]}"
        if word == "FROM":
            seen_from = True
        elif word != "ARG" and not seen_from:
            break
    return None if seen_from else "no build stage in current context"


def _compile_error(source: bytes, app_file: str) -> str | None:
    """The Python traceback text if `source` does not compile, else None (the code is never executed)."""
    try:
        compile(source, f"{APP_DIR}/{app_file}", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        # CPython itself gives up on some sources (too deeply nested, too large): the app would crash the
        # same way at startup, so these are runtime errors too, never a simulator failure.
        return "Traceback (most recent call last):\n" + "".join(traceback.format_exception_only(exc))
    return None


def plan_build(
    files: Mapping[str, bytes],
    repo_sdk: str | None,
    *,
    commit_sha: str = "",
) -> BuildPlan:
    """Decide how a build of a Space with these files ends (see module docstring for the rules).

    Args:
        files: The Space's files at the built commit (path → content).
        repo_sdk: The SDK given when the Space was created (used when README has no `sdk`).
        commit_sha: Shown in the build log header.
    """
    readme = files.get("README.md")
    card: dict[str, str] = {}
    if readme is not None:
        try:
            card = parse_front_matter(readme.decode("utf-8", "replace")) or {}
        except ValueError as exc:
            return BuildPlan("CONFIG_ERROR", repo_sdk or "gradio", error_message=f"Invalid README.md: {exc}")
    sdk = card.get("sdk") or repo_sdk or ""
    if sdk not in SDKS:
        # Observed on huggingface.co: an unknown sdk in the card is a configuration error (no build runs).
        # `POST /api/validate-yaml` refuses such a card before a client uploads it (`_routes_account.py`):
        # only a commit sent without that call, or a Space created with it, gets here.
        return BuildPlan(
            "CONFIG_ERROR",
            sdk,
            error_message=f"Invalid sdk {sdk!r} in README.md metadata: must be one of {', '.join(SDKS)}",
        )
    if sdk == "static":
        return BuildPlan("RUNNING", sdk)
    app_file = "Dockerfile" if sdk == "docker" else card.get("app_file") or "app.py"
    if app_file not in files:
        return BuildPlan("NO_APP_FILE", sdk)

    header = f"===== Build Queued / Commit SHA: {commit_sha[:7] or 'unknown'} =====\n"
    log = [header, "\n", "--> FROM docker.io/library/python:3.10@sha256:6b3d5c8b1a0e\n", "DONE 0.0s\n", "\n"]
    if sdk == "docker":
        log.append("--> Building Dockerfile\n")
        problem = dockerfile_error(files[app_file].decode("utf-8", "replace"))
        if problem is not None:
            log += [f"ERROR: failed to solve: {problem}\n"]
            # [inferred] the same summary as a failed RUN step: the build stops with exit code 1.
            return BuildPlan(
                "BUILD_ERROR", sdk, build_log=tuple(log), error_message="Build failed with exit code: 1"
            )
        log.append("DONE 8.2s\n")
    else:
        log += ["--> RUN pip install --no-cache-dir pip -U\n", "DONE 2.1s\n", "\n"]
        requirements = files.get("requirements.txt")
        if requirements is not None and _install_requirements(requirements, log) is not None:
            return BuildPlan(
                "BUILD_ERROR", sdk, build_log=tuple(log), error_message="Build failed with exit code: 1"
            )
        sdk_pkg = "gradio" if sdk == "gradio" else "streamlit"
        log += ["\n", f"--> RUN pip install --no-cache-dir {sdk_pkg}\n", "DONE 9.8s\n"]
    log += ["\n", "--> Pushing image\n", "DONE 3.0s\n", "\n", "--> Exporting cache\n", "DONE 0.6s\n"]

    run = ["\n"]
    if app_file.endswith(".py"):
        tb = _compile_error(files[app_file], app_file)
        if tb is not None:
            run += [line + "\n" for line in tb.rstrip("\n").split("\n")]
            last = tb.rstrip("\n").rsplit("\n", 1)[-1]
            return BuildPlan(
                "RUNTIME_ERROR",
                sdk,
                build_log=tuple(log),
                run_log=tuple(run),
                error_message=f"Exit code: 1. Reason: {last}",
            )
    run += _started_lines(sdk)
    return BuildPlan("RUNNING", sdk, build_log=tuple(log), run_log=tuple(run))


def _install_requirements(requirements: bytes, log: list[str]) -> str | None:
    """Append the `pip install -r requirements.txt` step to `log`; return the first invalid line's reason
    (the step then ends in pip's error, as the Hub's build log shows it), or None when every line is valid."""
    cmd = "pip install --no-cache-dir -r requirements.txt"
    log.append(f"--> RUN {cmd}\n")
    for number, line in enumerate(requirements.decode("utf-8", "replace").splitlines(), start=1):
        reason = invalid_requirement(line)
        if reason is None:
            continue
        text = line.strip()
        prefix = _NAME_PREFIX.match(text)
        caret = len(prefix.group(0)) if prefix else 0
        log += [
            f"ERROR: Invalid requirement: {text!r}: {reason}\n",
            f"    {text}\n",
            f"    {' ' * caret}^ (from line {number} of requirements.txt)\n",
            "\n",
            f'--> ERROR: process "/bin/sh -c {cmd}" did not complete successfully: exit code: 1\n',
        ]
        return reason
    log += ["Successfully installed requirements\n", "DONE 11.4s\n"]
    return None


def _started_lines(sdk: str) -> list[str]:
    """The run log lines an app of this SDK prints once it listens."""
    if sdk == "gradio":
        return [
            "* Running on local URL:  http://0.0.0.0:7860, with SSR ⚡\n",
            "\n",
            "To create a public link, set `share=True` in `launch()`.\n",
        ]
    if sdk == "streamlit":
        return [
            "\n",
            "  You can now view your Streamlit app in your browser.\n",
            "\n",
            "  URL: http://0.0.0.0:8501\n",
        ]
    return ["Application started on port 7860\n"]
