"""LFS uploads of a commit (hub-api.md §11.4, checked against huggingface_hub 2.4.0 `lfs.py`): the batch
request, then each object PUT whole or in parts to pre-signed storage URLs, streamed from disk.

Memory stays flat for large files: each part is an async iterable that re-opens the file (or re-reads a
caller's file object at absolute positions), so a retried request can send it again.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, BinaryIO, TypeVar

import anyio
import anyio.to_thread
import httpx2

from . import errors
from ._commit_models import (
    HASH_CHUNK,
    LFS_BATCH,
    LFS_HEADERS,
    CommitOperationAdd,
    LfsAction,
    lfs_batch_payload,
    multipart_completion_payload,
    parse_lfs_batch_response,
)
from ._session import Session
from ._wire import json_body, lfs_batch_path

_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _ContentSlice:
    """`length` bytes of an addition's content from `offset`, as a re-iterable async byte stream.

    Each iteration starts over, so the transport can send it again after a retry; each chunk is read in a
    worker thread so the event loop never blocks on disk. An attempt that failed mid-body leaves its
    iteration suspended (httpx does not close it): so a file on disk is opened per iteration, and a
    caller's file object is read chunk by chunk at absolute positions (seek, read, seek back in one step),
    never from wherever an abandoned attempt left it.
    """

    def __init__(
        self, op: CommitOperationAdd, offset: int, length: int, chunk_size: int = HASH_CHUNK
    ) -> None:
        self._op = op
        self._offset = offset
        self._length = length
        self._chunk_size = chunk_size
        source = op.path_or_fileobj
        # Where the content starts in a caller's file object (hashing restored it there).
        self._base = source.tell() if not isinstance(source, str | bytes) else 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        source = self._op.path_or_fileobj
        if isinstance(source, bytes):
            view = memoryview(source)[self._offset : self._offset + self._length]
            for start in range(0, len(view), self._chunk_size):
                yield bytes(view[start : start + self._chunk_size])
            return
        position, remaining = self._base + self._offset, self._length
        file = source if not isinstance(source, str) else await anyio.to_thread.run_sync(_open_local, source)
        read = functools.partial(_read_at, file)
        try:
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(read, position, min(self._chunk_size, remaining))
                if not chunk:
                    raise ValueError(f"{self._op.path_in_repo!r}: file shrank while uploading")
                position += len(chunk)
                remaining -= len(chunk)
                yield chunk
        finally:
            if file is not source:
                file.close()  # synchronous: also runs when an abandoned iteration is finalized


def _open_local(path: str) -> BinaryIO:
    return open(os.path.expanduser(path), "rb")


def _read_at(stream: BinaryIO, position: int, size: int) -> bytes:
    """`size` bytes at `position`, leaving the stream where it was."""
    before = stream.tell()
    try:
        stream.seek(position)
        return stream.read(size)
    finally:
        stream.seek(before)


class LfsUpload:
    """The LFS part of `create_commit`, on the client's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def upload(
        self,
        repo_id: str,
        repo_type: str,
        revision: str | None,
        additions: Sequence[CommitOperationAdd],
        limiter: anyio.CapacityLimiter,
    ) -> None:
        """Upload the content of `additions` the Hub does not have yet (batch, then one PUT or multipart
        upload per object, `limiter` bounding how many at once), each object once."""
        by_oid: dict[str, CommitOperationAdd] = {}
        for op in additions:
            by_oid.setdefault(op.upload_info.sha256, op)  # same content twice: upload it once
        unique = list(by_oid.values())
        actions: list[LfsAction] = []
        for chunk in _chunks(unique, LFS_BATCH):
            payload = lfs_batch_payload([op.upload_info for op in chunk], revision=revision)
            response = await self._session.request(
                "POST",
                lfs_batch_path(repo_type, repo_id),
                content=json.dumps(payload).encode(),
                headers=dict(LFS_HEADERS),
                idempotent=True,
            )
            chunk_actions, _already_stored = parse_lfs_batch_response(json_body(response))
            actions.extend(chunk_actions)

        async def upload(action: LfsAction) -> None:
            op = by_oid.get(action.oid)
            if op is None:
                raise errors.UnexpectedResponseError(
                    f"the Hub's LFS batch answer names an object it was not asked about: {action.oid}"
                )
            async with limiter:
                await self._upload_lfs_object(op, action)

        try:
            async with anyio.create_task_group() as tg:
                for action in actions:
                    tg.start_soon(upload, action)
        except BaseExceptionGroup as group:
            # The first failed upload cancels the others: its own error is raised, not the task group's
            # ExceptionGroup, so callers catch `TransportError`, `HubHTTPError`... as for any other call.
            cancelled = anyio.get_cancelled_exc_class()
            failures = [exc for exc in group.exceptions if not isinstance(exc, cancelled)]
            raise (failures or list(group.exceptions))[0] from None

    async def _upload_lfs_object(self, op: CommitOperationAdd, action: LfsAction) -> None:
        size = op.upload_info.size
        chunk_size = action.chunk_size
        if chunk_size is None:
            await self._lfs_put(action.upload_href, _ContentSlice(op, 0, size), size)
        else:
            etags: list[str | None] = []
            for number, url in enumerate(action.part_urls()):
                offset = number * chunk_size
                length = min(chunk_size, size - offset)
                response = await self._lfs_put(url, _ContentSlice(op, offset, length), length)
                etags.append(response.headers.get("etag"))
            await self._storage_request(
                "POST",
                action.upload_href,
                content=json.dumps(multipart_completion_payload(action.oid, etags)).encode(),
                headers=dict(LFS_HEADERS),
            )
        if action.verify_href is not None:
            await self._session.request(
                "POST",
                action.verify_href,
                content=json.dumps({"oid": action.oid, "size": size}).encode(),
                headers={**LFS_HEADERS, **action.verify_header},
                idempotent=True,
            )

    async def _lfs_put(self, url: str, content: _ContentSlice, length: int) -> httpx2.Response:
        # An explicit Content-Length keeps httpx from using chunked encoding, which S3-style storage refuses.
        # Re-sending the same object is harmless, hence idempotent.
        return await self._storage_request(
            "PUT", url, content=content, headers={"Content-Length": str(length)}
        )

    async def _storage_request(
        self, method: str, url: str, *, content: Any, headers: dict[str, str]
    ) -> httpx2.Response:
        """Send to a pre-signed storage URL (LFS upload, part or completion; hub-api.md §11.4).

        The official client sends these without auth headers: the URL authorises itself. The core request
        path sends the token only to the Hub's own host, and never shows another host's query string.
        """
        return await self._session.request(method, url, content=content, headers=headers, idempotent=True)
