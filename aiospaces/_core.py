"""The Space operations of `SpacesClient`: Space info and listing, secrets and variables, runtime (hardware,
sleep time, pause, restart, storage, volumes, dev mode) and logs.

Each public method is build (`_wire`) → send (`Session.request`) → parse (`_wire`/`models`). Arguments are
validated before any request. Names and argument names follow huggingface_hub 2.4's `HfApi` (`token` must
be the client's own, see `_check_token`); `request_space_storage` and `delete_space_storage`, which that
release removed, follow hub-api.md §16. The actions a later wait must not see "from before" (hardware
request, restart, pause) record their fence in `Session.fences` themselves.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from typing import Any

import anyio

from . import _wire, errors, validation
from ._repos import RepoOperations, _redacting
from ._retry import Failure, Outcome, Retrying, RetryPolicy
from .models import (
    SpaceHardwareInfo,
    SpaceInfo,
    SpaceRuntime,
    SpaceSecret,
    SpaceVariable,
    stage_name,
)

logger = logging.getLogger("aiospaces")


# Log following reconnects after a cut or a silent stream: 5 times, 1-2 s apart at first, doubling, at most
# 10 s; the count restarts whenever a line arrives. Without follow, the stream is read once.
_LOG_FOLLOW = RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=10.0)
_NO_RETRY = RetryPolicy(max_attempts=1, max_rate_limited=0)
# Without follow: seconds of silence after the first line that mean the Hub's buffered log is drained (it
# sends the whole buffer at once on connecting; live lines come later, one by one).
_LOG_DRAINED = 0.5
# Stages a restart leaves a Space in (not serving, building or starting).
_RESTARTED_STAGES = frozenset({"BUILDING", "APP_STARTING"})


def _log_stream_failure(exc: Exception) -> Failure | None:
    """A log stream reconnects after a timeout or a connection cut mid-stream; connect failures were already
    retried by the transport, and an undecodable stream is not worth reading again."""
    if isinstance(exc, errors.ConnectError | errors.BodyDecodingError):
        return None
    if isinstance(exc, errors.TransportError):
        return Failure(Outcome.NO_ANSWER, str(exc))
    return None


class HubOperations(RepoOperations):
    """Every Hub operation of `SpacesClient` (its base class): the repo operations it inherits, and the
    Space operations defined here."""

    # --- Space info and listing (hub-api.md §6) ---------------------------------------------------------

    async def space_info(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HfApi's argument; a per-request httpx timeout
        files_metadata: bool = False,
        expand: Sequence[str] | None = None,
        token: bool | str | None = None,
    ) -> SpaceInfo:
        """A Space's metadata (`GET /api/spaces/{id}[/revision/{rev}]`, hub-api.md §6.1).

        Args:
            repo_id: the Space.
            revision: a branch, tag or commit; percent-encoded in the path.
            timeout: request timeout in seconds.
            files_metadata: include file sizes and LFS info (`blobs=true`).
            expand: only these properties (e.g. `["runtime", "sdk"]`); exclusive with `files_metadata`.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).
        """
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        validation.validate_timeout(timeout)
        validation.validate_bool(files_metadata, arg="files_metadata")
        if expand is not None and files_metadata:
            raise ValueError("expand and files_metadata cannot be passed together")
        params: list[tuple[str, str]] = [("expand", v) for v in _wire.expand_values(expand)]
        if files_metadata:
            params.append(("blobs", "true"))
        path = _wire.space_path(repo_id)
        if revision is not None:
            path += f"/revision/{_wire.quote_revision(validation.validate_revision(revision))}"
        response = await self._session.request(
            "GET", path, params=params or None, idempotent=True, timeout=timeout
        )
        return _wire.parse_space_info(_wire.json_body(response))

    def list_spaces(
        self,
        *,
        filter: str | Iterable[str] | None = None,
        author: str | None = None,
        search: str | None = None,
        datasets: str | Iterable[str] | None = None,
        models: str | Iterable[str] | None = None,
        linked: bool = False,
        sort: str | None = None,
        limit: int | None = None,
        expand: Sequence[str] | None = None,
        full: bool | None = None,
        token: bool | str | None = None,
    ) -> AsyncIterator[SpaceInfo]:
        """Iterate over Spaces (`GET /api/spaces`, hub-api.md §6.2), following `Link: rel="next"` pages
        lazily.

        `limit` is sent and also enforced here (later pages are not fetched). With `expand=["runtime"]` each
        `SpaceInfo.runtime` is filled, which is how fleet watching reads many runtimes per request.
        """
        self._check_token(token)
        return self._list_spaces(
            filter=filter,
            author=author,
            search=search,
            datasets=datasets,
            models=models,
            linked=linked,
            sort=sort,
            limit=limit,
            expand=expand,
            full=full,
        )

    async def _list_spaces(
        self,
        *,
        filter: str | Iterable[str] | None = None,
        author: str | None = None,
        search: str | None = None,
        datasets: str | Iterable[str] | None = None,
        models: str | Iterable[str] | None = None,
        linked: bool = False,
        sort: str | None = None,
        limit: int | None = None,
        expand: Sequence[str] | None = None,
        full: bool | None = None,
    ) -> AsyncIterator[SpaceInfo]:
        """The iteration of `list_spaces` (its arguments checked on the first step)."""
        params: list[tuple[str, str]] | None = _wire.list_spaces_params(
            filter=filter,
            author=author,
            search=search,
            datasets=datasets,
            models=models,
            linked=linked,
            sort=sort,
            limit=limit,
            expand=expand,
            full=full,
        )
        url: str | None = "/api/spaces"
        count = 0
        while url is not None:
            response = await self._session.request("GET", url, params=params, idempotent=True)
            # The next link is absolute and carries every query parameter (hub-api.md §6.2).
            params = None
            url = _wire.parse_link_next(response.headers.get("link"))
            for info in _wire.parse_space_list(_wire.json_body(response)):
                yield info
                count += 1
                if limit is not None and count >= limit:
                    return

    # --- secrets and variables (hub-api.md §7) -----------------------------------------------------------

    async def add_space_secret(
        self,
        repo_id: str,
        key: str,
        value: str,
        *,
        description: str | None = None,
        token: bool | str | None = None,
    ) -> None:
        """Add or update a secret (`POST …/secrets`; an upsert, so retried freely). The value never appears in
        any error or log."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        validation.validate_value(value)
        validation.validate_optional_str(description, arg="description")
        spec = _wire.secret_add_request(repo_id, key, value, description)
        with _redacting(value):
            await self._session.request(spec.method, spec.path, json=spec.json, idempotent=spec.idempotent)

    async def delete_space_secret(self, repo_id: str, key: str, *, token: bool | str | None = None) -> None:
        """Delete a secret (`DELETE …/secrets` with a JSON body; unknown keys are a 200, recording
        test_manage_secrets)."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        await self._session.request(
            "DELETE", _wire.space_path(repo_id, "/secrets"), json={"key": key}, idempotent=True
        )

    async def get_space_secrets(
        self, repo_id: str, *, token: bool | str | None = None
    ) -> dict[str, SpaceSecret]:
        """Secrets' keys, descriptions and update times (`GET …/secrets`); values are never returned."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        response = await self._session.request("GET", _wire.space_path(repo_id, "/secrets"), idempotent=True)
        return _wire.parse_secrets(_wire.json_body(response))

    async def get_space_variables(
        self, repo_id: str, *, token: bool | str | None = None
    ) -> dict[str, SpaceVariable]:
        """All variables (`GET …/variables`)."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        response = await self._session.request(
            "GET", _wire.space_path(repo_id, "/variables"), idempotent=True
        )
        return _wire.parse_variables(_wire.json_body(response))

    async def add_space_variable(
        self,
        repo_id: str,
        key: str,
        value: str,
        *,
        description: str | None = None,
        token: bool | str | None = None,
    ) -> dict[str, SpaceVariable]:
        """Add or update a variable (`POST …/variables`, an upsert); returns the full map after the change."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        validation.validate_value(value)
        validation.validate_optional_str(description, arg="description")
        spec = _wire.variable_add_request(repo_id, key, value, description)
        response = await self._session.request(
            spec.method, spec.path, json=spec.json, idempotent=spec.idempotent
        )
        return _wire.parse_variables(_wire.json_body(response))

    async def delete_space_variable(
        self, repo_id: str, key: str, *, token: bool | str | None = None
    ) -> dict[str, SpaceVariable]:
        """Delete a variable (`DELETE …/variables`); returns the map after deletion (unknown key:
        unchanged)."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        response = await self._session.request(
            "DELETE", _wire.space_path(repo_id, "/variables"), json={"key": key}, idempotent=True
        )
        return _wire.parse_variables(_wire.json_body(response))

    # --- runtime (hub-api.md §8) -------------------------------------------------------------------------

    async def _runtime_call(self, spec: _wire.RequestSpec) -> SpaceRuntime:
        response = await self._session.request(
            spec.method, spec.path, params=spec.params, json=spec.json, idempotent=spec.idempotent
        )
        return _wire.parse_runtime(_wire.json_body(response))

    async def get_space_runtime(self, repo_id: str, *, token: bool | str | None = None) -> SpaceRuntime:
        """The Space's runtime (`GET …/runtime`)."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        runtime = await self._runtime_call(_wire.runtime_request(repo_id))
        self._session.fences.saw(repo_id, runtime)
        return runtime

    async def request_space_hardware(
        self,
        repo_id: str,
        hardware: str,
        *,
        token: bool | str | None = None,
        sleep_time: int | str | None = None,
    ) -> SpaceRuntime:
        """Request hardware (`POST …/hardware`). The answer typically has `requested_hardware` = the new
        flavor while `hardware` is still the old one (hub-api.md §8.2). Retried freely: requesting the same
        flavor again is the same request (setting a value).

        A wait started afterwards ignores reads that still show the previously requested flavor (a lagging
        replica) for a minute, and `wait_until_running` waits for the new flavor to run.

        Args:
            repo_id: the Space.
            hardware: a flavor string or `SpaceHardware` member (ours or huggingface_hub's).
            sleep_time: seconds of inactivity before sleeping (-1: never).
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).
        """
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        flavor = validation.validate_hardware(hardware)
        seconds = validation.validate_sleep_time(sleep_time) if sleep_time is not None else None
        if seconds is not None and flavor == "cpu-basic":
            warnings.warn(
                "cpu-basic Spaces sleep after 48 hours of inactivity; sleep_time cannot be configured "
                "(choose upgraded hardware to set one).",
                UserWarning,
                stacklevel=2,
            )
        fences = self._session.fences
        requested_before = fences.last_requested(repo_id)
        runtime = await self._runtime_call(_wire.hardware_request(repo_id, flavor, seconds))
        fences.record_hardware(repo_id, runtime, requested_before=requested_before)
        return runtime

    async def set_space_sleep_time(
        self, repo_id: str, sleep_time: int | str, *, token: bool | str | None = None
    ) -> SpaceRuntime:
        """Set the sleep time (`POST …/sleeptime`; -1 never sleeps). Idempotent."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        seconds = validation.validate_sleep_time(sleep_time)
        runtime = await self._runtime_call(_wire.sleeptime_request(repo_id, seconds))
        # huggingface_hub warns on `requested or current` hardware being cpu-basic (hub-api.md §8.2).
        if (runtime.requested_hardware or runtime.hardware) == "cpu-basic":
            warnings.warn(
                "This Space runs on cpu-basic: it sleeps after 48 hours of inactivity whatever the "
                "sleep time.",
                UserWarning,
                stacklevel=2,
            )
        return runtime

    async def pause_space(self, repo_id: str, *, token: bool | str | None = None) -> SpaceRuntime:
        """Pause the Space (`POST …/pause`); it stays PAUSED until restarted. Idempotent (pausing a paused
        Space leaves it paused).

        A wait started afterwards ignores reads still showing the Space running (a lagging replica) until
        PAUSED is seen, for up to a minute.

        Args:
            repo_id: the Space.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).
        """
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        runtime = await self._runtime_call(_wire.pause_request(repo_id))
        self._session.fences.record_pause(repo_id)
        return runtime

    async def restart_space(
        self, repo_id: str, *, token: bool | str | None = None, factory_reboot: bool = False
    ) -> SpaceRuntime:
        """Restart the Space (`POST …/restart[?factory=true]`); the answer's stage is typically BUILDING.

        Not idempotent: a second restart would restart again. After an ambiguous failure (timeout, dropped
        connection, 5xx) the runtime is read first. A restart takes the Space down into BUILDING (recording
        test_pause_and_restart_space), so BUILDING or APP_STARTING means it took effect (or a fresh build of
        the same code is under way, which is what a restart would give) and that runtime is returned. Any
        other stage, including RUNNING_BUILDING (the old version still serving), means it did not: the restart
        is sent again. (If the rebuild finished before the read, the Space is restarted twice: the only
        remaining ambiguity, and the harmless side of it.)

        A wait started afterwards ignores reads that may be from before the restart, for up to a minute: a
        failure stage until a build or start is seen, a stable stage (RUNNING, PAUSED, ...) until the app
        is seen starting.

        Args:
            repo_id: the Space.
            factory_reboot: rebuild from scratch, without the build cache.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).
        """
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        validation.validate_bool(factory_reboot, arg="factory_reboot")
        spec = _wire.restart_request(repo_id, factory_reboot)

        async def check() -> SpaceRuntime | None:
            runtime = await self.get_space_runtime(repo_id)
            return runtime if stage_name(runtime.stage) in _RESTARTED_STAGES else None

        runtime = await self._ambiguity_safe(lambda: self._runtime_call(spec), before_resend=check)
        self._session.fences.record_restart(repo_id, runtime)
        return runtime

    async def enable_space_dev_mode(self, repo_id: str, *, token: bool | str | None = None) -> SpaceRuntime:
        """Turn dev mode on (`POST …/dev-mode {"enabled": true}`). Idempotent."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        return await self._runtime_call(_wire.dev_mode_request(repo_id, True))

    async def disable_space_dev_mode(self, repo_id: str, *, token: bool | str | None = None) -> SpaceRuntime:
        """Turn dev mode off (`POST …/dev-mode {"enabled": false}`). Idempotent."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        return await self._runtime_call(_wire.dev_mode_request(repo_id, False))

    async def request_space_storage(
        self, repo_id: str, storage: str, *, token: bool | str | None = None
    ) -> SpaceRuntime:
        """Request a persistent-storage tier (`POST …/storage`; deprecated by the Hub, hub-api.md §8.4).
        Idempotent (setting a tier).

        Removed from huggingface_hub 2.x, kept here because the "Manage your Space" guide uses it.

        Args:
            repo_id: the Space.
            storage: `small`, `medium` or `large` (or a `SpaceStorage` member).
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Raises:
            StorageDowngradeError: the Space has a higher tier; tiers only go up (delete the storage first).
        """
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        tier = validation.validate_storage(storage)
        try:
            return await self._runtime_call(_wire.storage_request(repo_id, tier))
        except errors.BadRequestError as exc:
            # hub-api.md §8.4: a tier can go up but never down; the Hub's 400 for it is told apart from other
            # 400s by the Space's current tier, not by the wording of its message.
            current = (await self.get_space_runtime(repo_id)).storage
            tiers = validation.STORAGE_TIERS
            if current is not None and current in tiers and tiers.index(current) > tiers.index(tier):
                raise errors.StorageDowngradeError(
                    f"cannot decrease the storage of {repo_id} from {current!r} to {tier!r}: delete it "
                    "first (delete_space_storage, which loses its data), then request the new tier",
                    current=current,
                    requested=tier,
                    method=exc.method,
                    url=exc.url,
                    request_id=exc.request_id,
                    server_message=exc.server_message,
                    error_code=exc.error_code,
                ) from exc
            raise

    async def delete_space_storage(self, repo_id: str, *, token: bool | str | None = None) -> SpaceRuntime:
        """Delete the persistent storage (`DELETE …/storage`; 400 when there is none). After an ambiguous
        failure, a 400 on the resend means our first attempt deleted it: the current runtime is returned."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        path = _wire.space_path(repo_id, "/storage")

        async def send() -> SpaceRuntime:
            response = await self._session.request("DELETE", path, idempotent=False)
            return _wire.parse_runtime(_wire.json_body(response))

        async def settle(exc: errors.HubHTTPError) -> SpaceRuntime | None:
            if isinstance(exc, errors.BadRequestError):
                runtime = await self.get_space_runtime(repo_id)
                return runtime if runtime.storage is None else None
            return None

        return await self._ambiguity_safe(send, on_error_after_ambiguous=settle)

    async def set_space_volumes(
        self, repo_id: str, volumes: Sequence[Any], *, token: bool | str | None = None
    ) -> None:
        """Replace the mounted volumes (`PUT …/volumes`, the whole list). Idempotent."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        payload = _wire.volumes_payload(volumes, arg="volumes")
        await self._session.request(
            "PUT", _wire.space_path(repo_id, "/volumes"), json={"volumes": payload}, idempotent=True
        )

    async def delete_space_volumes(self, repo_id: str, *, token: bool | str | None = None) -> None:
        """Remove every volume (`DELETE …/volumes`; 400 when there are none). Reconciled like
        `delete_space_storage`."""
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        path = _wire.space_path(repo_id, "/volumes")

        async def send() -> bool:
            await self._session.request("DELETE", path, idempotent=False)
            return True

        async def settle(exc: errors.HubHTTPError) -> bool | None:
            if isinstance(exc, errors.BadRequestError):
                runtime = await self.get_space_runtime(repo_id)
                return True if not runtime.volumes else None
            return None

        await self._ambiguity_safe(send, on_error_after_ambiguous=settle)

    async def list_spaces_hardware(self, token: bool | str | None = None) -> list[SpaceHardwareInfo]:
        """Hardware flavors with prices (`GET /api/spaces/hardware`, hub-api.md §8.6)."""
        self._check_token(token)
        response = await self._session.request("GET", "/api/spaces/hardware", idempotent=True)
        return _wire.parse_hardware_list(_wire.json_body(response))

    def fetch_space_logs(
        self, repo_id: str, *, build: bool = False, follow: bool = False, token: bool | str | None = None
    ) -> AsyncGenerator[str, None]:
        """Iterate over the run logs (or build logs with `build=True`) over SSE (hub-api.md §9).

        Without `follow`, yields what the Hub has buffered and stops (end of stream, half a second of silence
        after a line, 5 s of silence before the first, or the first line stamped after the response's
        `Date`). With `follow`, streams until the Hub closes the stream, reconnecting up to 5 times (1-2 s
        apart at first, doubling, at most 10 s); the Hub replays the log from the start on
        every connection, and already-yielded lines are skipped by counting events, as huggingface_hub does.
        Close the iterator (`aclosing`) to stop early; the response is closed with it.

        An open log stream holds one of the client's `max_concurrency` slots until it ends: following more
        streams than that at once would leave no slot for other calls, so raise `max_concurrency` (or use a
        second client) when following many logs.
        """
        self._check_token(token)
        return self._fetch_space_logs(repo_id, build=build, follow=follow)

    async def _fetch_space_logs(
        self, repo_id: str, *, build: bool = False, follow: bool = False
    ) -> AsyncGenerator[str, None]:
        """The iteration of `fetch_space_logs` (its arguments checked on the first step)."""
        validation.validate_repo_id(repo_id)
        validation.validate_bool(build, arg="build")
        validation.validate_bool(follow, arg="follow")
        path = _wire.space_path(repo_id, f"/logs/{'build' if build else 'run'}")
        # hub-api.md §1.4: read timeout 5 s without follow (silence = buffer drained), 120 s with follow.
        timeout = 120.0 if follow else 5.0
        reconnects = Retrying(
            _LOG_FOLLOW if follow else _NO_RETRY,
            clock=self._session.clock,
            rng=self._session.transport.rng,
            classify=_log_stream_failure,
            what="log stream",
            target=repo_id,
        )
        start = 0
        try:
            async for attempt in reconnects:
                with attempt:
                    async with self._session.stream("GET", path, timeout=timeout) as response:
                        replay_end = None if follow else _wire.sse_replay_end(response.headers.get("date"))
                        index = -1
                        lines = response.aiter_lines()
                        while True:
                            # Without follow, the Hub sends its buffered log at once on connecting: once a
                            # line came, a short silence means it is drained (no need to wait the 5 s of
                            # the read timeout, which still bounds the wait for the first line).
                            drained = not follow and index >= 0
                            with anyio.move_on_after(_LOG_DRAINED if drained else math.inf) as idle:
                                line = await anext(lines, None)
                            if idle.cancelled_caught or line is None:
                                break
                            event = _wire.parse_sse_event(line)
                            if event is None:
                                continue
                            index += 1
                            if index < start:
                                continue  # replayed: yielded on an earlier connection
                            start += 1
                            if _wire.event_after(event, replay_end):
                                return
                            reconnects.progress()
                            data = event.get("data")
                            if isinstance(data, str):
                                yield data
                    return
        except (errors.RequestTimeoutError, errors.BodyDecodingError):
            # Silence: the buffered log is drained (without follow), or the Hub stopped sending and every
            # reconnection timed out too. A truncated body ends the stream quietly as well (hub-api.md §9).
            return
