"""The desired state: a fleet file (TOML) parsed into a `FleetSpec`, every mistake a `FleetSpecError`
naming the file and the key."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .. import validation
from ..errors import FleetSpecError

if TYPE_CHECKING:
    pass


_SPACE_KEYS = ("hardware", "sleep_time", "paused", "variables", "secrets")


@attrs.frozen
class SecretRef:
    """Where a secret's value comes from: an environment variable (never the file itself).

    Attributes:
        env: the environment variable holding the value.
        description: the description shown on the Hub, or None.
    """

    env: str
    description: str | None = None


@attrs.frozen
class SpaceSpec:
    """The desired state of one Space (`[defaults]` already merged in); None means "not managed".

    Attributes:
        repo_id: the Space.
        hardware: the flavor to request, e.g. `t4-medium`.
        sleep_time: seconds of inactivity before sleeping (-1: never); ignored on cpu-basic (fixed 48 h).
        paused: True: keep it PAUSED; False: restart it when PAUSED.
        variables: variable values by key.
        secrets: where each secret's value comes from, by key.
    """

    repo_id: str
    hardware: str | None = None
    sleep_time: int | None = None
    paused: bool | None = None
    variables: Mapping[str, str] = attrs.field(factory=dict)
    secrets: Mapping[str, SecretRef] = attrs.field(factory=dict)


@attrs.frozen
class FleetSpec:
    """A parsed fleet file: one `SpaceSpec` per Space, in file order.

    Attributes:
        spaces: the Spaces.
        source: the file name (for messages), or a placeholder such as `<string>`.
    """

    spaces: tuple[SpaceSpec, ...]
    source: str = "<string>"

    @property
    def repo_ids(self) -> list[str]:
        """The Space ids, in file order."""
        return [s.repo_id for s in self.spaces]

    def secret_envs(self) -> list[str]:
        """Every environment variable a secret is read from, sorted, without repeats."""
        return sorted({ref.env for s in self.spaces for ref in s.secrets.values()})


def load_fleet_spec(path: str | os.PathLike[str]) -> FleetSpec:
    """Read and parse a fleet file (see `parse_fleet_spec`).

    Raises:
        FleetSpecError: the file cannot be read, is not TOML, or does not describe a fleet.
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise FleetSpecError(f"{name}: cannot read the fleet file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FleetSpecError(f"{name}: not UTF-8 text") from None
    return parse_fleet_spec(text, source=name)


def parse_fleet_spec(text: str, *, source: str = "<string>") -> FleetSpec:
    """Parse a fleet file's TOML text into a `FleetSpec`, `[defaults]` merged into each Space.

    Top-level tables: `[defaults]` (optional) and `[spaces."namespace/name"]` (at least one). Each takes
    `hardware` (str), `sleep_time` (int >= -1), `paused` (bool), `variables` (a table of str or int values)
    and `secrets` (a table of `{ env = "VAR", description = "..." }`). A Space's variables and secrets are
    merged over the defaults' ones.

    Args:
        text: the TOML text.
        source: the file name used in error messages.

    Raises:
        FleetSpecError: invalid TOML, an unknown key, a value of the wrong type, a secret value written in
            the file, a malformed Space id, or no Space at all. The message names `source` and the key.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetSpecError(f"{source}: invalid TOML: {exc}") from None
    unknown = sorted(set(document) - {"defaults", "spaces"})
    if unknown:
        raise FleetSpecError(
            f'{source}: unknown top-level key {unknown[0]!r} (expected [defaults] and [spaces."ns/name"])'
        )
    defaults = _table(document.get("defaults", {}), source, "defaults")
    base = _space_fields(defaults, source, "defaults")
    spaces_table = _table(document.get("spaces", {}), source, "spaces")
    if not spaces_table:
        raise FleetSpecError(f'{source}: no Spaces: add a [spaces."namespace/name"] table')
    spaces: list[SpaceSpec] = []
    for repo_id, raw in spaces_table.items():
        where = f'spaces."{repo_id}"'
        try:
            validation.validate_repo_id(repo_id, arg=where)
        except ValueError as exc:
            raise FleetSpecError(f"{source}: {exc}") from None
        own = _space_fields(_table(raw, source, where), source, where)
        merged: dict[str, Any] = {
            **base,
            **{k: v for k, v in own.items() if k not in ("variables", "secrets")},
        }
        merged["variables"] = {**base.get("variables", {}), **own.get("variables", {})}
        merged["secrets"] = {**base.get("secrets", {}), **own.get("secrets", {})}
        spaces.append(SpaceSpec(repo_id=repo_id, **merged))
    return FleetSpec(spaces=tuple(spaces), source=source)


def _table(value: object, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FleetSpecError(f"{source}: {where} must be a table, got {_toml_type(value)}")
    return value


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a table" if isinstance(value, dict) else type(value).__name__


def _space_fields(table: Mapping[str, Any], source: str, where: str) -> dict[str, Any]:
    """Validate one `[defaults]` or `[spaces."..."]` table into `SpaceSpec` keyword arguments."""
    fields: dict[str, Any] = {}
    for key, value in table.items():
        at = f"{where}.{key}"
        if key not in _SPACE_KEYS:
            raise FleetSpecError(f"{source}: unknown key {at!r} (expected one of {', '.join(_SPACE_KEYS)})")
        if key == "hardware":
            try:
                fields[key] = validation.validate_hardware(value, arg=at)
            except (TypeError, ValueError):
                raise FleetSpecError(f'{source}: {at} must be a flavor name such as "t4-medium"') from None
        elif key == "sleep_time":
            if isinstance(value, bool) or not isinstance(value, int) or value < -1:
                raise FleetSpecError(f"{source}: {at} must be whole seconds >= 0, or -1 for never")
            fields[key] = value
        elif key == "paused":
            if not isinstance(value, bool):
                raise FleetSpecError(f"{source}: {at} must be true or false, got {_toml_type(value)}")
            fields[key] = value
        elif key == "variables":
            fields[key] = {k: _variable(k, v, source, at) for k, v in _table(value, source, at).items()}
        else:
            fields[key] = {k: _secret(k, v, source, at) for k, v in _table(value, source, at).items()}
    return fields


def _check_key(key: str, source: str, at: str) -> None:
    try:
        validation.validate_key(key, arg=at)
    except ValueError as exc:
        raise FleetSpecError(f"{source}: {exc}") from None


def _variable(key: str, value: object, source: str, where: str) -> str:
    _check_key(key, source, where)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FleetSpecError(f"{source}: {where}.{key} must be a string, got {_toml_type(value)}")
    return str(value)


def _secret(key: str, value: object, source: str, where: str) -> SecretRef:
    at = f"{where}.{key}"
    _check_key(key, source, where)
    if not isinstance(value, dict):
        # Never echo the value: it may be the secret itself, written where it must not be.
        raise FleetSpecError(
            f'{source}: {at} must be a table {{ env = "VAR" }} naming the environment variable that holds '
            "the value; secret values never go in the file"
        )
    unknown = sorted(set(value) - {"env", "description"})
    if unknown:
        raise FleetSpecError(f"{source}: unknown key {at}.{unknown[0]!r} (expected env, description)")
    env = value.get("env")
    if not isinstance(env, str) or not env or "=" in env or any(c.isspace() for c in env):
        raise FleetSpecError(f"{source}: {at}.env must name an environment variable")
    description = value.get("description")
    if description is not None and not isinstance(description, str):
        raise FleetSpecError(f"{source}: {at}.description must be a string")
    return SecretRef(env=env, description=description)
