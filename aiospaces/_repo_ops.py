"""Repo-level calls of `HfApi` that Space work uses besides the Space operations: search and templates,
existence checks, repo info, the repo tree, and moving a repo.

Each method is build → send (`Session.request`, the client's one request path) → parse, with huggingface_hub
2.4's names, arguments and return types (`token`: the client's own); the wire facts are cited per method
from its source (`hf_api.py`). The class sits between the Hub operations and the file calls (`_file_ops.py`)
in the client's base classes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from . import _wire, errors, validation
from ._core import HubOperations
from .models import DatasetInfo, ModelInfo, RepoFile, RepoFolder, SpaceInfo, SpaceSearchResult, SpaceTemplate


def _str_list(value: str | Iterable[str] | None, *, arg: str) -> list[str]:
    """One string or an iterable of them (huggingface_hub repeats the query key for each), checked."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [validation.enum_value(item, arg=arg) for item in items]


class RepoCalls(HubOperations):
    """The repo-level calls of `SpacesClient` (a base class of it)."""

    # --- search and templates --------------------------------------------------------------------------

    def search_spaces(
        self,
        query: str,
        *,
        filter: str | Iterable[str] | None = None,
        sdk: str | list[str] | None = None,
        include_non_running: bool = False,
        token: bool | str | None = None,
    ) -> AsyncIterator[SpaceSearchResult]:
        """Search Spaces (`GET /api/spaces/semantic-search`, hub-api.md §6.3), as `HfApi.search_spaces`.

        The Hub answers one JSON array (no pagination): embedding search for several words, full-text search
        for one. Iterate with `async for`.

        Args:
            query: the search text.
            filter: a tag or tags every hit must carry.
            sdk: only Spaces of this SDK (or these SDKs).
            include_non_running: include Spaces that are not running.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Raises:
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        return self._search_spaces(query, filter=filter, sdk=sdk, include_non_running=include_non_running)

    async def _search_spaces(
        self,
        query: str,
        *,
        filter: str | Iterable[str] | None = None,
        sdk: str | list[str] | None = None,
        include_non_running: bool = False,
    ) -> AsyncIterator[SpaceSearchResult]:
        """The iteration of `search_spaces` (its arguments checked on the first step)."""
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if not query.strip():
            raise ValueError("query can't be empty")
        params: list[tuple[str, str]] = [("q", query)]
        params += [("filter", tag) for tag in _str_list(filter, arg="filter")]
        params += [("sdk", name) for name in _str_list(sdk, arg="sdk")]
        if validation.validate_bool(include_non_running, arg="include_non_running"):
            params.append(("includeNonRunning", "true"))
        response = await self._session.request(
            "GET", "/api/spaces/semantic-search", params=params, idempotent=True
        )
        data = _wire.json_body(response)
        if not isinstance(data, list):
            raise errors.UnexpectedResponseError(
                "unexpected search_spaces payload from the Hub: expected a JSON array"
            )
        for item in data:
            if isinstance(item, dict) and "id" in item:
                yield SpaceSearchResult.from_dict(item)

    async def list_space_templates(self, *, token: bool | str | None = None) -> list[SpaceTemplate]:
        """The Space templates `create_repo(space_template=...)` accepts (`GET /api/spaces/templates`,
        hub-api.md §5.6), as `HfApi.list_space_templates`."""
        self._check_token(token)
        response = await self._session.request("GET", "/api/spaces/templates", idempotent=True)
        data = _wire.json_body(response)
        items = data.get("templates") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise errors.UnexpectedResponseError(
                "unexpected list_space_templates payload from the Hub: expected {'templates': [...]}"
            )
        return [SpaceTemplate.from_dict(item) for item in items if isinstance(item, dict)]

    # --- repo info and existence -----------------------------------------------------------------------

    async def repo_info(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        repo_type: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - HfApi's argument; a per-request httpx timeout
        files_metadata: bool = False,
        expand: Sequence[str] | None = None,
        token: bool | str | None = None,
    ) -> ModelInfo | DatasetInfo | SpaceInfo:
        """A repo's metadata (`GET /api/{type}s/{id}[/revision/{rev}]`), as `HfApi.repo_info`: a `ModelInfo`,
        `DatasetInfo` or `SpaceInfo` by `repo_type` (kernels are not supported here).

        Args:
            repo_id: `namespace/name`.
            revision: a branch, tag or commit.
            repo_type: "model" (default), "dataset" or "space".
            timeout: request timeout in seconds.
            files_metadata: include file sizes and LFS info (`blobs=true`).
            expand: only these properties; exclusive with `files_metadata`.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Raises:
            RepositoryNotFoundError, RevisionNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        rtype = validation.validate_repo_type(repo_type, allow_kernel=False)
        if rtype == "space":
            return await self.space_info(
                repo_id, revision=revision, timeout=timeout, files_metadata=files_metadata, expand=expand
            )
        validation.validate_repo_id(repo_id)
        validation.validate_timeout(timeout)
        validation.validate_bool(files_metadata, arg="files_metadata")
        if expand is not None and files_metadata:
            raise ValueError("expand and files_metadata cannot be passed together")
        if isinstance(expand, str):
            raise TypeError("expand must be a list of property names, not a str")
        params = [("expand", validation.enum_value(v, arg="expand")) for v in expand or ()]
        if files_metadata:
            params.append(("blobs", "true"))
        path = _wire.api_repo_path(rtype, repo_id)
        if revision is not None:
            path += f"/revision/{_wire.quote_revision(validation.validate_revision(revision))}"
        response = await self._session.request(
            "GET", path, params=params or None, idempotent=True, timeout=timeout
        )
        data = _wire.json_body(response)
        if not isinstance(data, dict) or "id" not in data:
            raise errors.UnexpectedResponseError(
                f"unexpected repo_info payload from the Hub for {repo_id}: expected an object with an id"
            )
        return DatasetInfo.from_dict(data) if rtype == "dataset" else ModelInfo.from_dict(data)

    async def repo_exists(
        self, repo_id: str, *, repo_type: str | None = None, token: bool | str | None = None
    ) -> bool:
        """Whether the repo exists, as `HfApi.repo_exists`: True also for a gated repo the token cannot read
        (403 `GatedRepo`); False for a repo not found or private to others (the Hub answers `RepoNotFound`).

        Raises:
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        try:
            await self.repo_info(repo_id, repo_type=repo_type)
        except errors.RepositoryNotFoundError:
            return False
        except errors.HubHTTPError as exc:
            if exc.error_code == "GatedRepo":
                return True  # huggingface_hub: it exists, we have no access
            raise
        return True

    async def file_exists(
        self,
        repo_id: str,
        filename: str,
        *,
        repo_type: str | None = None,
        revision: str | None = None,
        token: bool | str | None = None,
    ) -> bool:
        """Whether a file exists at `revision`, as `HfApi.file_exists`: a `HEAD` of its resolve URL
        (hub-api.md §12.2); a missing repo, revision or file is False, a gated repo raises.

        Raises:
            PermissionDeniedError: the repo is gated and the token has no access.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        validation.validate_repo_id(repo_id)
        rtype = validation.resolve_repo_type(repo_type)
        path = validation.validate_filename(filename)
        rev = validation.validate_revision(revision)
        try:
            # The Hub answers 302 for an LFS file (to storage): that is an answer about the file, so the
            # redirect is not followed (huggingface_hub's get_hf_file_metadata does the same).
            await self._session.request(
                "HEAD",
                _wire.resolve_path(rtype, repo_id, rev, path),
                headers={"Accept-Encoding": "identity"},
                idempotent=True,
                follow_redirects=False,
            )
        except (
            errors.RepositoryNotFoundError,
            errors.RevisionNotFoundError,
            errors.EntryNotFoundError,
        ):
            return False
        return True

    # --- the repo tree ---------------------------------------------------------------------------------

    def list_repo_tree(
        self,
        repo_id: str,
        path_in_repo: str | None = None,
        *,
        recursive: bool = False,
        expand: bool = False,
        revision: str | None = None,
        repo_type: str | None = None,
        token: bool | str | None = None,
    ) -> AsyncIterator[RepoFile | RepoFolder]:
        """The files and folders of a repo folder, as `HfApi.list_repo_tree` (iterate with `async for`).

        `GET /api/{type}s/{id}/tree/{rev}[/{path}]?recursive=&expand=`, following the `Link` pages (1,000
        entries a page, 50 with `expand`, hub-api.md §11.7); the folder path is percent-encoded whole, as
        huggingface_hub does.

        Args:
            repo_id: `namespace/name`.
            path_in_repo: the folder to list (default: the root).
            recursive: list the whole subtree.
            expand: include each entry's last commit (slower pages).
            revision: a branch, tag or commit (default "main").
            repo_type: "model" (default), "dataset" or "space".
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Raises:
            RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        return self._list_repo_tree(
            repo_id, path_in_repo, recursive=recursive, expand=expand, revision=revision, repo_type=repo_type
        )

    async def _list_repo_tree(
        self,
        repo_id: str,
        path_in_repo: str | None = None,
        *,
        recursive: bool = False,
        expand: bool = False,
        revision: str | None = None,
        repo_type: str | None = None,
    ) -> AsyncIterator[RepoFile | RepoFolder]:
        """The iteration of `list_repo_tree` (its arguments checked on the first step)."""
        validation.validate_repo_id(repo_id)
        rtype = validation.resolve_repo_type(repo_type)
        folder = (
            validation.validate_path_in_repo(path_in_repo, folder=True).strip("/")
            if path_in_repo is not None
            else ""
        )
        rev = validation.validate_revision(revision)
        recursive = validation.validate_bool(recursive, arg="recursive")
        expand = validation.validate_bool(expand, arg="expand")
        url: str | None = f"{_wire.api_repo_path(rtype, repo_id)}/tree/{_wire.quote_revision(rev)}"
        if folder:
            url = f"{url}/{quote(folder, safe='')}"
        params: dict[str, Any] | None = {
            "recursive": "true" if recursive else "false",
            "expand": "true" if expand else "false",
        }
        while url is not None:
            response = await self._session.request("GET", url, params=params, idempotent=True)
            entries = _wire.json_body(response)
            if not isinstance(entries, list):
                raise errors.UnexpectedResponseError(
                    f"malformed tree answer from the Hub for {repo_id}@{rev}"
                )
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                    continue
                is_file = entry.get("type") == "file"
                yield RepoFile.from_dict(entry) if is_file else RepoFolder.from_dict(entry)
            # The `next` URL already carries the query (cursor included).
            url = response.links.get("next", {}).get("url")
            params = None

    # --- moving ----------------------------------------------------------------------------------------

    async def move_repo(
        self, from_id: str, to_id: str, *, repo_type: str | None = None, token: bool | str | None = None
    ) -> None:
        """Rename or transfer a repo (`POST /api/repos/move {"fromRepo", "toRepo", "type"}`), as
        `HfApi.move_repo` (both ids need a namespace; the type defaults to "model", which the Hub requires).

        Safe to retry: after an ambiguous failure (the move may have happened), a 404 for `from_id` on the
        resend is our own earlier move when `to_id` now exists.

        Raises:
            RepositoryNotFoundError: `from_id` does not exist (or is not yours to see).
            ConflictError: `to_id` already exists.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        validation.validate_repo_id(from_id, arg="from_id")
        validation.validate_repo_id(to_id, arg="to_id")
        rtype = validation.resolve_repo_type(repo_type)
        body = {"fromRepo": from_id, "toRepo": to_id, "type": rtype}

        async def send() -> bool:
            await self._session.request("POST", "/api/repos/move", json=body, idempotent=False)
            return True

        async def settle(exc: errors.HubHTTPError) -> bool | None:
            if isinstance(exc, errors.NotFoundError) and await self.repo_exists(to_id, repo_type=rtype):
                return True
            return None

        await self._ambiguity_safe(send, on_error_after_ambiguous=settle)
