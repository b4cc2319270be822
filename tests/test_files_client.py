"""Files methods against scripted transports: argument checks, storage auth, flat memory for big files."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from aiospaces import SpacesClient, TransportError
from aiospaces._commit_models import CommitOperationAdd, CommitOperationDelete, git_blob_sha1

ENDPOINT = "https://hub.test"
STORAGE = "https://storage.test"
TOKEN = "hf_files_secret_token"
MB = 1 << 20


class _Refuse(httpx2.AsyncBaseTransport):
    """Fails the test if any request is sent."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        raise AssertionError(f"no request expected, got {request.method} {request.url}")


@pytest.mark.anyio
async def test_bad_input_is_rejected_before_any_request(tmp_path: Path) -> None:
    """Every files method raises TypeError/ValueError naming the argument, and nothing is sent."""
    transport = _Refuse()
    add = CommitOperationAdd("a.txt", b"x")
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport) as client:
        c = client
        commit = c.create_commit
        folder = c.upload_folder
        cases: list[tuple[Any, type[Exception], str]] = [
            (commit("a/b", [add], commit_message=""), ValueError, "commit_message"),
            (commit("a/b", [add], commit_message=3), TypeError, "commit_message"),  # type: ignore[arg-type]
            (commit("a/b", ["x"], commit_message="m"), TypeError, "operations"),  # type: ignore[list-item]
            (commit("a/b", [add], commit_message="m", parent_commit="main"), ValueError, "parent_commit"),
            (commit("a/b/c", [add], commit_message="m"), ValueError, "repo_id"),
            (commit("a/b", [add], commit_message="m", repo_type="spaces"), ValueError, "repo_type"),
            (commit("a/b", [add], commit_message="m", num_threads=0), ValueError, "num_threads"),
            (c.upload_file(path_or_fileobj=1, path_in_repo="x", repo_id="a/b"), TypeError, "path_or_fileobj"),  # type: ignore[arg-type]
            (
                c.upload_file(path_or_fileobj=b"x", path_in_repo="../x", repo_id="a/b"),
                ValueError,
                "path_in_repo",
            ),
            (folder(repo_id="a/b", folder_path=tmp_path / "missing"), ValueError, "folder_path"),
            (folder(repo_id="a/b", folder_path=tmp_path, allow_patterns=[1]), TypeError, "allow_patterns"),  # type: ignore[list-item]
            (
                folder(repo_id="a/b", folder_path=tmp_path, create_pr=True, revision="dev"),
                ValueError,
                "revision",
            ),
            (c.hf_hub_download("a/b", "../etc/passwd"), ValueError, "filename"),
            (c.hf_hub_download("a/b", "x", etag_timeout=0), ValueError, "etag_timeout"),
            (c.hf_hub_download("a/b", "x", cache_dir=3), TypeError, "cache_dir"),  # type: ignore[arg-type]
            (c.list_repo_files("a/b", revision=""), ValueError, "revision"),
        ]
        for coroutine, error, name in cases:
            with pytest.raises(error, match=name):
                await coroutine
    assert transport.requests == []
    with pytest.raises(ValueError, match="is_folder"):
        CommitOperationDelete("x", is_folder="sometimes")  # type: ignore[arg-type]


