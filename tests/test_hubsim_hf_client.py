"""The simulator's repo layer and API headers as the official `huggingface_hub` client sees them.

Each test runs a script with the official client (2.4) in a subprocess, against `hub.serve()` on 127.0.0.1,
and asserts what the real Hub does: the exception class the client raises, the message it matches, the state
after. The client reads its configuration from the environment at import time, hence the subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aiospaces.hubsim import SimulatedHub

pytest.importorskip("huggingface_hub")
pytest.importorskip("uvicorn")


def run_client(url: str, home: Path, script: str, token: str = "hf_alice") -> dict[str, Any]:
    """Run `script` with the official client pointed at `url`; its last output line is a JSON object."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))},
        "HF_ENDPOINT": url,
        "HF_TOKEN": token,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home),
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------------ rate-limit headers
HEADERS_SCRIPT = """
    import json, os
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.utils import get_session, hf_raise_for_status, parse_ratelimit_headers

    api, url, out = HfApi(), os.environ["HF_ENDPOINT"], {}
    out["whoami"] = api.whoami()["name"]
    out["sdk"] = api.space_info("alice/demo").sdk
    out["readme"] = open(hf_hub_download("alice/demo", "README.md", repo_type="space")).read()[:3]
    paths = {"api": "/api/spaces/alice/demo", "resolvers": "/spaces/alice/demo/resolve/main/README.md"}
    for bucket, path in paths.items():
        response = get_session().get(url + path)
        hf_raise_for_status(response)
        info = parse_ratelimit_headers(response.headers)
        out[bucket] = [info.resource_type, info.limit, info.window_seconds, info.remaining > 0]
    print(json.dumps(out))
"""

LIMITED_SCRIPT = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api, out = HfApi(), {"errors": []}
    for _ in range(3):
        try:
            api.space_info("alice/demo")
            out["errors"].append(None)
        except HfHubHTTPError as exc:
            out["errors"].append([type(exc).__name__, exc.response.status_code, str(exc)])
    print(json.dumps(out))
"""


def test_rate_limit_headers_on_every_answer_leave_the_client_unchanged(tmp_path: Path) -> None:
    """With no limit set, API and download answers carry RateLimit headers the client parses; all succeed."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", HEADERS_SCRIPT)
    assert out["whoami"] == "alice"
    assert out["sdk"] == "gradio"
    assert out["readme"] == "---"
    # huggingface_hub utils/_http.py `hf_raise_for_status`: "Headers are set on every response".
    assert out["api"] == ["api", 100_000, 300, True]
    assert out["resolvers"] == ["resolvers", 500_000, 300, True]
    assert hub.counters.rate_limited == 0


def test_client_names_the_bucket_only_when_the_quota_is_the_reason(tmp_path: Path) -> None:
    """A spent quota's 429 gets the client's rate-limit message; another 429 (headers still sent) does not."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    with hub.serve() as url:
        hub.add_fault("error", route="GET /api/spaces/{id}", status=429, count=1)
        other = run_client(url, tmp_path / "home", LIMITED_SCRIPT)
        hub.clear_faults()
        hub.set_rate_limit(2, 300)
        limited = run_client(url, tmp_path / "home", LIMITED_SCRIPT)
    # huggingface_hub utils/_http.py `hf_raise_for_status`, 429 branch: the RateLimit headers are used only
    # when `r=0`, i.e. when they are the reason for the 429.
    name, status, message = other["errors"][0]
    assert (name, status) == ("HfHubHTTPError", 429)
    assert "429 Too Many Requests for url" in message
    assert other["errors"][1:] == [None, None]
    assert limited["errors"][:2] == [None, None]
    name, status, message = limited["errors"][2]
    assert (name, status) == ("HfHubHTTPError", 429)
    assert "you have reached your 'api' rate limit" in message
    assert "(0/2 requests remaining in current 300s window)" in message
