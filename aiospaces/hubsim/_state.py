"""`HubState`: the simulated Hub's data and the operations its routes call.

Users, tokens, repos' metadata and every Space's settings and lifecycle live here; file content lives in the
`GitStore`. One re-entrant lock guards it all: the dispatcher takes it around each (synchronous) route
handler, and the seeding and control methods of `SimulatedHub` take it too, so a socket server's thread
and a test's own calls can share one hub.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import anyio

from ._builds import BuildPlan, parse_front_matter, plan_build
from ._clock import ManualClock, SpeedClock
from ._control import Counters
from ._git_common import MSG_REPO_NOT_FOUND, URL_PREFIX
from ._git_store import GitStore
from ._hardware import FREE_HARDWARE
from ._http import HubError, SimRequest
from ._records import RepoRecord, Role, TokenInfo, User, subdomain_of, valid_repo_name
from ._space import STARTING_STAGES, Durations, SecretEntry, SpaceState, iso

T = TypeVar("T")

MSG_BAD_TOKEN = "Invalid credentials in Authorization header"  # special-cased by the client (hub-api.md §3.1)
MSG_DISABLED = "Access to this resource is disabled."  # matched verbatim by the client (DisabledRepoError)

# How stale runtime reads of the current request must be (a `stale_runtime` fault), in hub seconds.
_STALE: contextvars.ContextVar[float | None] = contextvars.ContextVar("hubsim_stale", default=None)
# How long a hardware request of the current request stays unscheduled, and the `errorMessage` shown
# meanwhile (an `unscheduled_hardware` fault).
_UNSCHEDULED: contextvars.ContextVar[tuple[float, str | None] | None] = contextvars.ContextVar(
    "hubsim_unscheduled", default=None
)


class HubState:
    """The Hub's data, its clock, and the operations route handlers call (all synchronous).

    Args:
        clock: Any object with `now() -> float`, `None` (real time times `speed`) or `"manual"`.
        speed: Simulated seconds per real second when `clock` is None.
    """

    def __init__(self, clock: Any = None, *, speed: float = 1.0) -> None:
        if clock is None:
            clock = SpeedClock(speed)
        elif clock == "manual":
            clock = ManualClock()
        elif not callable(getattr(clock, "now", None)):
            raise TypeError("clock must have a now() -> float method")
        self.clock: Any = clock
        self._epoch = time.time() - float(clock.now())
        self._lock = threading.RLock()
        self.git = GitStore(now=self.now)
        self.counters = Counters()
        self.default_durations = Durations()
        self.list_page_size = 1000  # server page size of list endpoints when `limit` is not given
        self.sse_keepalive = 30.0  # seconds of silence between log keep-alives (real seconds under `speed`)
        self.sse_poll = 1.0  # how often (hub seconds) a following log stream re-checks the Space
        # Machines per flavor (`SimulatedHub.set_hardware_capacity`); a flavor not listed has enough.
        self.hardware_capacity: dict[str, int] = {}
        self._users: dict[str, User] = {}
        self._tokens: dict[str, TokenInfo] = {}
        # Keyed by `_fold`: the Hub finds a repo whatever the case of its id; the record keeps the casing
        # it was created with, which is what answers show.
        self._repos: dict[tuple[str, str], RepoRecord] = {}

    # ------------------------------------------------------------------------------------------ time
    def now(self) -> float:
        """The hub clock, in seconds."""
        return float(self.clock.now())

    def wall(self, t: float | None = None) -> str:
        """ISO timestamp (Hub format) of hub time `t` (default: now)."""
        return iso(self._epoch + (self.now() if t is None else t))

    def wall_at(self, t: float) -> str:
        """ISO time of hub time `t` as the Hub prints it."""
        return iso(self._epoch + t)

    def epoch_time(self) -> float:
        """The current hub time as a Unix timestamp (for the `Date` header)."""
        return self._epoch + self.now()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (1 for external clocks)."""
        return float(getattr(self.clock, "speed", 1.0))

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of hub time (the clock's own `sleep` if it has one)."""
        sleep = getattr(self.clock, "sleep", None)
        if sleep is not None:
            await sleep(seconds)
        else:
            await anyio.sleep(max(0.0, seconds))

    # -------------------------------------------------------------------------------------- accounts
    def add_user(
        self,
        name: str,
        token: str | None = None,
        *,
        orgs: Sequence[str] = (),
        role: Role = "write",
        pro: bool = True,
        fullname: str | None = None,
    ) -> str:
        """Create a user (and the orgs it belongs to) with one access token; returns the token.

        Args:
            name: User name (a valid Hub namespace).
            token: The token string; generated (`hf_...`) when None.
            orgs: Organizations the user is a member of (created if needed); the user may write there.
            role: `"write"` or `"read"` (a read token gets 403 on every write).
            pro: PRO plan (dev mode needs it).
            fullname: The display name `whoami` answers (defaults to `name`).
        """
        if fullname is not None and (not isinstance(fullname, str) or not fullname.strip()):
            raise ValueError("fullname must be a non-empty str")
        if not isinstance(name, str) or not valid_repo_name(name):
            raise ValueError(f"name must be a valid Hub user name, got {name!r}")
        if isinstance(orgs, str):
            raise TypeError("orgs must be a sequence of organization names, not a str")
        for org in orgs:
            if not isinstance(org, str) or not valid_repo_name(org):
                raise ValueError(f"orgs must hold valid organization names, got {org!r}")
        with self._lock:
            user = self._users.get(name)
            if user is None:
                user = User(name=name, orgs=tuple(orgs), is_pro=pro)
                self._users[name] = user
            elif user.is_org:
                raise ValueError(f"{name!r} is an organization")
            else:
                user.orgs = tuple(dict.fromkeys((*user.orgs, *orgs)))
                user.is_pro = pro
            if fullname is not None:
                user.fullname = fullname
            for org in orgs:
                self._users.setdefault(org, User(name=org, is_org=True))
            return self.add_token(name, token, role=role)

    def add_org(
        self, name: str, *, fullname: str | None = None, private_repos_by_default: bool | None = None
    ) -> None:
        """Create an organization, or change one (members join it through `add_user(orgs=...)`).

        Args:
            name: Organization name (a valid Hub namespace).
            fullname: The display name `whoami` shows for it (defaults to `name`).
            private_repos_by_default: Make repos created in the org private unless the request says
                otherwise, as Enterprise orgs can (huggingface_hub 2.4 `hf_api.py`, `create_repo`: "the repo
                will be public unless the organization's default is private").
        """
        if not isinstance(name, str) or not valid_repo_name(name):
            raise ValueError(f"name must be a valid Hub organization name, got {name!r}")
        if fullname is not None and (not isinstance(fullname, str) or not fullname.strip()):
            raise ValueError("fullname must be a non-empty str")
        if private_repos_by_default is not None and not isinstance(private_repos_by_default, bool):
            raise TypeError("private_repos_by_default must be a bool")
        with self._lock:
            org = self._users.setdefault(name, User(name=name, is_org=True))
            if not org.is_org:
                raise ValueError(f"{name!r} is a user, not an organization")
            if fullname is not None:
                org.fullname = fullname
            if private_repos_by_default is not None:
                org.private_repos_by_default = private_repos_by_default

    def add_token(self, user: str, token: str | None = None, *, role: Role = "write") -> str:
        """Give an existing user one more token; returns it."""
        if role not in ("read", "write"):
            raise ValueError(f"role must be 'read' or 'write', got {role!r}")
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty str")
        with self._lock:
            owner = self._users.get(user)
            if owner is None or owner.is_org:
                raise ValueError(f"unknown user {user!r}")
            token = token or f"hf_{secrets.token_urlsafe(24)}"
            self._tokens[token] = TokenInfo(owner, role, f"{user}-{role}-{len(self._tokens) + 1}")
            return token

    @property
    def user_count(self) -> int:
        """How many users and orgs the hub knows."""
        return len(self._users)

    # ------------------------------------------------------------------------------------------ auth
    def caller(self, req: SimRequest) -> TokenInfo | None:
        """The token's owner, None when anonymous (401 for an unknown token)."""
        token = req.token
        if token is None:
            return None
        info = self._tokens.get(token)
        if info is None:
            raise HubError(401, MSG_BAD_TOKEN, error_message=MSG_BAD_TOKEN)
        return info

    def username_of(self, req: SimRequest) -> str | None:
        """The caller's user name (a commit's author), None when anonymous."""
        caller = self.caller(req)
        return caller.user.name if caller is not None else None

    def user(self, name: str) -> User | None:
        """A user or org by name."""
        return self._users.get(name)

    @staticmethod
    def is_member(user: User, namespace: str) -> bool:
        """Whether `namespace` is the user's own or one of its orgs."""
        return user.name == namespace or namespace in user.orgs

    def can_read(self, caller: TokenInfo | None, repo: RepoRecord) -> bool:
        """Whether the caller sees the repo (public, or private in one of the caller's namespaces)."""
        if repo.visibility != "private":
            return True
        return caller is not None and self.is_member(caller.user, repo.namespace)

    def authorize_repo(self, req: SimRequest, repo_type: str, repo_id: str, *, write: bool) -> None:
        """Raise the Hub's error unless the caller may read (or write) the repo.

        401 for a bad token; 404 `RepoNotFound` for a missing or invisible repo (401 + `RepoNotFound` when
        anonymous, hub-api.md §3.2); 403 when a visible repo is not the caller's or the token is read-only.
        """
        caller = self.caller(req)
        repo = self._repos.get(_fold(repo_type, repo_id))
        if repo is None or not self.can_read(caller, repo):
            raise HubError(401 if caller is None else 404, MSG_REPO_NOT_FOUND, error_code="RepoNotFound")
        if repo.disabled:
            # huggingface_hub 2.4 `errors.py` (`DisabledRepoError`: "403 Client Error ... Access to this
            # resource is disabled.") and `utils/_http.py`, which matches that `X-Error-Message` exactly.
            raise HubError(403, MSG_DISABLED, error_message=MSG_DISABLED)
        if write:
            self.require_write(caller, repo.namespace)

    def authorize_pull_request(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        """Raise the Hub's error unless the caller may open a pull request on the repo.

        Reading the repo is enough: huggingface_hub 2.4 `hf_api.py` (`preupload_lfs_files`) leaves the LFS
        batch's `ref` out under `create_pr` because "users with read permission should still be able to
        create PRs even if they don't have write permission on the target branch". Opening one still writes
        on the caller's behalf, so it takes a write token (hub docs, security-tokens: a read token "can only
        be used to provide read access").
        """
        self.authorize_repo(req, repo_type, repo_id, write=False)
        caller = self.caller(req)
        if caller is None:
            raise HubError(401, "You must be authenticated to open a pull request")
        if caller.role != "write":
            raise HubError(403, "You have read access but not the required permissions for this operation.")

    def authorize_download(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        """Raise `GatedRepo` (401 anonymous, else 403) when an outsider asks for a gated repo's file.

        Gating hides a repo's files, not the repo: its info and listings stay readable (hub-api.md §3.1-§3.2,
        `GatedRepoError`; the messages are the Hub's usual ones [inferred]).
        """
        repo = self._repos.get(_fold(repo_type, repo_id))
        if repo is None or not repo.gated:
            return
        caller = self.caller(req)
        if caller is not None and self.is_member(caller.user, repo.namespace):
            return
        if caller is None:
            message = (
                f"Access to {repo_type} {repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in."
            )
            raise HubError(401, message, error_code="GatedRepo")
        message = f"Access to {repo_type} {repo_id} is restricted and you are not in the authorized list."
        raise HubError(403, message, error_code="GatedRepo")

    def require_write(self, caller: TokenInfo | None, namespace: str) -> TokenInfo:
        """The caller, if its token may write to `namespace`; else the Hub's 401/403."""
        if caller is None:
            raise HubError(401, "You must be authenticated to perform this action")
        if not self.is_member(caller.user, namespace):
            raise HubError(403, f"You don't have the rights to write to the '{namespace}' namespace")
        if caller.role != "write":
            raise HubError(403, "You have read access but not the required permissions for this operation.")
        return caller

    # ----------------------------------------------------------------------------------------- repos
    def set_disabled(self, repo_id: str, *, repo_type: str = "model", disabled: bool = True) -> None:
        """Disable a repo (or enable it again): every request naming it answers the Hub's 403.

        Raises:
            KeyError: no such repo.
        """
        with self._lock:
            repo = self._repos.get(_fold(repo_type, repo_id))
            if repo is None:
                raise KeyError(f"no {repo_type} {repo_id!r}")
            repo.disabled = bool(disabled)

    def repo(self, repo_type: str, repo_id: str) -> RepoRecord | None:
        """A repo's record, or None."""
        return self._repos.get(_fold(repo_type, repo_id))

    def repos(self, repo_type: str | None = None) -> list[RepoRecord]:
        """Every repo (of one type), in creation order."""
        return [r for r in self._repos.values() if repo_type is None or r.repo_type == repo_type]

    def readable_repo(
        self, req: SimRequest, repo_type: str, repo_id: str, *, write: bool = False
    ) -> RepoRecord:
        """The repo, settled to now, after `authorize_repo`."""
        self.authorize_repo(req, repo_type, repo_id, write=write)
        repo = self._repos[_fold(repo_type, repo_id)]
        self.settle(repo)
        return repo

    def new_repo(
        self,
        repo_type: str,
        repo_id: str,
        *,
        visibility: str,
        files: Mapping[str, bytes],
        sdk: str | None = None,
        author: str | None = None,
    ) -> RepoRecord:
        """Create a repo (a Space when `repo_type == "space"`) with one initial commit of `files`."""
        key = (repo_type, repo_id)
        if _fold(*key) in self._repos:
            raise ValueError(f"{repo_type} {repo_id!r} already exists")
        now = self.now()
        self.git.create_repo(key, initial_files=dict(files), author=author or repo_id.split("/")[0])
        record = RepoRecord(repo_type, repo_id, secrets.token_hex(12), now, visibility)
        if repo_type == "space":
            record.space = SpaceState(sdk=sdk or "gradio", subdomain=subdomain_of(repo_id))
            record.space.requested = None if sdk == "static" else FREE_HARDWARE
            record.space.last_active = now
            record.space.snapshot(now)
        self._repos[_fold(*key)] = record
        self.counters.actions["create_repo"] += 1
        return record

    def copy_repo(self, source: RepoRecord, target: str, *, visibility: str, author: str) -> RepoRecord:
        """Duplicate a repo's files to `target`; a Space copy keeps its SDK and variables, never secrets."""
        self.git.copy_repo(source.key, (source.repo_type, target), author=author)
        now = self.now()
        record = RepoRecord(source.repo_type, target, secrets.token_hex(12), now, visibility)
        if source.space is not None:
            space = SpaceState(sdk=source.space.sdk, subdomain=subdomain_of(target))
            space.requested = None if space.is_static else FREE_HARDWARE
            # Variables are public configuration and are carried over; secrets never are.
            for key, entry in source.space.variables.items():
                space.variables[key] = SecretEntry(entry.value, entry.description, now)
            record.space = space
        self._repos[_fold(*record.key)] = record
        return record

    def remove_repo(self, repo_type: str, repo_id: str) -> None:
        """Delete a repo and its files; KeyError when there is none."""
        if self._repos.pop(_fold(repo_type, repo_id), None) is None:
            raise KeyError(f"no {repo_type} {repo_id!r}")
        self.git.delete_repo((repo_type, repo_id))

    def rename_repo(self, repo: RepoRecord, target: str) -> None:
        """Move a repo to `target` with its history and settings (a Space gets the new subdomain)."""
        self.git.rename_repo(repo.key, (repo.repo_type, target))
        del self._repos[_fold(*repo.key)]
        repo.repo_id = target
        if repo.space is not None:
            repo.space.subdomain = subdomain_of(target)
            repo.space.snapshot(self.now())
        self._repos[_fold(*repo.key)] = repo

    def repo_url(self, req: SimRequest, repo_type: str, repo_id: str) -> str:
        """Web URL of a repo on this server (`{base}/spaces/ns/name`)."""
        return f"{req.base_url}/{URL_PREFIX[repo_type]}{repo_id}"

    def card_data(self, repo: RepoRecord) -> dict[str, Any] | None:
        """README front matter of the repo (its `cardData`)."""
        readme = self.git.read_file(repo.key, "README.md")
        if readme is None:
            return None
        try:
            card = parse_front_matter(readme.decode("utf-8", "replace"))
        except ValueError:
            return None
        if not card:
            return None
        out: dict[str, Any] = {}
        for key, value in card.items():
            # YAML scalars: booleans and integers are not strings in the Hub's cardData.
            if value in ("true", "false"):
                out[key] = value == "true"
            elif re.fullmatch(r"-?\d+", value):
                out[key] = int(value)
            else:
                out[key] = value
        return out

    # ---------------------------------------------------------------------------------------- spaces
    def settle(self, repo: RepoRecord) -> None:
        """Apply the Space's lifecycle transitions that are due (no-op for other repos)."""
        if repo.space is not None:
            self._settle_space(repo, self.now())

    def space(self, repo_id: str) -> SpaceState:
        """A Space's state, settled to now; KeyError when there is no such Space."""
        repo = self._repos.get(_fold("space", repo_id))
        if repo is None or repo.space is None:
            raise KeyError(f"no space {repo_id!r} on the simulated hub")
        self._settle_space(repo, self.now())
        return repo.space

    def inspect_space(self, repo_id: str, read: Callable[[SpaceState, float], T]) -> T | None:
        """`read(space, now)` on the settled Space under the hub lock; None when the Space is gone.

        For readers outside a route handler (a log stream between its chunks): `read` is synchronous, so
        nothing can wait while the lock is held.
        """
        with self._lock:
            repo = self._repos.get(_fold("space", repo_id))
            if repo is None or repo.space is None:
                return None
            now = self.now()
            self._settle_space(repo, now)
            return read(repo.space, now)

    def _settle_space(self, repo: RepoRecord, now: float) -> None:
        """Settle the Space; one waiting for a machine that is now free gets it (its switch starts now)."""
        space = repo.space
        assert space is not None
        space.settle(now)
        if space.awaiting_capacity and space.requested and not self.capacity_full(space.requested, space):
            space.switch_hardware(
                now, self.durations(space), self.wall_at, rebuild_log=self.rebuild_log(repo)
            )
            self.counters.actions["scheduled"] += 1

    def capacity_full(self, flavor: str, space: SpaceState) -> bool:
        """Whether every machine of `flavor` is taken by other Spaces (never, without a set capacity).

        A machine is taken by a Space running on the flavor (a switch away from it included) and by one on
        its way to run on it (building or starting with it requested); Spaces still waiting take none.
        """
        machines = self.hardware_capacity.get(flavor)
        if machines is None:
            return False
        now = self.now()
        used = 0
        for repo in self._repos.values():
            other = repo.space
            if other is None or other is space:
                continue
            other.settle(now)
            starting = other.requested == flavor and other.stage in STARTING_STAGES
            if other.current == flavor or (starting and not other.awaiting_capacity):
                used += 1
        return used >= machines

    def durations(self, space: SpaceState) -> Durations:
        """The Space's own lifecycle durations, or the hub's defaults."""
        return space.durations or self.default_durations

    def build_plan(self, repo: RepoRecord, commit_sha: str = "") -> BuildPlan:
        """What a build of the Space's current files will produce."""
        assert repo.space is not None
        files = {path: self.git.read_file(repo.key, path) or b"" for path in self.git.list_files(repo.key)}
        return plan_build(files, repo.space.sdk, commit_sha=commit_sha or (self.git.head(repo.key) or ""))

    def rebuild_log(self, repo: RepoRecord) -> tuple[str, ...]:
        """The build log of a rebuild of the Space's current files for a hardware change (empty when the
        image would not build)."""
        return self.build_plan(repo).built_log

    def start_build(self, repo: RepoRecord, *, keep_serving: bool, commit_sha: str = "") -> None:
        """Start a build of the Space from its current files (`keep_serving`: the old app runs meanwhile)."""
        space = repo.space
        assert space is not None
        now = self.now()
        space.settle(now)
        space.start_build(
            now,
            self.build_plan(repo, commit_sha),
            self.durations(space),
            keep_serving=keep_serving,
            wall=self.wall_at,
        )
        self.counters.actions["build"] += 1

    def after_commit(self, repo_type: str, repo_id: str, commit_sha: str) -> None:
        """Called by the file routes after a commit to `main`: a Space rebuilds from its new files."""
        with self._lock:
            repo = self._repos.get(_fold(repo_type, repo_id))
            if repo is None or repo.space is None:
                return
            self.counters.actions["commit"] += 1
            self.settle(repo)
            if repo.space.stage == "PAUSED":
                return  # a paused Space stays paused until its owner restarts it
            if not self._changes_files(repo, commit_sha):
                return  # an empty commit leaves the files, and so the running build, as they were
            space = repo.space
            durations = self.durations(space)
            space.queue_build(self.now(), self.build_plan(repo, commit_sha), durations, wall=self.wall_at)
            self.counters.actions["build"] += 1

    def _changes_files(self, repo: RepoRecord, commit_sha: str) -> bool:
        """Whether the commit's tree differs from its first parent's (README included: it configures)."""
        commit = self.git.resolve(repo.key, commit_sha)
        if not commit.parents:
            return True
        return commit.tree != self.git.resolve(repo.key, commit.parents[0]).tree

    def runtime_json(self, space: SpaceState) -> dict[str, Any]:
        """The Space's runtime as a read answers it (as of a while ago under a `stale_runtime` fault)."""
        stale = _STALE.get()
        if stale:
            return space.runtime_at(self.now() - stale)
        return space.runtime()

    @staticmethod
    @contextlib.contextmanager
    def stale_reads(seconds: float | None) -> Iterator[None]:
        """Make runtime reads in this context answer the state of `seconds` ago (None: current state)."""
        token = _STALE.set(seconds)
        try:
            yield
        finally:
            _STALE.reset(token)

    @staticmethod
    @contextlib.contextmanager
    def unscheduled_hardware(hold: tuple[float, str | None] | None) -> Iterator[None]:
        """Make a hardware request in this context wait `hold[0]` seconds for a machine, showing `hold[1]`."""
        token = _UNSCHEDULED.set(hold)
        try:
            yield
        finally:
            _UNSCHEDULED.reset(token)

    @staticmethod
    def hardware_hold() -> tuple[float, str | None] | None:
        """(seconds unscheduled, errorMessage) for a hardware request now; None: scheduled at once."""
        return _UNSCHEDULED.get()

    def setting_changed(self, space: SpaceState, action: str) -> dict[str, Any]:
        """Record a changed Space setting (runtime snapshot, action counter); the new runtime."""
        space.snapshot(self.now())
        self.counters.actions[action] += 1
        return self.runtime_json(space)


def _fold(repo_type: str, repo_id: str) -> tuple[str, str]:
    """A repo's key regardless of case (`alice/MyRepo` is found as `alice/myrepo`)."""
    return (repo_type, repo_id.lower())