def _pattern(index: int) -> bytes:
    """One MB of deterministic, incompressible-looking bytes for chunk `index` of the big file."""
    seed = hashlib.sha256(index.to_bytes(4, "big")).digest()
    return (seed * (MB // len(seed)))[:MB]


class _StreamingHub(httpx2.AsyncBaseTransport):
    """A scripted Hub + storage that consumes uploads and serves downloads chunk by chunk, holding nothing.

    It answers exactly the routes a large LFS upload and a download need, and records what it saw so the
    test can check the wire (no auth on storage, sizes, hashes).
    """

    def __init__(self, size_mb: int) -> None:
        self.size_mb = size_mb
        sha = hashlib.sha256()
        for i in range(size_mb):
            sha.update(_pattern(i))
        self.sha256 = sha.hexdigest()
        self.uploaded_sha256: str | None = None
        self.uploaded_bytes = 0
        self.storage_auth: list[str | None] = []
        self.commit_lines: list[dict[str, Any]] = []
        self.commit = "c" * 40

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.url.host == "storage.test" and request.method == "PUT":
            self.storage_auth.append(request.headers.get("authorization"))
            digest = hashlib.sha256()
            assert isinstance(request.stream, httpx2.AsyncByteStream)
            async for chunk in request.stream:
                digest.update(chunk)
                self.uploaded_bytes += len(chunk)
            self.uploaded_sha256 = digest.hexdigest()
            return httpx2.Response(200)
        if path.endswith("/preupload/main"):
            files = json.loads(await request.aread())["files"]
            return httpx2.Response(
                200,
                json={
                    "files": [{"path": f["path"], "uploadMode": "lfs", "shouldIgnore": False} for f in files],
                    "commitOid": "b" * 40,
                },
            )
        if path.endswith(".git/info/lfs/objects/batch"):
            objects = json.loads(await request.aread())["objects"]
            return httpx2.Response(
                200,
                json={
                    "objects": [
                        {**o, "actions": {"upload": {"href": f"{STORAGE}/put/{o['oid']}?X-Amz-Signature=s"}}}
                        for o in objects
                    ]
                },
            )
        if path.endswith("/commit/main"):
            self.commit_lines = [json.loads(line) for line in (await request.aread()).splitlines()]
            return httpx2.Response(
                200,
                json={"commitOid": self.commit, "commitUrl": f"{ENDPOINT}/datasets/a/b/commit/{self.commit}"},
            )
        if "/resolve/" in path:
            headers = {
                "X-Repo-Commit": self.commit,
                "ETag": '"0123456789012345678901234567890123456789"',
                "X-Linked-Etag": f'"{self.sha256}"',
                "X-Linked-Size": str(self.size_mb * MB),
            }
            if request.method == "HEAD":
                return httpx2.Response(200, headers=headers)
            return httpx2.Response(200, headers=headers, stream=_Body(self.size_mb))
        raise AssertionError(f"unexpected {request.method} {request.url}")


class _Body(httpx2.AsyncByteStream):
    def __init__(self, size_mb: int) -> None:
        self.size_mb = size_mb

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(self.size_mb):
            yield _pattern(i)


def _sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


def _same_file(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _write_big_file(path: Path, size_mb: int) -> None:
    with open(path, "wb") as file:
        for i in range(size_mb):
            file.write(_pattern(i))


@pytest.mark.anyio
async def test_large_file_upload_and_download_keep_memory_flat(tmp_path: Path) -> None:
    """A 50 MB file is hashed, uploaded through LFS and downloaded with traced memory far below its size,
    the storage PUT carries no Hub token, and the bytes arrive intact."""
    size_mb = 50
    big = tmp_path / "weights.bin"
    _write_big_file(big, size_mb)
    hub = _StreamingHub(size_mb)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub) as client:
        tracemalloc.start()
        try:
            info = await client.upload_file(
                path_or_fileobj=big, path_in_repo="weights.bin", repo_id="a/b", repo_type="dataset"
            )
            _, upload_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            local = await client.hf_hub_download(
                "a/b", "weights.bin", repo_type="dataset", cache_dir=tmp_path / "cache"
            )
            _, download_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.oid == hub.commit
    assert hub.uploaded_bytes == size_mb * MB
    assert hub.uploaded_sha256 == hub.sha256
    assert hub.storage_auth == [None]  # the pre-signed URL authorises itself; the token stays with the Hub
    assert hub.commit_lines[1] == {
        "key": "lfsFile",
        "value": {"path": "weights.bin", "algo": "sha256", "oid": hub.sha256, "size": size_mb * MB},
    }
    assert upload_peak < 12 * MB, f"upload peak {upload_peak / MB:.1f} MB"
    assert download_peak < 12 * MB, f"download peak {download_peak / MB:.1f} MB"
    assert _sha256_of(local) == hub.sha256
    blob = tmp_path / "cache" / "datasets--a--b" / "blobs" / hub.sha256
    assert _same_file(local, blob)


@pytest.mark.anyio
async def test_truncated_download_is_rejected_and_leaves_no_file(tmp_path: Path) -> None:
    """A body shorter than the announced size raises TransportError and leaves no blob, pointer or temporary
    file."""
    data = b"hello world"

    async def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {"X-Repo-Commit": "d" * 40, "ETag": f'"{git_blob_sha1(data)}"', "Content-Length": "100"}
        if request.method == "HEAD":
            return httpx2.Response(200, headers=headers)
        return httpx2.Response(200, headers={"X-Repo-Commit": "d" * 40}, content=data)

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), retry=False
    ) as client:
        with pytest.raises(TransportError, match="ended after 11 of 100 bytes"):
            await client.hf_hub_download("a/b", "f.txt", cache_dir=tmp_path)
    assert _files_under(tmp_path) == [
        "models--a--b/refs/main"
    ]  # the ref is recorded first, as huggingface_hub does


