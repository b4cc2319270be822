"""Repos and their files: Space, model and dataset info, repo URLs, commits, tree entries, search hits.

Re-exported by `aiospaces.models`, where users import them from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._model_fields import opt_datetime, opt_str
from ._runtime_models import SpaceRuntime

__all__ = [
    "BlobLfsInfo",
    "CommitInfo",
    "DatasetInfo",
    "DuplicatedRepoUrl",
    "LastCommitInfo",
    "ModelInfo",
    "RepoFile",
    "RepoFolder",
    "RepoSibling",
    "RepoUrl",
    "SpaceInfo",
    "SpaceSearchResult",
]


@attrs.frozen
class BlobLfsInfo:
    """LFS details of a file listed in `SpaceInfo.siblings` (note: `sha256` here)."""

    size: int
    sha256: str
    pointer_size: int


@attrs.frozen
class RepoSibling:
    """A file of a repo as listed in `SpaceInfo.siblings`."""

    rfilename: str
    size: int | None = None
    blob_id: str | None = None
    lfs: BlobLfsInfo | None = None


def _siblings(value: object) -> list[RepoSibling] | None:
    """The `siblings` list of a repo object (hub-api.md §6.1), or None when the Hub did not send it."""
    if not isinstance(value, list):
        return None
    siblings = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        lfs = item.get("lfs")
        siblings.append(
            RepoSibling(
                rfilename=str(item.get("rfilename", "")),
                size=item.get("size"),
                blob_id=opt_str(item.get("blobId")),
                lfs=(
                    BlobLfsInfo(
                        size=int(lfs.get("size", 0)),
                        sha256=str(lfs.get("sha256", "")),
                        pointer_size=int(lfs.get("pointerSize", 0)),
                    )
                    if isinstance(lfs, Mapping)
                    else None
                ),
            )
        )
    return siblings


@attrs.frozen
class SpaceInfo:
    """A Space as returned by `space_info` and `list_spaces`. Most fields are optional: the
    Hub returns only what was asked for (`expand=`). Keys the model does not name stay in `raw`."""

    id: str
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    host: str | None = None
    subdomain: str | None = None
    likes: int | None = None
    sdk: str | None = None
    tags: list[str] | None = None
    trending_score: int | None = None
    used_storage: int | None = None
    card_data: dict[str, Any] | None = None
    siblings: list[RepoSibling] | None = None
    runtime: SpaceRuntime | None = None
    models: list[str] | None = None
    datasets: list[str] | None = None
    region: str | None = None
    resource_group: dict[str, Any] | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceInfo:
        """Parse a space object; `id` is the only required key (as in huggingface_hub)."""
        runtime = data.get("runtime")
        card = data.get("cardData")
        group = data.get("resourceGroup")
        tags = data.get("tags")
        return cls(
            id=str(data["id"]),
            author=opt_str(data.get("author")),
            sha=opt_str(data.get("sha")),
            created_at=opt_datetime(data.get("createdAt")),
            last_modified=opt_datetime(data.get("lastModified")),
            private=data.get("private") if isinstance(data.get("private"), bool) else None,
            gated=data.get("gated"),
            disabled=data.get("disabled") if isinstance(data.get("disabled"), bool) else None,
            host=opt_str(data.get("host")),
            subdomain=opt_str(data.get("subdomain")),
            likes=data.get("likes"),
            sdk=opt_str(data.get("sdk")),
            tags=[str(t) for t in tags] if isinstance(tags, list) else None,
            trending_score=data.get("trendingScore"),
            used_storage=data.get("usedStorage"),
            card_data=dict(card) if isinstance(card, Mapping) else None,
            siblings=_siblings(data.get("siblings")),
            # A falsy runtime means "not included" (huggingface_hub does the same).
            runtime=SpaceRuntime.from_dict(runtime) if isinstance(runtime, Mapping) and runtime else None,
            models=list(data["models"]) if isinstance(data.get("models"), list) else None,
            datasets=list(data["datasets"]) if isinstance(data.get("datasets"), list) else None,
            region=opt_str(data.get("region")),
            resource_group=dict(group) if isinstance(group, Mapping) else None,
            raw=dict(data),
        )


_URL_PREFIXES = {"spaces": "space", "datasets": "dataset", "kernels": "kernel"}


class RepoUrl(str):
    """A repo URL (a `str`), with `endpoint`, `namespace`, `repo_name`, `repo_id`, `repo_type` and `url`, as
    huggingface_hub's `RepoUrl`.

    Args:
        url: the repo's URL, e.g. `https://huggingface.co/spaces/alice/demo`.
        endpoint: the Hub endpoint the URL belongs to; defaults to the URL's own scheme and host.
    """

    endpoint: str
    namespace: str
    repo_name: str
    repo_id: str
    repo_type: str
    url: str

    def __new__(cls, url: str, endpoint: str | None = None) -> RepoUrl:
        return super().__new__(cls, url)

    def __init__(self, url: str, endpoint: str | None = None) -> None:
        super().__init__()
        parts = urlsplit(str(url))
        self.endpoint = (endpoint or f"{parts.scheme}://{parts.netloc}").rstrip("/")
        path = parts.path
        base_path = urlsplit(self.endpoint).path.rstrip("/")
        if base_path and path.startswith(base_path):
            path = path[len(base_path) :]
        segments = [s for s in path.split("/") if s]
        repo_type = "model"
        if segments and segments[0] in _URL_PREFIXES:
            repo_type = _URL_PREFIXES[segments.pop(0)]
        if len(segments) >= 2:
            self.namespace, self.repo_name = segments[0], segments[1]
        else:
            self.namespace, self.repo_name = "", segments[0] if segments else ""
        self.repo_id = f"{self.namespace}/{self.repo_name}" if self.namespace else self.repo_name
        self.repo_type = repo_type
        self.url = str(self)

    def __repr__(self) -> str:
        return (
            f"RepoUrl('{self}', endpoint='{self.endpoint}', repo_type='{self.repo_type}', "
            f"repo_id='{self.repo_id}')"
        )


class DuplicatedRepoUrl(RepoUrl):
    """`RepoUrl` returned by `duplicate_repo`; `files_copy_pending` is True while LFS files are still
    copied."""

    files_copy_pending: bool = False


class CommitInfo(str):
    """A commit just created (a `str`: its URL), as huggingface_hub's `CommitInfo`.

    Attributes:
        commit_url: URL of the commit.
        commit_message: the commit summary.
        commit_description: the commit description.
        oid: the commit sha.
        pr_url: URL of the pull request created (with `create_pr=True`).
        pr_revision: `refs/pr/<n>` for that pull request.
        pr_num: the pull request number.
        repo_url: the repo's `RepoUrl`.
    """

    commit_url: str
    commit_message: str
    commit_description: str
    oid: str
    pr_url: str | None
    pr_revision: str | None
    pr_num: int | None
    repo_url: RepoUrl

    def __new__(
        cls,
        commit_url: str,
        commit_message: str = "",
        commit_description: str = "",
        oid: str = "",
        pr_url: str | None = None,
        *,
        endpoint: str | None = None,
    ) -> CommitInfo:
        return super().__new__(cls, commit_url)

    def __init__(
        self,
        commit_url: str,
        commit_message: str = "",
        commit_description: str = "",
        oid: str = "",
        pr_url: str | None = None,
        *,
        endpoint: str | None = None,
    ) -> None:
        super().__init__()
        self.commit_url = commit_url
        self.commit_message = commit_message
        self.commit_description = commit_description
        self.oid = oid
        self.pr_url = pr_url
        # `…/commit/<sha>` → the repo URL is everything before `/commit/`.
        self.repo_url = RepoUrl(commit_url.split("/commit/")[0], endpoint=endpoint)
        self.pr_num = None
        self.pr_revision = None
        if pr_url:
            tail = pr_url.rstrip("/").rsplit("/", 1)[-1]
            if tail.isdigit():
                self.pr_num = int(tail)
                self.pr_revision = f"refs/pr/{tail}"

    def __repr__(self) -> str:
        return f"CommitInfo(commit_url={self.commit_url!r}, oid={self.oid!r}, pr_url={self.pr_url!r})"


@attrs.frozen
class ModelInfo:
    """A model repo as returned by `repo_info(repo_type="model")` (`GET /api/models/{id}`), with
    huggingface_hub's attribute names for the fields every repo has; everything else stays in `raw`."""

    id: str
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    downloads: int | None = None
    likes: int | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    tags: list[str] | None = None
    card_data: dict[str, Any] | None = None
    siblings: list[RepoSibling] | None = None
    used_storage: int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        """Parse a model object; `id` is the only required key."""
        common = _repo_fields(data)
        return cls(
            **common,
            downloads=data.get("downloads"),
            library_name=opt_str(data.get("library_name")),
            pipeline_tag=opt_str(data.get("pipeline_tag")),
        )


