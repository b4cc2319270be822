"""The Hub operations: every Space operation of `HfApi`, on the client's `Session`.

Each public method is build (`_wire`) → send (`Session.request`) → parse (`_wire`/`models`). Arguments are
validated before any request. Names and argument names follow huggingface_hub 2.4's `HfApi` (minus `token`,
which is per client here); the three methods that release removed (`duplicate_space`, `request_space_storage`,
`delete_space_storage`) follow hub-api.md §16. The actions a later wait must not see "from before"
(hardware request, restart, pause) record their fence in `Session.fences` themselves.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

from . import _wire, errors, validation
from ._retry import Failure, Outcome, Retrying, RetryPolicy
from ._session import Session
from .models import (
    DuplicatedRepoUrl,
    RepoUrl,
    SpaceHardwareInfo,
    SpaceInfo,
    SpaceRuntime,
    SpaceSecret,
    SpaceTemplate,
    SpaceVariable,
    stage_name,
)

logger = logging.getLogger("aiospaces")

T = TypeVar("T")

_CONFLICT_IN_PROGRESS = "another conflicting operation is in progress"
# Log following reconnects after a cut or a silent stream: 5 times, 1-2 s apart at first, doubling, at most
# 10 s; the count restarts whenever a line arrives. Without follow, the stream is read once.
_LOG_FOLLOW = RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=10.0)
_NO_RETRY = RetryPolicy(max_attempts=1, max_rate_limited=0)
# Stages a restart leaves a Space in (not serving, building or starting).
_RESTARTED_STAGES = frozenset({"BUILDING", "APP_STARTING"})


@contextlib.contextmanager
def _redacting(*values: str | None) -> Iterator[None]:
    """Scrub secret values from any SDK error raised inside the block (in case the Hub echoes them)."""
    try:
        yield
    except errors.SpacesError as exc:
        _wire.redact(exc, values)
        raise


def _is_ambiguous(exc: errors.SpacesError) -> bool:
    """The request may have reached the Hub and may have taken effect: a timeout, a dropped connection, a 5xx
    or a 408. (A `ConnectError` is not ambiguous: the transport already retried it, it never left.)"""
    if isinstance(exc, errors.TransportError):
        return not isinstance(exc, errors.ConnectError)
    return isinstance(exc, errors.ServerError) or (isinstance(exc, errors.HubHTTPError) and exc.status == 408)


def _log_stream_failure(exc: Exception) -> Failure | None:
    """A log stream reconnects after a timeout or a connection cut mid-stream; connect failures were already
    retried by the transport, and an undecodable stream is not worth reading again."""
    if isinstance(exc, errors.ConnectError | errors.BodyDecodingError):
        return None
    if isinstance(exc, errors.TransportError):
        return Failure(Outcome.NO_ANSWER, str(exc))
    return None


def _in_progress(exc: Exception) -> bool:
    """The Hub's 409 for a concurrent operation on the same user's repos (hub-api.md §3.4): try again."""
    return isinstance(exc, errors.ConflictError) and _CONFLICT_IN_PROGRESS in (exc.server_message or "")


class HubOperations:
    """Every Hub operation of `SpacesClient` (its base class), on the client's `Session`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.endpoint: str = session.endpoint
        self._whoami_cache: dict[str, Any] | None = None

    async def _ambiguity_safe(
        self,
        send: Callable[[], Awaitable[T]],
        *,
        on_error_after_ambiguous: Callable[[errors.HubHTTPError], Awaitable[T | None]] | None = None,
        before_resend: Callable[[], Awaitable[T | None]] | None = None,
        retry_conflict_in_progress: bool = False,
    ) -> T:
        """Run a non-idempotent call, made safe to resend.

        After an ambiguous failure (the request may have taken effect), `before_resend` may settle the outcome
        by reading state (returning a result), otherwise the call is resent; if the resend fails with an HTTP
        error, `on_error_after_ambiguous` may recognise the error as the trace of our own earlier attempt
        (e.g. a 409 "already exists" after a create) and return the result instead.
        """
        ambiguous = False  # an attempt failed in a way that may have taken effect
        reconcile = False  # ... and that was the last attempt: read state before resending

        def classify(exc: Exception) -> Failure | None:
            nonlocal ambiguous, reconcile
            if retry_conflict_in_progress and _in_progress(exc):
                # hub-api.md §3.4: concurrent creates for one user get this 409; huggingface_hub retries.
                reconcile = False
                return Failure(Outcome.CONFLICT, f"409 {_CONFLICT_IN_PROGRESS}")
            if isinstance(exc, errors.SpacesError) and _is_ambiguous(exc):
                ambiguous = reconcile = True
                return Failure(Outcome.AMBIGUOUS, f"{exc}; may have taken effect, reconciling")
            return None

        retrying = Retrying(
            self._session.retry,
            clock=self._session.clock,
            rng=self._session.transport.rng,
            classify=classify,
            idempotent=False,
            what="non-idempotent call",
        )
        async for attempt in retrying:
            with attempt:
                if reconcile and before_resend is not None:
                    settled = await before_resend()
                    if settled is not None:
                        return settled
                try:
                    return await send()
                except errors.HubHTTPError as exc:
                    if ambiguous and on_error_after_ambiguous is not None and not _in_progress(exc):
                        found = await on_error_after_ambiguous(exc)
                        if found is not None:
                            logger.info("reconciled %s after an ambiguous failure", type(exc).__name__)
                            return found
                    raise
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _repo_url(self, url: str | None, repo_id: str, repo_type: str | None) -> str:
        """A repo URL on this client's endpoint (hub-api.md §1.1: URLs the Hub returns are rewritten when the
        endpoint is custom)."""
        if url:
            return _wire.fix_endpoint_in_url(url, self.endpoint)
        return _wire.repo_web_url(self.endpoint, repo_type, repo_id)

    # --- account -----------------------------------------------------------------------------------------

    async def whoami(self, *, cache: bool = False) -> dict[str, Any]:
        """`GET /api/whoami-v2` (hub-api.md §2.5): the token's user, orgs and token role.

        Args:
            cache: reuse this client's previous successful answer (errors are not cached).
        """
        validation.validate_bool(cache, arg="cache")
        if cache and self._whoami_cache is not None:
            return dict(self._whoami_cache)
        response = await self._session.request("GET", "/api/whoami-v2", idempotent=True)
        data = _wire.json_body(response)
        if not isinstance(data, dict):
            raise errors.UnexpectedResponseError(
                "unexpected whoami payload from the Hub: expected a JSON object"
            )
        self._whoami_cache = data
        return dict(data)

    # --- repos -------------------------------------------------------------------------------------------

    async def create_repo(
        self,
        repo_id: str,
        *,
        private: bool | None = None,
        visibility: str | None = None,
        repo_type: str | None = None,
        exist_ok: bool = False,
        resource_group_id: str | None = None,
        region: str | None = None,
        space_sdk: str | None = None,
        space_hardware: str | None = None,
        space_storage: str | None = None,
        space_sleep_time: int | str | None = None,
        space_secrets: Sequence[Mapping[str, str]] | None = None,
        space_variables: Sequence[Mapping[str, str]] | None = None,
        space_volumes: Sequence[Any] | None = None,
        space_template: str | None = None,
    ) -> RepoUrl:
        """Create a repo (`POST /api/repos/create`, hub-api.md §5.1) and return its URL.

        Safe to retry: after an ambiguous failure (timeout, dropped connection, 5xx) the request is resent,
        and a 409 "already exists" answering the resend is our own earlier attempt, so it returns the URL
        instead of failing. (A repo created by someone else in that same instant cannot be told apart;
        without an ambiguous failure a 409 raises `ConflictError` unless `exist_ok`.)

        `space_storage` (a persistent-storage tier, `SpaceStorage`) is not in huggingface_hub 2.x's signature
        but the "Manage your Space" guide uses it and the Hub still reads it (`storageTier`, hub-api.md §5.1).
        `space_sleep_time` may be a string of digits, as the guide writes it (`"7200"`).

        Raises:
            ValueError: bad repo id, repo type, SDK, visibility or Space arguments.
            ConflictError: the repo already exists and `exist_ok` is False.
        """
        validate_repo = validation.validate_repo_id(repo_id, allow_bare_name=True)
        rtype = validation.validate_repo_type(repo_type)
        resolved_visibility = _wire.resolve_visibility(private, visibility, rtype)
        validation.validate_bool(exist_ok, arg="exist_ok")
        namespace, name = validate_repo.split("/") if "/" in validate_repo else (None, validate_repo)
        sdk = validation.enum_value(space_sdk, arg="space_sdk") if space_sdk is not None else None
        if space_template is not None:
            if rtype != "space":
                raise ValueError("space_template can only be used with repo_type='space'")
            validation.enum_value(space_template, arg="space_template")
        if rtype == "space" and sdk is None and space_template is None:
            raise ValueError(f"space_sdk is required for a Space; one of {', '.join(_wire.SPACE_SDKS)}")
        if sdk is not None and sdk not in _wire.SPACE_SDKS:
            raise ValueError(f"space_sdk must be one of {', '.join(_wire.SPACE_SDKS)}, got {sdk!r}")
        hardware = (
            validation.validate_hardware(space_hardware, arg="space_hardware")
            if space_hardware is not None
            else None
        )
        sleep_time = (
            validation.validate_sleep_time(space_sleep_time, arg="space_sleep_time")
            if space_sleep_time is not None
            else None
        )
        storage = (
            validation.validate_storage(space_storage, arg="space_storage")
            if space_storage is not None
            else None
        )
        secrets = _wire.secrets_list(space_secrets, arg="space_secrets")
        variables = _wire.secrets_list(space_variables, arg="space_variables")
        volumes = _wire.volumes_payload(space_volumes, arg="space_volumes") if space_volumes else None
        if region is not None and validation.enum_value(region, arg="region") not in ("us", "eu"):
            raise ValueError(f"region must be 'us' or 'eu', got {region!r}")
        validation.validate_optional_str(resource_group_id, arg="resource_group_id")

        if space_template is not None:
            template = await self._find_template(space_template)
            if sdk is not None and sdk != template.sdk:
                raise ValueError(f"space_sdk must match the template's SDK {template.sdk!r}, got {sdk!r}")
            sdk = template.sdk
            if template.preferred_private and resolved_visibility is None:
                resolved_visibility = "private"

        payload: dict[str, Any] = {"name": name, "organization": namespace}
        if resolved_visibility is not None:
            payload["visibility"] = resolved_visibility
        if rtype is not None:
            payload["type"] = rtype
        space_args = {
            "hardware": hardware,
            "storageTier": storage,
            "sleepTimeSeconds": sleep_time,
            "secrets": secrets,
            "variables": variables,
            "volumes": volumes,
        }
        if rtype == "space":
            payload["sdk"] = sdk
            if space_template is not None:
                payload["template"] = template.repo_id
            payload.update({k: v for k, v in space_args.items() if v is not None})
            if sleep_time is not None and hardware == "cpu-basic":
                warnings.warn(
                    "cpu-basic Spaces sleep after 48 hours of inactivity; this cannot be configured "
                    "(hub-api.md §8.3).",
                    UserWarning,
                    stacklevel=2,
                )
        elif any(v is not None for v in space_args.values()) or sdk is not None:
            warnings.warn(
                "Ignoring Space arguments because repo_type is not 'space'.", UserWarning, stacklevel=2
            )
        if resource_group_id is not None:
            payload["resourceGroupId"] = resource_group_id
        if region is not None:
            payload["region"] = region

        async def send() -> RepoUrl:
            response = await self._session.request(
                "POST", "/api/repos/create", json=payload, idempotent=False
            )
            return RepoUrl(
                self._repo_url(_wire.json_body(response).get("url"), repo_id, rtype), endpoint=self.endpoint
            )

        async def settle(exc: errors.HubHTTPError) -> RepoUrl | None:
            if isinstance(exc, errors.ConflictError):
                return RepoUrl(self._repo_url(exc.existing_url, repo_id, rtype), endpoint=self.endpoint)
            return None

        secret_values = [s["value"] for s in secrets or []]
        with _redacting(*secret_values):
            try:
                return await self._ambiguity_safe(
                    send, on_error_after_ambiguous=settle, retry_conflict_in_progress=True
                )
            except errors.ConflictError as exc:
                if exist_ok:
                    return RepoUrl(self._repo_url(exc.existing_url, repo_id, rtype), endpoint=self.endpoint)
                raise
            except (errors.AuthenticationError, errors.PaymentRequiredError, errors.PermissionDeniedError):
                # hub-api.md §5.1: with exist_ok, a 401/402/403 may hide an existing repo: check it.
                if not exist_ok or "/" not in validate_repo:
                    raise
                with contextlib.suppress(errors.HubHTTPError):
                    await self._session.request(
                        "GET", _wire.api_repo_path(rtype, validate_repo), idempotent=True
                    )
                    return RepoUrl(self._repo_url(None, repo_id, rtype), endpoint=self.endpoint)
                raise

    async def _find_template(self, space_template: str) -> SpaceTemplate:
        response = await self._session.request("GET", "/api/spaces/templates", idempotent=True)
        data = _wire.json_body(response)
        items = data.get("templates", []) if isinstance(data, dict) else []
        templates = [SpaceTemplate.from_dict(t) for t in items if isinstance(t, dict)]
        for candidate in templates:
            if candidate.repo_id == space_template or candidate.name.lower() == space_template.lower():
                return candidate
        names = ", ".join(sorted(t.name for t in templates))
        raise ValueError(f"space_template {space_template!r} is unknown; expected one of {names}")

    async def delete_repo(
        self, repo_id: str, *, repo_type: str | None = None, missing_ok: bool = False
    ) -> None:
        """Delete a repo (`DELETE /api/repos/delete`, hub-api.md §5.2).

        A not-found answering a resend after an ambiguous failure means our first attempt deleted it: success.

        Raises:
            RepositoryNotFoundError: the repo does not exist and `missing_ok` is False.
        """
        validation.validate_repo_id(repo_id, allow_bare_name=True)
        rtype = validation.validate_repo_type(repo_type)
        validation.validate_bool(missing_ok, arg="missing_ok")
        namespace, name = repo_id.split("/") if "/" in repo_id else (None, repo_id)
        body: dict[str, Any] = {"name": name, "organization": namespace}
        if rtype is not None:
            body["type"] = rtype

        async def send() -> bool:
            await self._session.request("DELETE", "/api/repos/delete", json=body, idempotent=False)
            return True

        async def settle(exc: errors.HubHTTPError) -> bool | None:
            return True if isinstance(exc, errors.NotFoundError) else None

        try:
            await self._ambiguity_safe(send, on_error_after_ambiguous=settle)
        except errors.NotFoundError:
            if not missing_ok:
                raise

    async def update_repo_settings(
        self,
        repo_id: str,
        *,
        gated: str | bool | None = None,
        private: bool | None = None,
        visibility: str | None = None,
        repo_type: str | None = None,
    ) -> None:
        """Change visibility and/or gating (`PUT /api/{type}s/{id}/settings`, hub-api.md §5.3). Idempotent.

        Raises:
            ValueError: nothing to change, or an invalid `gated`/`visibility`.
        """
        validation.validate_repo_id(repo_id)
        rtype = validation.validate_repo_type(repo_type, allow_kernel=False)
        resolved_visibility = _wire.resolve_visibility(private, visibility, rtype)
        body: dict[str, Any] = {}
        if gated is not None:
            if gated is not False and gated not in ("auto", "manual"):
                raise ValueError(f"gated must be 'auto', 'manual' or False, got {gated!r}")
            body["gated"] = gated
        if resolved_visibility is not None:
            body["visibility"] = resolved_visibility
        if not body:
            raise ValueError("update_repo_settings needs at least one of gated, private, visibility")
        await self._session.request(
            "PUT", f"{_wire.api_repo_path(rtype, repo_id)}/settings", json=body, idempotent=True
        )

    async def duplicate_repo(
        self,
        from_id: str,
        to_id: str | None = None,
        *,
        repo_type: str | None = None,
        private: bool | None = None,
        visibility: str | None = None,
        exist_ok: bool = False,
        resource_group_id: str | None = None,
        space_hardware: str | None = None,
        space_sleep_time: int | str | None = None,
        space_secrets: Sequence[Mapping[str, str]] | None = None,
        space_variables: Sequence[Mapping[str, str]] | None = None,
        space_volumes: Sequence[Any] | None = None,
    ) -> DuplicatedRepoUrl:
        """Duplicate a repo server-side (`POST /api/{type}s/{from_id}/duplicate`, hub-api.md §5.5).

        `to_id` may be `ns/name` or `name` (namespace from `whoami`), or None (same name, your namespace).
        Reconciled like `create_repo`: a 409 answering a resend after an ambiguous failure is our own copy.
        """
        return await self._duplicate(
            from_id,
            to_id,
            repo_type=repo_type,
            private=private,
            visibility=visibility,
            exist_ok=exist_ok,
            resource_group_id=resource_group_id,
            hardware=space_hardware,
            storage=None,
            sleep_time=space_sleep_time,
            secrets=space_secrets,
            variables=space_variables,
            volumes=space_volumes,
            prefix="space_",
        )

    async def duplicate_space(
        self,
        from_id: str,
        to_id: str | None = None,
        *,
        private: bool | None = None,
        visibility: str | None = None,
        exist_ok: bool = False,
        hardware: str | None = None,
        storage: str | None = None,
        sleep_time: int | str | None = None,
        secrets: Sequence[Mapping[str, str]] | None = None,
        variables: Sequence[Mapping[str, str]] | None = None,
    ) -> RepoUrl:
        """Duplicate a Space (hub-api.md §16; removed from huggingface_hub 2.x, kept here with its old
        parameters, including the deprecated `storage` tier)."""
        return await self._duplicate(
            from_id,
            to_id,
            repo_type="space",
            private=private,
            visibility=visibility,
            exist_ok=exist_ok,
            resource_group_id=None,
            hardware=hardware,
            storage=storage,
            sleep_time=sleep_time,
            secrets=secrets,
            variables=variables,
            volumes=None,
            prefix="",
        )

    async def _duplicate(
        self,
        from_id: str,
        to_id: str | None,
        *,
        repo_type: str | None,
        private: bool | None,
        visibility: str | None,
        exist_ok: bool,
        resource_group_id: str | None,
        hardware: str | None,
        storage: str | None,
        sleep_time: int | str | None,
        secrets: Sequence[Mapping[str, str]] | None,
        variables: Sequence[Mapping[str, str]] | None,
        volumes: Sequence[Any] | None,
        prefix: str,
    ) -> DuplicatedRepoUrl:
        validation.validate_repo_id(from_id, arg="from_id")
        if to_id is not None:
            validation.validate_repo_id(to_id, arg="to_id", allow_bare_name=True)
        rtype = validation.validate_repo_type(repo_type, allow_kernel=False)
        resolved_visibility = _wire.resolve_visibility(private, visibility, rtype)
        validation.validate_bool(exist_ok, arg="exist_ok")
        space_args: dict[str, Any] = {
            "hardware": validation.validate_hardware(hardware, arg=f"{prefix}hardware")
            if hardware is not None
            else None,
            "storageTier": validation.validate_storage(storage) if storage is not None else None,
            "sleepTimeSeconds": (
                validation.validate_sleep_time(sleep_time, arg=f"{prefix}sleep_time")
                if sleep_time is not None
                else None
            ),
            "secrets": _wire.secrets_list(secrets, arg=f"{prefix}secrets"),
            "variables": _wire.secrets_list(variables, arg=f"{prefix}variables"),
            "volumes": _wire.volumes_payload(volumes, arg=f"{prefix}volumes") if volumes else None,
        }
        validation.validate_optional_str(resource_group_id, arg="resource_group_id")
        if to_id is not None and "/" in to_id:
            target = to_id
        else:
            name = to_id if to_id is not None else from_id.split("/")[1]
            target = f"{(await self.whoami(cache=True))['name']}/{name}"
        payload: dict[str, Any] = {"repository": target}
        if resolved_visibility is not None:
            payload["visibility"] = resolved_visibility
        if resource_group_id is not None:
            payload["resourceGroupId"] = resource_group_id
        if rtype == "space":
            payload.update({k: v for k, v in space_args.items() if v is not None})
        elif any(v is not None for v in space_args.values()):
            warnings.warn(
                "Ignoring Space arguments because repo_type is not 'space'.", UserWarning, stacklevel=3
            )
        path = f"{_wire.api_repo_path(rtype, from_id)}/duplicate"

        def url_of(url: str | None, pending: bool) -> DuplicatedRepoUrl:
            result = DuplicatedRepoUrl(self._repo_url(url, target, rtype), endpoint=self.endpoint)
            result.files_copy_pending = pending
            return result

        async def send() -> DuplicatedRepoUrl:
            response = await self._session.request("POST", path, json=payload, idempotent=False)
            data = _wire.json_body(response)
            return url_of(data.get("url"), bool(data.get("filesCopyPending", False)))

        async def settle(exc: errors.HubHTTPError) -> DuplicatedRepoUrl | None:
            return url_of(exc.existing_url, False) if isinstance(exc, errors.ConflictError) else None

        values = [s["value"] for s in (space_args["secrets"] or [])]
        with _redacting(*values):
            try:
                return await self._ambiguity_safe(send, on_error_after_ambiguous=settle)
            except errors.ConflictError as exc:
                if exist_ok:
                    return url_of(exc.existing_url, False)
                raise

    async def space_info(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HfApi's argument; a per-request httpx timeout
        files_metadata: bool = False,
        expand: Sequence[str] | None = None,
    ) -> SpaceInfo:
        """A Space's metadata (`GET /api/spaces/{id}[/revision/{rev}]`, hub-api.md §6.1).

        Args:
            repo_id: the Space.
            revision: a branch, tag or commit; percent-encoded in the path.
            timeout: request timeout in seconds.
            files_metadata: include file sizes and LFS info (`blobs=true`).
            expand: only these properties (e.g. `["runtime", "sdk"]`); exclusive with `files_metadata`.
        """
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

    async def list_spaces(
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
        """Iterate over Spaces (`GET /api/spaces`, hub-api.md §6.2), following `Link: rel="next"` pages
        lazily.

        `limit` is sent and also enforced here (later pages are not fetched). With `expand=["runtime"]` each
        `SpaceInfo.runtime` is filled, which is how fleet watching reads many runtimes per request.
        """
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
        self, repo_id: str, key: str, value: str, *, description: str | None = None
    ) -> None:
        """Add or update a secret (`POST …/secrets`; an upsert, so retried freely). The value never appears in
        any error or log."""
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        validation.validate_value(value)
        validation.validate_optional_str(description, arg="description")
        spec = _wire.secret_add_request(repo_id, key, value, description)
        with _redacting(value):
            await self._session.request(spec.method, spec.path, json=spec.json, idempotent=spec.idempotent)

    async def delete_space_secret(self, repo_id: str, key: str) -> None:
        """Delete a secret (`DELETE …/secrets` with a JSON body; unknown keys are a 200, recording
        test_manage_secrets)."""
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        await self._session.request(
            "DELETE", _wire.space_path(repo_id, "/secrets"), json={"key": key}, idempotent=True
        )

    async def get_space_secrets(self, repo_id: str) -> dict[str, SpaceSecret]:
        """Secrets' keys, descriptions and update times (`GET …/secrets`); values are never returned."""
        validation.validate_repo_id(repo_id)
        response = await self._session.request("GET", _wire.space_path(repo_id, "/secrets"), idempotent=True)
        return _wire.parse_secrets(_wire.json_body(response))

    async def get_space_variables(self, repo_id: str) -> dict[str, SpaceVariable]:
        """All variables (`GET …/variables`)."""
        validation.validate_repo_id(repo_id)
        response = await self._session.request(
            "GET", _wire.space_path(repo_id, "/variables"), idempotent=True
        )
        return _wire.parse_variables(_wire.json_body(response))

    async def add_space_variable(
        self, repo_id: str, key: str, value: str, *, description: str | None = None
    ) -> dict[str, SpaceVariable]:
        """Add or update a variable (`POST …/variables`, an upsert); returns the full map after the change."""
        validation.validate_repo_id(repo_id)
        validation.validate_key(key)
        validation.validate_value(value)
        validation.validate_optional_str(description, arg="description")
        spec = _wire.variable_add_request(repo_id, key, value, description)
        response = await self._session.request(
            spec.method, spec.path, json=spec.json, idempotent=spec.idempotent
        )
        return _wire.parse_variables(_wire.json_body(response))

    async def delete_space_variable(self, repo_id: str, key: str) -> dict[str, SpaceVariable]:
        """Delete a variable (`DELETE …/variables`); returns the map after deletion (unknown key:
        unchanged)."""
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

    async def get_space_runtime(self, repo_id: str) -> SpaceRuntime:
        """The Space's runtime (`GET …/runtime`)."""
        validation.validate_repo_id(repo_id)
        runtime = await self._runtime_call(_wire.runtime_request(repo_id))
        self._session.fences.saw(repo_id, runtime)
        return runtime

    async def request_space_hardware(
        self, repo_id: str, hardware: str, *, sleep_time: int | str | None = None
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
        """
        validation.validate_repo_id(repo_id)
        flavor = validation.validate_hardware(hardware)
        seconds = validation.validate_sleep_time(sleep_time) if sleep_time is not None else None
        if seconds is not None and flavor == "cpu-basic":
            warnings.warn(
                "cpu-basic Spaces sleep after 48 hours of inactivity; sleep_time cannot be configured "
                "(hub-api.md §8.3).",
                UserWarning,
                stacklevel=2,
            )
        fences = self._session.fences
        requested_before = fences.last_requested(repo_id)
        runtime = await self._runtime_call(_wire.hardware_request(repo_id, flavor, seconds))
        fences.record_hardware(repo_id, runtime, requested_before=requested_before)
        return runtime

    async def set_space_sleep_time(self, repo_id: str, sleep_time: int | str) -> SpaceRuntime:
        """Set the sleep time (`POST …/sleeptime`; -1 never sleeps). Idempotent."""
        validation.validate_repo_id(repo_id)
        seconds = validation.validate_sleep_time(sleep_time)
        runtime = await self._runtime_call(_wire.sleeptime_request(repo_id, seconds))
        # huggingface_hub warns on `requested or current` hardware being cpu-basic (hub-api.md §8.2).
        if (runtime.requested_hardware or runtime.hardware) == "cpu-basic":
            warnings.warn(
                "This Space runs on cpu-basic: it sleeps after 48 hours of inactivity whatever the "
                "sleep time (hub-api.md §8.3).",
                UserWarning,
                stacklevel=2,
            )
        return runtime

    async def pause_space(self, repo_id: str) -> SpaceRuntime:
        """Pause the Space (`POST …/pause`); it stays PAUSED until restarted. Idempotent (pausing a paused
        Space leaves it paused).

        A wait started afterwards ignores reads still showing the Space running (a lagging replica) until
        PAUSED is seen, for up to a minute.

        Args:
            repo_id: the Space.
        """
        validation.validate_repo_id(repo_id)
        runtime = await self._runtime_call(_wire.pause_request(repo_id))
        self._session.fences.record_pause(repo_id)
        return runtime

    async def restart_space(self, repo_id: str, *, factory_reboot: bool = False) -> SpaceRuntime:
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
        """
        validation.validate_repo_id(repo_id)
        validation.validate_bool(factory_reboot, arg="factory_reboot")
        spec = _wire.restart_request(repo_id, factory_reboot)

        async def check() -> SpaceRuntime | None:
            runtime = await self.get_space_runtime(repo_id)
            return runtime if stage_name(runtime.stage) in _RESTARTED_STAGES else None

        runtime = await self._ambiguity_safe(lambda: self._runtime_call(spec), before_resend=check)
        self._session.fences.record_restart(repo_id, runtime)
        return runtime

    async def enable_space_dev_mode(self, repo_id: str) -> SpaceRuntime:
        """Turn dev mode on (`POST …/dev-mode {"enabled": true}`). Idempotent."""
        validation.validate_repo_id(repo_id)
        return await self._runtime_call(_wire.dev_mode_request(repo_id, True))

    async def disable_space_dev_mode(self, repo_id: str) -> SpaceRuntime:
        """Turn dev mode off (`POST …/dev-mode {"enabled": false}`). Idempotent."""
        validation.validate_repo_id(repo_id)
        return await self._runtime_call(_wire.dev_mode_request(repo_id, False))

    async def request_space_storage(self, repo_id: str, storage: str) -> SpaceRuntime:
        """Request a persistent-storage tier (`POST …/storage`; deprecated by the Hub, hub-api.md §8.4).
        Idempotent (setting a tier).

        Removed from huggingface_hub 2.x, kept here because the "Manage your Space" guide uses it.

        Args:
            repo_id: the Space.
            storage: `small`, `medium` or `large` (or a `SpaceStorage` member).

        Raises:
            StorageDowngradeError: the Space has a higher tier; tiers only go up (delete the storage first).
        """
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

    async def delete_space_storage(self, repo_id: str) -> SpaceRuntime:
        """Delete the persistent storage (`DELETE …/storage`; 400 when there is none). After an ambiguous
        failure, a 400 on the resend means our first attempt deleted it: the current runtime is returned."""
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

    async def set_space_volumes(self, repo_id: str, volumes: Sequence[Any]) -> None:
        """Replace the mounted volumes (`PUT …/volumes`, the whole list). Idempotent."""
        validation.validate_repo_id(repo_id)
        payload = _wire.volumes_payload(volumes, arg="volumes")
        await self._session.request(
            "PUT", _wire.space_path(repo_id, "/volumes"), json={"volumes": payload}, idempotent=True
        )

    async def delete_space_volumes(self, repo_id: str) -> None:
        """Remove every volume (`DELETE …/volumes`; 400 when there are none). Reconciled like
        `delete_space_storage`."""
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

    async def list_spaces_hardware(self) -> list[SpaceHardwareInfo]:
        """Hardware flavors with prices (`GET /api/spaces/hardware`, hub-api.md §8.6)."""
        response = await self._session.request("GET", "/api/spaces/hardware", idempotent=True)
        return _wire.parse_hardware_list(_wire.json_body(response))

    async def fetch_space_logs(
        self, repo_id: str, *, build: bool = False, follow: bool = False
    ) -> AsyncGenerator[str, None]:
        """Iterate over the run logs (or build logs with `build=True`) over SSE (hub-api.md §9).

        Without `follow`, yields what the Hub has buffered and stops (end of stream, 5 s of silence, or the
        first line stamped after the response's `Date`). With `follow`, streams until the Hub closes the
        stream, reconnecting up to 5 times (1-2 s apart at first,
        doubling, at most 10 s); the Hub replays the log from the start on
        every connection, and already-yielded lines are skipped by counting events, as huggingface_hub does.
        Close the iterator (`aclosing`) to stop early; the response is closed with it.

        An open log stream holds one of the client's `max_concurrency` slots until it ends: following more
        streams than that at once would leave no slot for other calls, so raise `max_concurrency` (or use a
        second client) when following many logs.
        """
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
                        async for line in response.aiter_lines():
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
