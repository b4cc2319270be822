"""Downloads: `hf_hub_download` into the huggingface_hub cache layout or a local folder, and `read_file`
(hub-api.md §12, checked against huggingface_hub 2.4.0 `file_download.py`).

A file is downloaded chunk by chunk into a temporary file that is renamed into place once its size is
checked; a body cut off mid-stream is resumed from the bytes received (`Range`), through the shared retry
loop.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.to_thread
import httpx2

from . import errors
from ._commit_models import COMMIT_HASH_RE, HASH_CHUNK, SHA256_RE, normalize_etag, repo_folder_name
from ._retry import Failure, Outcome, Retrying, RetryPolicy
from ._session import Session
from ._wire import resolve_path
from .validation import (
    resolve_repo_type,
    validate_bool,
    validate_filename,
    validate_optional_str,
    validate_repo_id,
    validate_revision,
    validate_seconds,
)

# Errors after which `hf_hub_download` may serve a cached copy instead (the official client does the same
# for connection errors, timeouts and 5xx, file_download.py `_get_metadata_or_catch_error`).
_OFFLINE_ERRORS: tuple[type[BaseException], ...] = (
    errors.TransportError,
    errors.ServerError,
    errors.RateLimitedError,
    errors.OfflineModeError,
)


_MAX_RESUMES = 5  # resumptions of a download cut mid-stream (huggingface_hub's `http_get`)
_RESUME_POLICY = RetryPolicy(max_attempts=_MAX_RESUMES + 1, base_delay=1.0, max_delay=8.0)


class _Interrupted(Exception):
    """A download's body was cut off after the status line: resumed from the bytes received."""

    def __init__(self, cause: errors.TransportError) -> None:
        super().__init__(str(cause))
        self.reason = str(cause)


def _resumable(exc: Exception) -> Failure | None:
    return Failure(Outcome.NO_ANSWER, exc.reason) if isinstance(exc, _Interrupted) else None


# An ETag fit to be a file name in the cache: git sha-1 / sha-256 hex on the Hub, tolerant of other storage
# ids (letters, digits, `-`, `_`, inner dots), never a path.
_MAX_RELATIVE_REDIRECTS = 5  # a renamed repo answers a relative redirect; a loop of them is an error
_SAFE_ETAG = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,254}")