@attrs.frozen
class DatasetInfo:
    """A dataset repo as returned by `repo_info(repo_type="dataset")` (`GET /api/datasets/{id}`), with
    huggingface_hub's attribute names for the fields every repo has; everything else stays in `raw`."""

    id: str
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    downloads: int | None = None
    likes: int | None = None
    tags: list[str] | None = None
    card_data: dict[str, Any] | None = None
    siblings: list[RepoSibling] | None = None
    used_storage: int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetInfo:
        """Parse a dataset object; `id` is the only required key."""
        return cls(**_repo_fields(data), downloads=data.get("downloads"))


def _repo_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields models and datasets share, by huggingface_hub's names (hub-api.md §6.1)."""
    tags = data.get("tags")
    card = data.get("cardData")
    return {
        "id": str(data["id"]),
        "author": opt_str(data.get("author")),
        "sha": opt_str(data.get("sha")),
        "created_at": opt_datetime(data.get("createdAt")),
        "last_modified": opt_datetime(data.get("lastModified")),
        "private": data.get("private") if isinstance(data.get("private"), bool) else None,
        "gated": data.get("gated"),
        "disabled": data.get("disabled") if isinstance(data.get("disabled"), bool) else None,
        "likes": data.get("likes"),
        "tags": [str(t) for t in tags] if isinstance(tags, list) else None,
        "card_data": dict(card) if isinstance(card, Mapping) else None,
        "siblings": _siblings(data.get("siblings")),
        "used_storage": data.get("usedStorage"),
        "raw": dict(data),
    }


