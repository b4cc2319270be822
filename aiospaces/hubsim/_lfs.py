"""The LFS side of the simulated Hub: the batch endpoint, pre-signed upload URLs, multipart, verify.

Wire format from hub-api.md §11.4 and the official client's `lfs.py`: the batch answer gives each object an
`actions.upload.href` on this same server that works without auth headers (the Hub hands out pre-signed
storage URLs), no `actions` at all for objects the repo already stores, and a `verify` action the client
calls with its token. Objects at least `GitStore.multipart_threshold` bytes get the multipart form
(`header.chunk_size` plus one URL per part; parts answer with an `ETag`; a completion POST joins them).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from typing import Any
from urllib.parse import quote, urlencode

from ._git_common import PREFIX_TYPE, URL_PREFIX, GitHost, check_repo, repo_key, repo_not_found
from ._git_objects import RepoKey
from ._http import HubError, RouteSpec, SimRequest, SimResponse, json_response

LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
# Pre-signed URLs stay valid this long on the hub clock ([inferred]: storage pre-signed URLs expire).
UPLOAD_URL_TTL = 3600.0
MAX_BATCH_OBJECTS = 1000  # the client sends at most 256 per request (hub-api.md §11.4)
MAX_LFS_OBJECT_SIZE = 50 * 1000**3  # [docs] hub-docs datasets upload guide: "Per file: 50GB max"
_OID_RE = re.compile(r"^[0-9a-f]{64}$")

_PREFIX_RE = (
    r"/(?:(?P<prefix>datasets|spaces)/)?(?!api/|datasets/|spaces/)(?:(?P<ns>[^/]+)/)?(?P<name>[^/]+?)"
)


def _key(prefix: str | None, ns: str | None, name: str) -> RepoKey:
    return repo_key(PREFIX_TYPE[prefix or ""], ns, name)


def lfs_response(payload: Any, status: int = 200) -> SimResponse:
    """A JSON answer with the LFS media type."""
    response = json_response(payload, status=status)
    response.set_header("Content-Type", LFS_CONTENT_TYPE)
    return response


def _sign(host: GitHost, *fields: str) -> str:
    message = "\n".join(fields).encode()
    return hmac.new(host.git.signing_key, message, hashlib.sha256).hexdigest()


def _signed_url(
    host: GitHost, req: SimRequest, kind: str, key: RepoKey, oid: str, size: int, extra: str = ""
) -> str:
    expires = f"{host.now() + UPLOAD_URL_TTL:.3f}"
    signature = _sign(host, kind, key[0], key[1], oid, str(size), extra, expires)
    path = f"/__hubsim/lfs/{kind}/{key[0]}/{key[1]}/{oid}"
    query = {"size": str(size), "expires": expires, "signature": signature}
    if extra:
        query["part"] = extra
    return f"{req.base_url}{quote(path)}?{urlencode(query)}"


def _check_signature(
    host: GitHost, req: SimRequest, kind: str, key: RepoKey, oid: str, extra: str = ""
) -> int:
    size_s, expires, signature = (
        req.arg("size") or "",
        req.arg("expires") or "",
        req.arg("signature") or "",
    )
    expected = _sign(host, kind, key[0], key[1], oid, size_s, extra, expires)
    # Storage answers 403 to a bad or expired signature ([inferred] from S3 pre-signed URL behaviour).
    # Compared as bytes: `compare_digest` refuses non-ASCII str, and a query may hold any text.
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise HubError(403, "Invalid or missing signature on upload URL")
    try:
        if float(expires) < host.now():
            raise HubError(403, "Upload URL expired")
        return int(size_s)
    except ValueError:
        raise HubError(403, "Invalid or missing signature on upload URL") from None


def batch(host: GitHost, req: SimRequest, prefix: str | None, ns: str | None, name: str) -> SimResponse:
    key = _key(prefix, ns, name)
    check_repo(host, req, key, write=False)  # an unknown repo or token fails before the body is read
    payload = req.json()
    if not isinstance(payload, dict):
        raise HubError(400, "Invalid batch request: expected a JSON object")
    operation = payload.get("operation")
    if operation not in ("upload", "download"):
        raise HubError(400, 'Invalid batch request: "operation" must be "upload" or "download"')
    objects = payload.get("objects")
    if not isinstance(objects, list) or len(objects) > MAX_BATCH_OBJECTS:
        raise HubError(400, f'Invalid batch request: "objects" must be a list of at most {MAX_BATCH_OBJECTS}')
    if payload.get("hash_algo", "sha256") != "sha256":
        raise HubError(422, "Unsupported hash algorithm")
    ref = payload.get("ref")
    if ref is not None and (not isinstance(ref, dict) or not isinstance(ref.get("name"), str)):
        raise HubError(400, 'Invalid batch request: "ref" must be {"name": <revision>}')
    if operation == "upload":
        if ref is not None:
            host.authorize_repo(req, key[0], key[1], write=True)
        else:
            # huggingface_hub 2.4 `hf_api.py` (`preupload_lfs_files`) sends no `ref` when opening a pull
            # request, so that "users with read permission should still be able to create PRs": the objects
            # stay unreachable until a commit refers to them.
            host.authorize_pull_request(req, key[0], key[1])
    answers: list[dict[str, Any]] = []
    for obj in objects:
        if not isinstance(obj, dict):
            raise HubError(400, "Invalid batch request: each object needs an oid and a size")
        oid, size = obj.get("oid"), obj.get("size")
        if not isinstance(oid, str) or not isinstance(size, int) or isinstance(size, bool):
            raise HubError(400, "Invalid batch request: each object needs an oid and a size")
        if not _OID_RE.match(oid) or size < 0:
            answers.append(
                {"oid": oid, "size": size, "error": {"code": 422, "message": "Invalid oid or size"}}
            )
            continue
        if size > MAX_LFS_OBJECT_SIZE:
            message = "Files larger than 50GB are not supported"
            answers.append({"oid": oid, "size": size, "error": {"code": 422, "message": message}})
            continue
        stored = host.git.lfs_object_size(key, oid)
        if operation == "download":
            if stored is None:
                answers.append(
                    {"oid": oid, "size": size, "error": {"code": 404, "message": "Object not found"}}
                )
            else:
                href = _signed_url(host, req, "download", key, oid, stored)
                answers.append({"oid": oid, "size": stored, "actions": {"download": {"href": href}}})
            continue
        if stored is not None:
            # Already stored: no `actions`, the client skips the upload (hub-api.md §11.4).
            answers.append({"oid": oid, "size": size})
            continue
        verify = {
            "href": f"{req.base_url}/{URL_PREFIX[key[0]]}{key[1]}.git/info/lfs/objects/verify",
            "header": {},
        }
        threshold = host.git.multipart_threshold
        if threshold is not None and size >= threshold and size > 0:
            chunk = host.git.multipart_chunk_size
            header: dict[str, str] = {"chunk_size": str(chunk)}
            for number in range(1, math.ceil(size / chunk) + 1):
                header[str(number)] = _signed_url(host, req, "part", key, oid, size, str(number))
            upload = {"href": _signed_url(host, req, "complete", key, oid, size), "header": header}
        else:
            upload = {"href": _signed_url(host, req, "upload", key, oid, size)}
        answers.append(
            {
                "oid": oid,
                "size": size,
                "authenticated": True,
                "actions": {"upload": upload, "verify": verify},
            }
        )
    return lfs_response({"transfer": "basic", "objects": answers})


def _storage_key(host: GitHost, type_: str, ns: str, name: str) -> RepoKey:
    if type_ not in URL_PREFIX:
        raise HubError(404, "Not Found")
    key: RepoKey = (type_, f"{ns}/{name}")
    if not host.git.has_repo(key):
        raise repo_not_found()
    return key


def upload(host: GitHost, req: SimRequest, type_: str, ns: str, name: str, oid: str) -> SimResponse:
    key = _storage_key(host, type_, ns, name)
    size = _check_signature(host, req, "upload", key, oid)
    _store(host, key, oid, size, req.body)
    return SimResponse(status=200)


def upload_part(host: GitHost, req: SimRequest, type_: str, ns: str, name: str, oid: str) -> SimResponse:
    key = _storage_key(host, type_, ns, name)
    part = req.arg("part") or ""
    _check_signature(host, req, "part", key, oid, part)
    host.git.stage_part(key, oid, int(part), req.body)
    etag = hashlib.md5(req.body, usedforsecurity=False).hexdigest()
    return SimResponse(status=200, headers=[("ETag", f'"{etag}"')])


def complete(host: GitHost, req: SimRequest, type_: str, ns: str, name: str, oid: str) -> SimResponse:
    key = _storage_key(host, type_, ns, name)
    size = _check_signature(host, req, "complete", key, oid)
    payload = req.json()
    parts_in = payload.get("parts") if isinstance(payload, dict) else None
    if not isinstance(parts_in, list) or payload.get("oid") != oid:
        raise HubError(400, "Invalid completion payload: expected oid and parts")
    stored_parts = host.git.staged_parts(key, oid)
    numbers: list[int] = []
    for part in parts_in:
        number = part.get("partNumber") if isinstance(part, dict) else None
        etag = part.get("etag") if isinstance(part, dict) else None
        if not isinstance(number, int) or number not in stored_parts or not isinstance(etag, str):
            raise HubError(400, f"Invalid completion payload: unknown part {number!r}")
        expected = hashlib.md5(stored_parts[number], usedforsecurity=False).hexdigest()
        if etag.strip('"') != expected:
            raise HubError(400, f"Invalid completion payload: etag mismatch for part {number}")
        numbers.append(number)
    if numbers != list(range(1, len(numbers) + 1)):
        raise HubError(400, "Invalid completion payload: parts must be 1..N in order")
    _store(host, key, oid, size, b"".join(stored_parts[n] for n in numbers))
    host.git.drop_parts(key, oid)
    return lfs_response({"success": True})


def download(host: GitHost, req: SimRequest, type_: str, ns: str, name: str, oid: str) -> SimResponse:
    key = _storage_key(host, type_, ns, name)
    _check_signature(host, req, "download", key, oid)
    data = host.git.lfs_object(key, oid)
    if data is None:
        raise HubError(404, "Object not found")
    return SimResponse(
        status=200,
        headers=[("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))],
        body=data,
    )


def verify(host: GitHost, req: SimRequest, prefix: str | None, ns: str | None, name: str) -> SimResponse:
    key = _key(prefix, ns, name)
    # Verification follows every upload the batch allowed, a pull request's included (read access).
    check_repo(host, req, key, write=True, pull_request=True)
    payload = req.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("oid"), str):
        raise HubError(400, "Invalid verify request: expected oid and size")
    stored = host.git.lfs_object_size(key, payload["oid"])
    if stored is None:
        raise HubError(404, "Object not found")
    if payload.get("size") != stored:
        raise HubError(422, f"Object size mismatch: stored {stored}, expected {payload.get('size')}")
    return lfs_response({"success": True})


def _store(host: GitHost, key: RepoKey, oid: str, size: int, data: bytes) -> None:
    # Storage checks what the batch request announced: the size, then the sha-256 (the object id).
    if len(data) != size:
        raise HubError(400, f"Uploaded size {len(data)} does not match the announced size {size}")
    try:
        host.git.put_lfs_object(key, data, oid=oid)
    except ValueError:
        raise HubError(400, "Uploaded content does not match its sha256 oid") from None


_STORAGE = r"/__hubsim/lfs/{kind}/(?P<type_>[a-z]+)/(?P<ns>[^/]+)/(?P<name>[^/]+)/(?P<oid>[0-9a-f]{{64}})"
LFS_ROUTES = [
    RouteSpec(
        "POST",
        _PREFIX_RE + r"\.git/info/lfs/objects/batch",
        "POST /{prefix}{id}.git/info/lfs/objects/batch",
        batch,
    ),
    RouteSpec(
        "POST",
        _PREFIX_RE + r"\.git/info/lfs/objects/verify",
        "POST /{prefix}{id}.git/info/lfs/objects/verify",
        verify,
    ),
    RouteSpec("PUT", _STORAGE.format(kind="upload"), "PUT /__hubsim/lfs/upload (pre-signed)", upload),
    RouteSpec("PUT", _STORAGE.format(kind="part"), "PUT /__hubsim/lfs/part (pre-signed)", upload_part),
    RouteSpec("POST", _STORAGE.format(kind="complete"), "POST /__hubsim/lfs/complete (pre-signed)", complete),
    RouteSpec("GET", _STORAGE.format(kind="download"), "GET /__hubsim/lfs/download (pre-signed)", download),
]
