"""The repo operations of `SpacesClient`: account and repos (create, delete, duplicate, settings); and the
base of the Hub operations (the session, and resending non-idempotent calls safely).

Each public method is build (`_wire`) → send (`Session.request`) → parse (`_wire`/`models`). Arguments are
validated before any request. Names and argument names follow huggingface_hub 2.4's `HfApi` (`token` must
be the client's own: a client is one identity, see `_check_token`); `duplicate_space`, which that release
removed, follows hub-api.md §16.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import (
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

import attrs

from . import _wire, errors, validation
from ._retry import Failure, Outcome, Retrying
from ._session import Session
from .models import (
    DuplicatedRepoUrl,
    RepoUrl,
    SpaceTemplate,
)

logger = logging.getLogger("aiospaces")

T = TypeVar("T")

_CONFLICT_IN_PROGRESS = "another conflicting operation is in progress"


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


def _in_progress(exc: Exception) -> bool:
    """The Hub's 409 for a concurrent operation on the same user's repos (hub-api.md §3.4): try again."""
    return isinstance(exc, errors.ConflictError) and _CONFLICT_IN_PROGRESS in (exc.server_message or "")


@attrs.frozen(kw_only=True)
class _NewRepo:
    """The checked arguments of `create_repo`, and the request body they make (hub-api.md §5.1)."""

    repo_id: str
    repo_type: str | None
    visibility: str | None
    sdk: str | None
    template: str | None
    hardware: str | None
    storage: str | None
    sleep_time: int | None
    secrets: list[dict[str, str]] | None
    variables: list[dict[str, str]] | None
    volumes: list[dict[str, Any]] | None
    resource_group_id: str | None
    region: str | None

    @classmethod
    def check(
        cls,
        repo_id: object,
        *,
        private: object,
        visibility: object,
        repo_type: object,
        resource_group_id: object,
        region: object,
        space_sdk: object,
        space_hardware: object,
        space_storage: object,
        space_sleep_time: object,
        space_secrets: object,
        space_variables: object,
        space_volumes: object,
        space_template: object,
    ) -> _NewRepo:
        """Check every argument before any request (ValueError/TypeError naming it)."""
        checked_id = validation.validate_repo_id(repo_id, allow_bare_name=True)
        rtype = validation.validate_repo_type(repo_type)
        resolved_visibility = _wire.resolve_visibility(private, visibility, rtype)
        sdk = validation.enum_value(space_sdk, arg="space_sdk") if space_sdk is not None else None
        template = None
        if space_template is not None:
            if rtype != "space":
                raise ValueError("space_template can only be used with repo_type='space'")
            template = validation.enum_value(space_template, arg="space_template")
        if rtype == "space" and sdk is None and space_template is None:
            raise ValueError(f"space_sdk is required for a Space; one of {', '.join(_wire.SPACE_SDKS)}")
        if sdk is not None and sdk not in _wire.SPACE_SDKS:
            raise ValueError(f"space_sdk must be one of {', '.join(_wire.SPACE_SDKS)}, got {sdk!r}")
        hardware = None
        if space_hardware is not None:
            hardware = validation.validate_hardware(space_hardware, arg="space_hardware")
        storage = None
        if space_storage is not None:
            storage = validation.validate_storage(space_storage, arg="space_storage")
        sleep_time = None
        if space_sleep_time is not None:
            sleep_time = validation.validate_sleep_time(space_sleep_time, arg="space_sleep_time")
        volumes = _wire.volumes_payload(space_volumes, arg="space_volumes") if space_volumes else None
        region_value = None if region is None else validation.enum_value(region, arg="region")
        if region_value is not None and region_value not in ("us", "eu"):
            raise ValueError(f"region must be 'us' or 'eu', got {region!r}")
        return cls(
            repo_id=checked_id,
            repo_type=rtype,
            visibility=resolved_visibility,
            sdk=sdk,
            template=template,
            hardware=hardware,
            storage=storage,
            sleep_time=sleep_time,
            secrets=_wire.secrets_list(space_secrets, arg="space_secrets"),
            variables=_wire.secrets_list(space_variables, arg="space_variables"),
            volumes=volumes,
            resource_group_id=validation.validate_optional_str(resource_group_id, arg="resource_group_id"),
            region=region_value,
        )

    def from_template(self, template: SpaceTemplate) -> _NewRepo:
        """The SDK (and the visibility, when none was asked for) of the Space template used."""
        if self.sdk is not None and self.sdk != template.sdk:
            raise ValueError(f"space_sdk must match the template's SDK {template.sdk!r}, got {self.sdk!r}")
        visibility = self.visibility
        if template.preferred_private and visibility is None:
            visibility = "private"
        return attrs.evolve(self, sdk=template.sdk, template=template.repo_id, visibility=visibility)

    def payload(self) -> dict[str, Any]:
        """The JSON body of `POST /api/repos/create`; warns about Space arguments that cannot apply."""
        namespace, name = self.repo_id.split("/") if "/" in self.repo_id else (None, self.repo_id)
        payload: dict[str, Any] = {"name": name, "organization": namespace}
        if self.visibility is not None:
            payload["visibility"] = self.visibility
        if self.repo_type is not None:
            payload["type"] = self.repo_type
        space_args = {
            "hardware": self.hardware,
            "storageTier": self.storage,
            "sleepTimeSeconds": self.sleep_time,
            "secrets": self.secrets,
            "variables": self.variables,
            "volumes": self.volumes,
        }
        # stacklevel 3: the caller of `create_repo`.
        if self.repo_type == "space":
            payload["sdk"] = self.sdk
            if self.template is not None:
                payload["template"] = self.template
            payload.update({k: v for k, v in space_args.items() if v is not None})
            if self.sleep_time is not None and self.hardware == "cpu-basic":
                warnings.warn(
                    "cpu-basic Spaces sleep after 48 hours of inactivity; this cannot be configured "
                    "(choose upgraded hardware to set a sleep time).",
                    UserWarning,
                    stacklevel=3,
                )
        elif any(v is not None for v in space_args.values()) or self.sdk is not None:
            warnings.warn(
                "Ignoring Space arguments because repo_type is not 'space'.", UserWarning, stacklevel=3
            )
        if self.resource_group_id is not None:
            payload["resourceGroupId"] = self.resource_group_id
        if self.region is not None:
            payload["region"] = self.region
        return payload


class RepoOperations:
    """The repo operations of `SpacesClient` (the first of its base classes), on the client's `Session`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.endpoint: str = session.endpoint
        self._whoami_cache: dict[str, Any] | None = None

    def _check_token(self, token: object) -> None:
        """Refuse a per-call `token` (`HfApi`'s argument) naming another identity than this client's, before
        any request: see `validation.validate_call_token`."""
        validation.validate_call_token(token, own=self._session.config.token)

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

    async def whoami(self, token: bool | str | None = None, *, cache: bool = False) -> dict[str, Any]:
        """`GET /api/whoami-v2` (hub-api.md §2.5): the token's user, orgs and token role.

        Args:
            cache: reuse this client's previous successful answer (errors are not cached).
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).
        """
        self._check_token(token)
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
        token: bool | str | None = None,
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
        self._check_token(token)
        spec = _NewRepo.check(
            repo_id,
            private=private,
            visibility=visibility,
            repo_type=repo_type,
            resource_group_id=resource_group_id,
            region=region,
            space_sdk=space_sdk,
            space_hardware=space_hardware,
            space_storage=space_storage,
            space_sleep_time=space_sleep_time,
            space_secrets=space_secrets,
            space_variables=space_variables,
            space_volumes=space_volumes,
            space_template=space_template,
        )
        validation.validate_bool(exist_ok, arg="exist_ok")
        if space_template is not None:
            spec = spec.from_template(await self._find_template(space_template))
        payload = spec.payload()
        rtype, validate_repo = spec.repo_type, spec.repo_id

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

        secret_values = [s["value"] for s in spec.secrets or []]
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
        self,
        repo_id: str,
        *,
        token: bool | str | None = None,
        repo_type: str | None = None,
        missing_ok: bool = False,
    ) -> None:
        """Delete a repo (`DELETE /api/repos/delete`, hub-api.md §5.2).

        A not-found answering a resend after an ambiguous failure means our first attempt deleted it: success.

        Raises:
            RepositoryNotFoundError: the repo does not exist and `missing_ok` is False.
        """
        self._check_token(token)
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
        token: bool | str | None = None,
        repo_type: str | None = None,
    ) -> None:
        """Change visibility and/or gating (`PUT /api/{type}s/{id}/settings`, hub-api.md §5.3). Idempotent.

        Raises:
            ValueError: nothing to change, or an invalid `gated`/`visibility`.
        """
        self._check_token(token)
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
        token: bool | str | None = None,
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
        self._check_token(token)
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
        token: bool | str | None = None,
        exist_ok: bool = False,
        hardware: str | None = None,
        storage: str | None = None,
        sleep_time: int | str | None = None,
        secrets: Sequence[Mapping[str, str]] | None = None,
        variables: Sequence[Mapping[str, str]] | None = None,
    ) -> RepoUrl:
        """Duplicate a Space (hub-api.md §16; removed from huggingface_hub 2.x, kept here with its old
        parameters, including the deprecated `storage` tier)."""
        self._check_token(token)
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