class _CutBody(httpx2.AsyncByteStream):
    def __init__(self, data: bytes, cut_at: int | None) -> None:
        self.data, self.cut_at = data, cut_at

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.cut_at is None:
            yield self.data
            return
        yield self.data[: self.cut_at]
        raise httpx2.ReadError("connection reset mid-body")


@pytest.mark.anyio
@pytest.mark.parametrize("honours_range", [True, False])
async def test_download_cut_mid_body_resumes(tmp_path: Path, honours_range: bool) -> None:
    """A body cut mid-stream is resumed with a Range request (or restarted when the server ignores ranges),
    and the file is complete and verified."""
    data = bytes(range(256)) * 4000
    sha = hashlib.sha256(data).hexdigest()
    ranges: list[str | None] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {
            "X-Repo-Commit": "e" * 40,
            "ETag": '"x"',
            "X-Linked-Etag": f'"{sha}"',
            "X-Linked-Size": str(len(data)),
        }
        if request.method == "HEAD":
            return httpx2.Response(200, headers=headers)
        ranges.append(request.headers.get("range"))
        if len(ranges) == 1:
            return httpx2.Response(200, headers=headers, stream=_CutBody(data, 300_000))
        if honours_range and request.headers.get("range"):
            start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
            return httpx2.Response(206, headers=headers, stream=_CutBody(data[start:], None))
        return httpx2.Response(200, headers=headers, stream=_CutBody(data, None))

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler)
    ) as client:
        local = await client.hf_hub_download("a/b", "big.bin", cache_dir=tmp_path)
    assert ranges == [None, "bytes=300000-"]
    assert _sha256_of(local) == sha


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("commit", "etag"),
    [
        ("../../../escaped", '"' + "a" * 40 + '"'),
        ("f" * 40, '"../../../../escaped"'),
        ("f" * 40, '"/tmp/escaped"'),
        ("f" * 40, '".."'),
    ],
)
async def test_server_sent_commit_and_etag_cannot_write_outside_the_cache(
    tmp_path: Path, commit: str, etag: str
) -> None:
    """An X-Repo-Commit or ETag that is not a plain token is refused before anything is written or fetched."""
    cache = tmp_path / "cache"
    gets: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {"X-Repo-Commit": commit, "ETag": etag, "Content-Length": "5"}
        if request.method == "GET":
            gets.append(str(request.url))
            return httpx2.Response(200, headers=headers, content=b"owned")
        return httpx2.Response(200, headers=headers)

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler)
    ) as client:
        with pytest.raises(ValueError, match="malformed"):
            await client.hf_hub_download("a/b", "f.txt", cache_dir=cache)
        with pytest.raises(ValueError, match="malformed"):
            await client.hf_hub_download("a/b", "f.txt", local_dir=tmp_path / "local")
    assert gets == []
    assert _files_under(tmp_path) == []


@pytest.mark.anyio
@pytest.mark.parametrize("revision", ["/etc", "a//b", "refs/./x", "a/", "x\0y"])
async def test_revisions_that_are_not_cache_safe_paths_are_rejected(tmp_path: Path, revision: str) -> None:
    """A revision with an empty, `.` or `..` segment (it names `refs/<revision>` in the cache) raises
    ValueError naming `revision`, before any request."""
    transport = _Refuse()
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport) as client:
        with pytest.raises(ValueError, match="revision"):
            await client.hf_hub_download("a/b", "f.txt", revision=revision, cache_dir=tmp_path)
    assert transport.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("repo_id", ["a/b?x=1", "a/b#frag", "a/b%2F..", "-a/b", "a/.b", "a/b c", ""])
