"""What the simulated Hub's own tests share: speaking to it with a plain httpx2 client, the way the wire
reference describes each route, without the SDK in between."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2

ALICE = {"authorization": "Bearer hf_alice"}


async def commit(client: httpx2.AsyncClient, repo_id: str, files: dict[str, str]) -> str:
    """Commit files to a Space's main through the NDJSON commit route (hub-api.md §11.5); returns the new
    commit id."""
    lines = [{"key": "header", "value": {"summary": "update", "description": ""}}]
    for path, content in files.items():
        encoded = base64.b64encode(content.encode()).decode()
        lines.append({"key": "file", "value": {"content": encoded, "path": path, "encoding": "base64"}})
    r = await client.post(
        f"/api/spaces/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines) + "\n",
        headers={"content-type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["commitOid"])


async def runtime(client: httpx2.AsyncClient, repo_id: str) -> dict[str, Any]:
    """The Space's runtime object."""
    r = await client.get(f"/api/spaces/{repo_id}/runtime")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


async def read_log(client: httpx2.AsyncClient, repo_id: str, kind: str) -> list[str]:
    """The lines of the Space's `build` or `run` log stream (server-sent events), as far as it goes."""
    lines = []
    async with client.stream("GET", f"/api/spaces/{repo_id}/logs/{kind}") as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("data: {"):
                lines.append(json.loads(line[6:])["data"])
    return lines