class Downloads:
    """`hf_hub_download` and `read_file` of `SpacesClient` (documented in `_file_ops.FileCalls`), on the
    client's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # --- downloads -------------------------------------------------------------------------------------

    async def hf_hub_download(
        self,
        repo_id: str,
        filename: str,
        *,
        subfolder: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_dir: str | Path | None = None,
        force_download: bool = False,
        etag_timeout: float = 10,
        local_files_only: bool = False,
    ) -> str:
        """`SpacesClient.hf_hub_download`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        repo_type = resolve_repo_type(repo_type)
        revision = validate_revision(revision)
        filename = validate_filename(filename)
        folder = (validate_optional_str(subfolder, arg="subfolder") or "").strip("/")
        if folder:
            filename = f"{validate_filename(folder, arg='subfolder')}/{filename}"
        for name, value in (("cache_dir", cache_dir), ("local_dir", local_dir)):
            if value is not None and not isinstance(value, (str, Path)):
                raise TypeError(f"{name} must be a str, Path or None, got {type(value).__name__}")
        force_download = validate_bool(force_download, arg="force_download", optional=True)
        local_files_only = validate_bool(local_files_only, arg="local_files_only", optional=True)
        etag_timeout = validate_seconds(etag_timeout, arg="etag_timeout")

        url = resolve_path(repo_type, repo_id, revision, filename)

        def url_at(commit: str) -> str:
            # The content is fetched at the commit the metadata named, not at the branch: a commit landing
            # between the HEAD and the GET must not give a body that contradicts the ETag and size.
            return resolve_path(repo_type, repo_id, commit, filename)

        if local_dir is not None:
            return await self._download_to_local_dir(
                _expand(local_dir),
                url,
                url_at,
                filename,
                revision,
                force_download,
                local_files_only,
                etag_timeout,
            )
        # The default cache is part of the configuration, resolved once when the client was created.
        storage = _expand(cache_dir if cache_dir is not None else self._session.config.hub_cache)
        storage = storage / repo_folder_name(repo_id, repo_type)
        return await self._download_to_cache(
            storage, url, url_at, filename, revision, force_download, local_files_only, etag_timeout
        )

    async def _file_metadata(self, url: str, etag_timeout: float) -> tuple[str, str, int | None]:
        """`(commit sha, etag, size)` of a resolve URL from a `HEAD` request (hub-api.md §12.2).

        As huggingface_hub does, only relative redirects (a renamed repo, on the Hub itself) are followed: an
        LFS file answers 302 to storage with its metadata in `X-Linked-*` headers, and a storage URL signed
        for GET need not accept a HEAD.
        """
        target = url
        for _ in range(_MAX_RELATIVE_REDIRECTS + 1):
            response = await self._session.request(
                "HEAD",
                target,
                headers={"Accept-Encoding": "identity"},
                idempotent=True,
                timeout=etag_timeout,
                follow_redirects=False,
            )
            location = response.headers.get("location")
            if not (response.is_redirect and location):
                break
            try:
                hop = httpx2.URL(location)
            except httpx2.InvalidURL:
                raise errors.UnexpectedResponseError(
                    f"the Hub redirected {url} to a malformed location: {location[:80]!r}"
                ) from None
            if hop.scheme or hop.host:  # absolute or scheme-relative (`//host/...`): storage, not the Hub
                break
            target = str(response.url.join(hop))
        else:
            raise errors.UnexpectedResponseError(f"too many redirects in the Hub's answers for {url}")
        commit = response.headers.get("x-repo-commit")
        if not commit:
            raise errors.UnexpectedResponseError(
                f"the Hub sent no X-Repo-Commit for {url}: is the endpoint a Hugging Face Hub?"
            )
        etag = normalize_etag(response.headers.get("x-linked-etag") or response.headers.get("etag"))
        size_header = response.headers.get("x-linked-size") or (
            None if response.is_redirect else response.headers.get("content-length")
        )
        if not etag:
            raise errors.UnexpectedResponseError(f"the Hub sent no ETag for {url}")
        # Both name paths in the cache (`blobs/<etag>`, `snapshots/<commit>/`): a value with `/` or `..` would
        # write outside it, so anything but a plain token is refused.
        if not COMMIT_HASH_RE.fullmatch(commit):
            raise errors.UnexpectedResponseError(
                f"the Hub sent a malformed X-Repo-Commit for {url}: {commit[:80]!r}"
            )
        if not _SAFE_ETAG.fullmatch(etag):
            raise errors.UnexpectedResponseError(f"the Hub sent a malformed ETag for {url}: {etag[:80]!r}")
        return commit, etag, int(size_header) if size_header and size_header.isdigit() else None

    async def _download_to_cache(
        self,
        storage: Path,
        url: str,
        url_at: Callable[[str], str],
        filename: str,
        revision: str,
        force_download: bool,
        local_files_only: bool,
        etag_timeout: float,
    ) -> str:
        relative = Path(*filename.split("/"))
        if COMMIT_HASH_RE.fullmatch(revision) and not force_download:
            pointer = storage / "snapshots" / revision / relative
            if pointer.exists():
                return str(pointer)
        if local_files_only:
            cached = _cached_pointer(storage, revision, relative)
            if cached is None:
                raise FileNotFoundError(
                    f"{filename!r} at {revision!r} is not in the cache and local_files_only=True"
                )
            return cached
        try:
            commit, etag, size = await self._file_metadata(url, etag_timeout)
        except _OFFLINE_ERRORS:
            cached = None if force_download else _cached_pointer(storage, revision, relative)
            if cached is None:
                raise
            return cached

        blob = storage / "blobs" / etag
        pointer = storage / "snapshots" / commit / relative
        if revision != commit:
            await anyio.to_thread.run_sync(_write_ref, storage, revision, commit)
        if not force_download and await anyio.to_thread.run_sync(_points_to, pointer, blob):
            return str(pointer)
        if force_download or not await anyio.to_thread.run_sync(blob.exists):
            await self._download_blob(url_at(commit), blob, etag, size)
        await anyio.to_thread.run_sync(_link_pointer, blob, pointer)
        return str(pointer)

    async def _download_to_local_dir(
        self,
        local_dir: Path,
        url: str,
        url_at: Callable[[str], str],
        filename: str,
        revision: str,
        force_download: bool,
        local_files_only: bool,
        etag_timeout: float,
    ) -> str:
        target = local_dir / Path(*filename.split("/"))
        hf_dir = local_dir / ".cache" / "huggingface"
        metadata_path = hf_dir / "download" / f"{Path(*filename.split('/'))}.metadata"
        metadata = await anyio.to_thread.run_sync(_read_local_metadata, metadata_path, target)
        if (
            not force_download
            and metadata is not None
            and COMMIT_HASH_RE.fullmatch(revision)
            and metadata[0] == revision
        ):
            return str(target)
        if local_files_only:
            if target.is_file():
                return str(target)
            raise FileNotFoundError(f"{filename!r} is not in {str(local_dir)!r} and local_files_only=True")
        try:
            commit, etag, size = await self._file_metadata(url, etag_timeout)
        except _OFFLINE_ERRORS:
            if target.is_file() and not force_download:
                return str(target)
            raise
        if not force_download and target.is_file():
            up_to_date = metadata is not None and metadata[1] == etag
            if not up_to_date and metadata is None and SHA256_RE.fullmatch(etag):
                # No metadata but an LFS etag: the content hash tells whether the local file is current.
                up_to_date = await anyio.to_thread.run_sync(_sha256_file, target) == etag
            if up_to_date:
                await anyio.to_thread.run_sync(_write_local_metadata, hf_dir, metadata_path, commit, etag)
                return str(target)
        await self._download_blob(url_at(commit), target, etag, size)
        await anyio.to_thread.run_sync(_write_local_metadata, hf_dir, metadata_path, commit, etag)
        return str(target)

    async def _download_blob(self, url: str, destination: Path, etag: str, size: int | None) -> None:
        """Stream `url` into a temporary file beside `destination`, check it, then rename it into place.

        A body cut mid-stream is resumed with `Range: bytes=<received>-` (up to `_MAX_RESUMES` times, as the
        official client does, hub-api.md §12.3); a server answering 200 instead of 206 restarts from zero.
        """
        await anyio.to_thread.run_sync(lambda: destination.parent.mkdir(parents=True, exist_ok=True))
        temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}.incomplete")
        # An LFS etag is the content's sha-256: check it while streaming (corrupt or truncated bodies fail).
        checked = SHA256_RE.fullmatch(etag) is not None
        digest = hashlib.sha256()
        received = 0
        pending = bytearray()
        try:
            resumes = Retrying(
                _RESUME_POLICY,
                clock=self._session.clock,
                rng=self._session.transport.rng,
                classify=_resumable,
                what="download",
                target=url,
            )
            async with await anyio.open_file(temporary, "wb") as out:
                try:
                    async for attempt in resumes:
                        with attempt:
                            # Uncompressed: the byte counts behind `Range` and the size check are the file's
                            # own (with gzip, a range would index the compressed stream and a resume would
                            # corrupt it).
                            headers = {"Accept-Encoding": "identity"}
                            if received:
                                headers["Range"] = f"bytes={received}-"
                            async with self._session.stream("GET", url, headers=headers) as response:
                                if received and response.status_code != 206:
                                    # The server ignored the range: start again from the first byte.
                                    await out.seek(0)
                                    await out.truncate()
                                    received, digest = 0, hashlib.sha256()
                                    pending.clear()
                                try:
                                    async for chunk in response.aiter_bytes():
                                        received += len(chunk)
                                        if checked:
                                            digest.update(chunk)
                                        pending += chunk
                                        if len(pending) >= HASH_CHUNK:  # large pieces: fewer thread hops
                                            await out.write(pending)
                                            pending.clear()
                                except errors.TransportError as exc:
                                    if isinstance(exc, errors.BodyDecodingError):
                                        raise
                                    await out.write(pending)  # what arrived before the cut is good: keep it
                                    pending.clear()
                                    raise _Interrupted(exc) from None
                            await out.write(pending)
                except _Interrupted as cut:
                    raise errors.TransportError(
                        f"download of {url} failed after {received} bytes: {cut.reason}",
                        method="GET",
                        url=url,
                        sent=True,
                    ) from None
            if size is not None and received != size:
                raise errors.TransportError(
                    f"download of {url} ended after {received} of {size} bytes",
                    method="GET",
                    url=url,
                    sent=True,
                )
            if checked and digest.hexdigest() != etag:
                raise errors.TransportError(
                    f"download of {url} does not match its sha256 {etag}", method="GET", url=url, sent=True
                )
            await anyio.to_thread.run_sync(os.replace, temporary, destination)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: temporary.unlink(missing_ok=True))

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> bytes | None:
        """`SpacesClient.read_file`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        filename = validate_filename(filename)
        repo_type = resolve_repo_type(repo_type)
        revision = validate_revision(revision)
        try:
            response = await self._session.request(
                "GET", resolve_path(repo_type, repo_id, revision, filename), idempotent=True
            )
        except errors.EntryNotFoundError:
            return None
        return response.content


def _expand(path: str | Path) -> Path:
    return Path(path).expanduser()


def _points_to(pointer: Path, blob: Path) -> bool:
    return pointer.exists() and os.path.realpath(pointer) == os.path.realpath(blob)


def _cached_pointer(storage: Path, revision: str, relative: Path) -> str | None:
    commit: str | None = revision if COMMIT_HASH_RE.fullmatch(revision) else None
    if commit is None:
        ref = storage / "refs" / revision
        if ref.is_file():
            commit = ref.read_text().strip()
    if commit is None:
        return None
    pointer = storage / "snapshots" / commit / relative
    return str(pointer) if pointer.exists() else None


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if ref.is_file() and ref.read_text() == commit:
        return
    # Atomic replace: a concurrent reader never sees a half-written ref.
    temporary = ref.with_name(f".{ref.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_text(commit)
    os.replace(temporary, ref)


def _link_pointer(blob: Path, pointer: Path) -> None:
    """Point `snapshots/<commit>/<file>` at the blob: a relative symlink, or a copy if symlinks fail."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(blob, pointer.parent)
    temporary = pointer.with_name(f".{pointer.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.symlink(relative, temporary)
    except (OSError, NotImplementedError):
        import shutil

        shutil.copyfile(blob, temporary)
    os.replace(temporary, pointer)  # atomic: concurrent downloads of the same file both succeed


def _read_local_metadata(metadata_path: Path, target: Path) -> tuple[str, str] | None:
    """`(commit, etag)` recorded for a `local_dir` download, if the file was not modified since."""
    try:
        commit, etag, timestamp = metadata_path.read_text().splitlines()[:3]
        if target.stat().st_mtime - 1 > float(timestamp):
            return None  # edited after download: the metadata no longer describes it
        return commit, etag
    except (OSError, ValueError):
        return None


def _write_local_metadata(hf_dir: Path, metadata_path: Path, commit: str, etag: str) -> None:
    metadata_path.parent.mkdir(parents=True, exist_ok=True)
    gitignore = hf_dir / ".gitignore"  # keeps the bookkeeping out of git, as huggingface_hub does
    if not gitignore.exists():
        gitignore.write_text("*")
    metadata_path.write_text(f"{commit}\n{etag}\n{time.time()}\n")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