@attrs.frozen
class LastCommitInfo:
    """The last commit that touched a tree entry (`lastCommit`, only with `expand=True`)."""

    oid: str
    title: str
    date: datetime | None

    @classmethod
    def from_dict(cls, data: object) -> LastCommitInfo | None:
        """Parse `lastCommit` (`id`, `title`, `date`), or None when absent."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            oid=str(data.get("id", "")),
            title=str(data.get("title", "")),
            date=opt_datetime(data.get("date")),
        )


@attrs.frozen
class RepoFile:
    """A file of a repo tree, as huggingface_hub's `RepoFile` (`GET /api/{type}s/{id}/tree/...`).
    `lfs.sha256` is the tree's `lfs.oid`."""

    path: str
    size: int
    blob_id: str
    lfs: BlobLfsInfo | None = None
    xet_hash: str | None = None
    last_commit: LastCommitInfo | None = None

    @property
    def rfilename(self) -> str:
        """The path (huggingface_hub's older name for it)."""
        return self.path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepoFile:
        """Parse a tree entry of type `file`."""
        lfs = data.get("lfs")
        return cls(
            path=str(data["path"]),
            size=int(data.get("size") or 0),
            blob_id=str(data.get("oid", "")),
            lfs=(
                BlobLfsInfo(
                    size=int(lfs.get("size", 0)),
                    sha256=str(lfs.get("oid", "")),
                    pointer_size=int(lfs.get("pointerSize", 0)),
                )
                if isinstance(lfs, Mapping)
                else None
            ),
            xet_hash=opt_str(data.get("xetHash")),
            last_commit=LastCommitInfo.from_dict(data.get("lastCommit")),
        )


@attrs.frozen
class RepoFolder:
    """A folder of a repo tree, as huggingface_hub's `RepoFolder`."""

    path: str
    tree_id: str
    last_commit: LastCommitInfo | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepoFolder:
        """Parse a tree entry of type `directory`."""
        return cls(
            path=str(data["path"]),
            tree_id=str(data.get("oid", "")),
            last_commit=LastCommitInfo.from_dict(data.get("lastCommit")),
        )


@attrs.frozen
class SpaceSearchResult:
    """One hit of `search_spaces` (`GET /api/spaces/semantic-search`), as huggingface_hub's
    `SpaceSearchResult`."""

    id: str
    author: str = ""
    title: str = ""
    emoji: str | None = None
    sdk: str | None = None
    likes: int = 0
    private: bool = False
    tags: list[str] | None = None
    runtime: SpaceRuntime | None = None
    ai_short_description: str | None = None
    ai_category: str | None = None
    semantic_relevancy_score: float | None = None
    trending_score: int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceSearchResult:
        """Parse one hit; `id` is the only required key (snake_case `ai_*` keys beside camelCase ones)."""
        runtime = data.get("runtime")
        tags = data.get("tags")
        score = data.get("semanticRelevancyScore")
        return cls(
            id=str(data["id"]),
            author=str(data.get("author") or ""),
            title=str(data.get("title") or ""),
            emoji=opt_str(data.get("emoji")),
            sdk=opt_str(data.get("sdk")),
            likes=int(data.get("likes") or 0),
            private=data.get("private") is True,
            tags=[str(t) for t in tags] if isinstance(tags, list) else None,
            runtime=SpaceRuntime.from_dict(runtime) if isinstance(runtime, Mapping) and runtime else None,
            ai_short_description=opt_str(data.get("ai_short_description")),
            ai_category=opt_str(data.get("ai_category")),
            semantic_relevancy_score=float(score) if isinstance(score, int | float) else None,
            trending_score=data.get("trendingScore"),
            raw=dict(data),
        )
