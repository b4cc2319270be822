"""Configuration, resolved once when a client is created, following huggingface_hub's conventions
(hub-api.md §1.1, §1.4, §2.1–2.3): token from the argument, then `HF_TOKEN` / `HUGGING_FACE_HUB_TOKEN`, then
the token file (`HF_TOKEN_PATH`, default `$HF_HOME/token`); endpoint from the argument, then `HF_ENDPOINT`;
offline mode from `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE`.

OIDC exchange and Colab secrets (hub-api.md §2.1 steps 1 and 4) are deliberately not supported: they need
network calls or a notebook runtime at configuration time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from .validation import validate_endpoint, validate_token_text

#: The SDK version, sent in the user-agent.
VERSION = "0.1.0"

DEFAULT_ENDPOINT = "https://huggingface.co"
STAGING_ENDPOINT = "https://hub-ci.huggingface.co"

_TRUTHY = {"1", "on", "yes", "true"}


def is_truthy(value: str | None) -> bool:
    """huggingface_hub's truthy env strings: `1`, `ON`, `YES`, `TRUE`, any case (hub-api.md §1.4)."""
    return value is not None and value.strip().lower() in _TRUTHY


@attrs.frozen
class Config:
    """Resolved configuration. `token` is excluded from `repr` so it never lands in logs or tracebacks.

    Attributes:
        token: the token to send, or None for anonymous calls.
        token_source: where the token came from: "argument", "env", "file" or None.
        endpoint: base URL without trailing slash.
        offline: `HF_HUB_OFFLINE` is set: every request fails before reaching the network.
        hub_cache: the download cache `hf_hub_download` uses when given no `cache_dir` (hub-api.md §2.3).
    """

    token: str | None = attrs.field(repr=False)
    token_source: str | None
    endpoint: str
    offline: bool
    hub_cache: str


def _hf_home(env: Mapping[str, str]) -> Path:
    """`HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (hub-api.md §2.3)."""
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser()
    cache = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path("~/.cache")
    return cache.expanduser() / "huggingface"


def _token_file(env: Mapping[str, str]) -> Path:
    if env.get("HF_TOKEN_PATH"):
        return Path(env["HF_TOKEN_PATH"]).expanduser()
    return _hf_home(env) / "token"


def resolve_hub_cache(env: Mapping[str, str]) -> str:
    """huggingface_hub's download cache: `HF_HUB_CACHE` (legacy `HUGGINGFACE_HUB_CACHE`), else
    `$HF_HOME/hub` (hub-api.md §2.3), so both clients share one cache."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            return str(Path(env[name]).expanduser())
    return str(_hf_home(env) / "hub")


def _clean_token(value: str | None) -> str | None:
    # The token file may end with CR/LF or spaces (hub-api.md §2.1); an empty value means no token.
    if value is None:
        return None
    value = value.replace("\r", "").replace("\n", "").strip()
    return value or None


def resolve_token(token: str | bool | None, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Return `(token, source)`.

    `token=False` means anonymous; a string is used as is; `None` (or `True`) falls back to the environment
    and then the token file, unless `HF_HUB_DISABLE_IMPLICIT_TOKEN` is set (only for `None`).
    """
    if token is not None and not isinstance(token, str | bool):
        # Not silently replaced by the environment's token; the value itself is not shown.
        raise TypeError(f"token must be a str, False or None, got {type(token).__name__}")
    if token is False:
        return None, None
    if isinstance(token, str):
        cleaned = _clean_token(token)
        if cleaned is None:
            raise ValueError("token must be a non-empty string, False or None")
        return cleaned, "argument"
    if token is None and is_truthy(env.get("HF_HUB_DISABLE_IMPLICIT_TOKEN")):
        return None, None
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        found = _clean_token(env.get(name))
        if found:
            return found, "env"
    path = _token_file(env)
    try:
        found = _clean_token(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        found = None
    if found:
        return found, "file"
    if token is True:
        raise ValueError("token=True but no token was found in HF_TOKEN or the token file")
    return None, None


def resolve_endpoint(endpoint: str | None, env: Mapping[str, str]) -> str:
    """The endpoint argument, else `HF_ENDPOINT`, else staging if `HUGGINGFACE_CO_STAGING`, else the Hub.

    Raises:
        ValueError: the argument or `HF_ENDPOINT` is not an http(s) URL (caught here, not by a request).
    """
    if endpoint is not None:
        return validate_endpoint(endpoint, arg="endpoint")
    if env.get("HF_ENDPOINT"):
        return validate_endpoint(env["HF_ENDPOINT"], arg="HF_ENDPOINT")
    if is_truthy(env.get("HUGGINGFACE_CO_STAGING")):
        return STAGING_ENDPOINT
    return DEFAULT_ENDPOINT


def load_config(
    *, token: str | bool | None = None, endpoint: str | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Resolve the configuration from the arguments and the environment (read once, here)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    resolved, source = resolve_token(token, environ)
    if resolved is not None:
        validate_token_text(resolved, source=source)
    offline = is_truthy(environ.get("HF_HUB_OFFLINE")) or is_truthy(environ.get("TRANSFORMERS_OFFLINE"))
    return Config(
        token=resolved,
        token_source=source,
        endpoint=resolve_endpoint(endpoint, environ),
        offline=offline,
        hub_cache=resolve_hub_cache(environ),
    )
