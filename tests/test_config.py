"""Configuration follows huggingface_hub's conventions (hub-api.md §2) and is read once, at client
creation."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from aiospaces import OfflineModeError, SpacesClient
from aiospaces._config import DEFAULT_ENDPOINT, STAGING_ENDPOINT, load_config

HF_VARS = [
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HOME",
    "XDG_CACHE_HOME",
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
    "HUGGINGFACE_CO_STAGING",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Isolate every test from the machine's HF variables and token file."""
    for name in HF_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


def test_token_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit token beats HF_TOKEN."""
    monkeypatch.setenv("HF_TOKEN", "hf_env")
    config = load_config(token="hf_arg")
    assert (config.token, config.token_source) == ("hf_arg", "argument")


def test_hf_token_then_legacy_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_TOKEN is read first, then HUGGING_FACE_HUB_TOKEN."""
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
    assert load_config().token == "hf_legacy"
    monkeypatch.setenv("HF_TOKEN", "hf_new")
    assert load_config().token == "hf_new"


def test_token_file_under_hf_home(tmp_path: Path) -> None:
    """Without env tokens, `$HF_HOME/token` is read, with CR/LF and spaces stripped."""
    home = tmp_path / "hf-home"
    home.mkdir()
    (home / "token").write_text("  hf_from_file\r\n")
    config = load_config()
    assert (config.token, config.token_source) == ("hf_from_file", "file")


def test_token_path_variable_and_xdg_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """HF_TOKEN_PATH points at the file directly; without HF_HOME the default is under XDG_CACHE_HOME."""
    custom = tmp_path / "custom-token"
    custom.write_text("hf_custom\n")
    monkeypatch.setenv("HF_TOKEN_PATH", str(custom))
    assert load_config().token == "hf_custom"
    monkeypatch.delenv("HF_TOKEN_PATH")
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "huggingface").mkdir(parents=True)
    (tmp_path / "xdg" / "huggingface" / "token").write_text("hf_xdg")
    assert load_config().token == "hf_xdg"


def test_empty_token_file_means_anonymous(tmp_path: Path) -> None:
    """An empty token file gives no token."""
    home = tmp_path / "hf-home"
    home.mkdir()
    (home / "token").write_text("\n")
    assert load_config().token is None


def test_implicit_token_can_be_disabled_and_false_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_DISABLE_IMPLICIT_TOKEN drops the env token; token=False never sends one; an empty str is
    refused."""
    monkeypatch.setenv("HF_TOKEN", "hf_env")
    assert load_config(token=False).token is None
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    assert load_config().token is None
    assert load_config(token=True).token == "hf_env"
    with pytest.raises(ValueError, match="token"):
        load_config(token="   ")


def test_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argument, then HF_ENDPOINT (trailing slash stripped), then staging, then huggingface.co."""
    assert load_config().endpoint == DEFAULT_ENDPOINT
    monkeypatch.setenv("HUGGINGFACE_CO_STAGING", "yes")
    assert load_config().endpoint == STAGING_ENDPOINT
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:8000/")
    assert load_config().endpoint == "http://127.0.0.1:8000"
    assert load_config(endpoint="https://mirror.example/").endpoint == "https://mirror.example"


def test_config_repr_hides_token() -> None:
    """The resolved config's repr never shows the token."""
    config = load_config(token="hf_very_secret")
    assert "hf_very_secret" not in repr(config)


def test_environment_is_read_once_at_creation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing HF_TOKEN/HF_ENDPOINT after the client exists changes nothing."""
    monkeypatch.setenv("HF_TOKEN", "hf_first")
    monkeypatch.setenv("HF_ENDPOINT", "http://first.test")
    client = SpacesClient()
    monkeypatch.setenv("HF_TOKEN", "hf_second")
    monkeypatch.setenv("HF_ENDPOINT", "http://second.test")
    assert client.endpoint == "http://first.test"
    assert client._session.config.token == "hf_first"


@pytest.mark.parametrize("value", ["1", "ON", "yes", "True"])
@pytest.mark.anyio
async def test_offline_mode_blocks_every_request(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """With HF_HUB_OFFLINE truthy, calls raise OfflineModeError and nothing reaches the transport."""
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with SpacesClient(token="hf_x", transport=httpx2.MockTransport(handler)) as client:
        with pytest.raises(OfflineModeError):
            await client.get_space_runtime("a/b")
    assert seen == []


@pytest.mark.anyio
async def test_download_cache_is_read_once_at_creation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`hf_hub_download` without `cache_dir` uses the HF_HUB_CACHE set when the client was created, not the
    one set later."""
    data = b"cached once"

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {"X-Repo-Commit": "a" * 40, "ETag": '"' + "b" * 40 + '"', "Content-Length": str(len(data))}
        return httpx2.Response(200, headers=headers, content=b"" if request.method == "HEAD" else data)

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "first"))
    async with SpacesClient(
        token="hf_x", endpoint="https://hub.test", transport=httpx2.MockTransport(handler)
    ) as c:
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "second"))
        path = Path(await c.hf_hub_download("a/b", "f.txt"))
    assert path.is_relative_to(tmp_path / "first")
    assert path.read_bytes() == data  # noqa: ASYNC240 - a test's final check
    assert not (tmp_path / "second").exists()


@pytest.mark.parametrize(
    "value",
    ["huggingface.co", "ftp://hub.test", "https://", "https://hub.test:port", "https://hub.test/?x=1"],
)
def test_malformed_endpoint_is_rejected_at_creation(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A malformed `endpoint` argument or `HF_ENDPOINT` raises ValueError naming it when the client is
    created, instead of failing later as a transport error."""
    with pytest.raises(ValueError, match="endpoint"):
        SpacesClient(token="hf_x", endpoint=value)
    monkeypatch.setenv("HF_ENDPOINT", value)
    with pytest.raises(ValueError, match="HF_ENDPOINT"):
        SpacesClient(token="hf_x")


def test_endpoint_error_never_echoes_credentials() -> None:
    """An endpoint carrying `user:password@` that is rejected does not show the password in the error."""
    with pytest.raises(ValueError, match="endpoint") as caught:
        SpacesClient(token="hf_x", endpoint="ftp://user:hunter2@hub.test")
    assert "hunter2" not in str(caught.value)


def test_token_of_the_wrong_type_is_a_type_error() -> None:
    """A token that is not a str, bool or None raises TypeError naming `token` (it is not silently replaced
    by the environment's)."""
    with pytest.raises(TypeError, match="token"):
        SpacesClient(token=12345)  # type: ignore[arg-type]