async def test_files_methods_reject_malformed_repo_ids_before_any_request(
    tmp_path: Path, repo_id: str
) -> None:
    """The files methods and the task queue apply the client's repo-id rule: a `?`, `#`, `%`, leading `-` or
    `.` or a space raises ValueError naming `repo_id`, and nothing is sent."""
    from aiospaces.tasks import TaskQueue

    transport = _Refuse()
    add = CommitOperationAdd("a.txt", b"x")
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport) as client:
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: client.create_commit(repo_id, [add], commit_message="m"),
            lambda: client.hf_hub_download(repo_id, "f.txt", cache_dir=tmp_path),
            lambda: client.list_repo_files(repo_id),
            lambda: client.upload_folder(repo_id=repo_id, folder_path=tmp_path),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="repo_id"):
                await call()
        with pytest.raises(ValueError, match="repo_id"):
            TaskQueue(client, repo_id)
    assert transport.requests == []


async def _lfs_commit_answer(request: httpx2.Request) -> httpx2.Response:
    """The Hub's side of an LFS commit to `a/b`: every file is LFS, every object uploads to storage."""
    path = request.url.path
    if path.endswith("/preupload/main"):
        files = json.loads(await request.aread())["files"]
        modes = [{"path": f["path"], "uploadMode": "lfs", "shouldIgnore": False} for f in files]
        return httpx2.Response(200, json={"files": modes, "commitOid": "b" * 40})
    if path.endswith(".git/info/lfs/objects/batch"):
        objects = json.loads(await request.aread())["objects"]
        actions = [{**o, "actions": {"upload": {"href": f"{STORAGE}/put/{o['oid']}"}}} for o in objects]
        return httpx2.Response(200, json={"objects": actions})
    if path.endswith("/commit/main"):
        return httpx2.Response(200, json={"commitOid": "c" * 40, "commitUrl": f"{ENDPOINT}/a/b/commit/x"})
    raise AssertionError(f"unexpected {request.method} {request.url}")


@pytest.mark.anyio
async def test_lfs_uploads_to_storage_run_concurrently_from_the_first_one() -> None:
    """Pre-signed storage has no Hub quota: the first LFS upload does not hold back the others (no probe
    request on another host), so two objects are in flight at once."""
    in_flight = 0
    most = 0

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, most
        if request.url.host == "storage.test":
            in_flight += 1
            most = max(most, in_flight)
            for _ in range(1000):  # bounded: wait (in checkpoints, not time) for the other upload
                if in_flight > 1:
                    break
                await anyio.lowlevel.checkpoint()
            await request.aread()
            in_flight -= 1
            return httpx2.Response(200)
        return await _lfs_commit_answer(request)

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler)
    ) as client:
        await client.create_commit(
            "a/b",
            [CommitOperationAdd("one.bin", b"\0" * 100), CommitOperationAdd("two.bin", b"\1" * 100)],
            commit_message="two objects",
        )
    assert most == 2


@pytest.mark.anyio
async def test_file_metadata_is_read_from_the_redirect_not_from_storage(tmp_path: Path) -> None:
    """The metadata HEAD stops at an absolute redirect (LFS file → storage) and reads `X-Linked-*` from it,
    as huggingface_hub does: storage that refuses HEAD (a URL signed for GET) does not break the download;
    a relative redirect (renamed repo) is followed."""
    data = b"weights" * 1000
    sha = hashlib.sha256(data).hexdigest()
    storage_heads: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "storage.test":
            if request.method == "HEAD":
                storage_heads.append(str(request.url))
                return httpx2.Response(403, text="SignatureDoesNotMatch")
            return httpx2.Response(200, content=data)
        if request.url.path.startswith("/old/b/"):
            return httpx2.Response(307, headers={"Location": request.url.path.replace("/old/b/", "/a/b/")})
        headers = {
            "X-Repo-Commit": "f" * 40,
            "ETag": '"' + "0" * 40 + '"',
            "X-Linked-Etag": f'"{sha}"',
            "X-Linked-Size": str(len(data)),
            "Location": f"{STORAGE}/blob/{sha}?X-Amz-Signature=abc",
        }
        if request.url.path.startswith("/cdn/b/"):  # scheme-relative: another host, not followed either
            headers["Location"] = f"//storage.test/blob/{sha}?X-Amz-Signature=abc"
        return httpx2.Response(302, headers=headers)

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler)
    ) as client:
        local = await client.hf_hub_download("old/b", "model.bin", cache_dir=tmp_path)
        other = await client.hf_hub_download("cdn/b", "model.bin", cache_dir=tmp_path)
    assert storage_heads == []
    assert _sha256_of(local) == _sha256_of(other) == sha


@pytest.mark.anyio
async def test_resumed_download_is_not_corrupted_by_compression(tmp_path: Path) -> None:
    """Downloads ask for the uncompressed body, so a resume's `Range` offset (counted in file bytes) is
    right even from a server that would gzip the body (where a range indexes compressed bytes)."""
    import gzip

    data = b"".join(b"line %06d of a text file\n" % i for i in range(40_000))
    gets: list[tuple[str | None, str | None]] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {
            "X-Repo-Commit": "a" * 40,
            "ETag": f'"{git_blob_sha1(data)}"',
            "Content-Length": str(len(data)),
        }
        if request.method == "HEAD":
            return httpx2.Response(200, headers=headers)
        gzipped = "gzip" in request.headers.get("accept-encoding", "")
        gets.append((request.headers.get("accept-encoding"), request.headers.get("range")))
        body = gzip.compress(data) if gzipped else data
        start = (
            int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
            if "range" in request.headers
            else 0
        )
        out = {"Content-Encoding": "gzip"} if gzipped else {}
        status = 206 if start else 200
        cut = len(body) // 2 if len(gets) == 1 else None
        return httpx2.Response(status, headers=out, stream=_CutBody(body[start:], cut))

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler)
    ) as client:
        local = await client.hf_hub_download("a/b", "log.txt", cache_dir=tmp_path)
    assert len(gets) == 2
    assert _sha256_of(local) == hashlib.sha256(data).hexdigest()


@pytest.mark.anyio
async def test_no_op_commit_reads_the_head_from_the_revision_route() -> None:
    """When every file is already up to date, no commit is sent and the head comes from
    `GET /api/{type}s/{id}/revision/{rev}` and its `sha`, as huggingface_hub does (hub-api.md §11.7)."""
    data = b"same content"
    head = "d" * 40
    seen: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.url.path == "/api/datasets/a/b/preupload/main":
            entry = {
                "path": "f.txt",
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_sha1(data),
            }
            return httpx2.Response(200, json={"files": [entry], "commitOid": head})
        if request.url.path == "/api/datasets/a/b/revision/main":
            return httpx2.Response(200, json={"id": "a/b", "_id": "x", "sha": head})
        raise AssertionError(f"unexpected {request.method} {request.url}")

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler)
    ) as client:
        info = await client.upload_file(
            path_or_fileobj=data, path_in_repo="f.txt", repo_id="a/b", repo_type="dataset"
        )
    assert info.oid == head
    assert seen == [
        "POST /api/datasets/a/b/preupload/main?",
        "GET /api/datasets/a/b/revision/main?expand=sha",
    ]


@pytest.mark.anyio
async def test_lfs_upload_retried_mid_body_resends_a_file_object_from_its_start() -> None:
    """An LFS PUT cut mid-body is retried with the same bytes from a caller's file object (not from where
    the abandoned attempt stopped reading), and the file object's position is left where it was."""
    import io

    content = _pattern(0) + _pattern(1) + _pattern(2)[:1000]
    source = io.BytesIO(b"HEADER" + content)
    source.seek(6)  # the content starts after a header the caller already consumed
    attempts: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "storage.test":
            digest = hashlib.sha256()
            assert isinstance(request.stream, httpx2.AsyncByteStream)
            async for chunk in request.stream:
                digest.update(chunk)
                if not attempts:
                    attempts.append("cut")
                    raise httpx2.WriteError("connection reset mid-upload")
            attempts.append(digest.hexdigest())
            return httpx2.Response(200)
        return await _lfs_commit_answer(request)

    class Streaming(httpx2.AsyncBaseTransport):
        """Hands the request to `handler` with its body unread (MockTransport reads it all first)."""

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            return await handler(request)

    from aiospaces.testing import VirtualClock

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=Streaming(), clock=VirtualClock()
    ) as client:
        await client.create_commit(
            "a/b", [CommitOperationAdd("big.bin", source)], commit_message="from a file object"
        )
    assert attempts == ["cut", hashlib.sha256(content).hexdigest()]
    assert source.tell() == 6
