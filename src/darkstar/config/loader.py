"""Read, merge and validate ``config.yaml`` into a typed :class:`DarkstarConfig`.

This module owns the path from YAML text to a validated config: the packaged defaults file
(``config.default.yaml``), the deep merge of user values over it, and the translation of
pydantic's validation errors into one :class:`~darkstar.errors.ConfigError` that names the
dotted key path (``config.battery.max_soc_percent``) and says in one line what is wrong.
Writing changes back to a file lives in :mod:`darkstar.config.yaml_io`.
"""

from __future__ import annotations

import copy
import difflib
import functools
import logging
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from darkstar.config.models import DarkstarConfig
from darkstar.errors import ConfigError, InputError
from darkstar.jsonlimits import MAX_JSON_DEPTH, check_depth
from darkstar.redact import register_secret

__all__ = [
    "load_config",
    "merge_config",
    "parse_config",
    "read_config_file_data",
    "read_default_config_text",
]

logger = logging.getLogger(__name__)

_DEFAULT_CONFIG_PACKAGE = "darkstar.config"
_DEFAULT_CONFIG_NAME = "config.default.yaml"

SECRET_KEYS = frozenset({"home_assistant.token"})
"""Keys whose value is a secret: never quoted in an error, masked by ``GET /config``."""
_DEFAULT_FIELD_PREFIX = "config"
_MAX_SHOWN_CHARS = 40

# pydantic range error type -> (ctx key, comparison shown to the user).
_BOUND_ERRORS: dict[str, tuple[str, str]] = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}
# pydantic type error type -> the expected type, in the user's (YAML) words.
_EXPECTED_TYPES: dict[str, str] = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "model_type": "a section (a mapping of keys)",
    "model_attributes_type": "a section (a mapping of keys)",
    "dict_type": "a section (a mapping of keys)",
}


def _describe_value(value: object) -> str:
    """Show a user-given value the way it reads in YAML, shortened if long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        shown = repr(value)
    elif isinstance(value, Mapping):
        return "a mapping"
    elif isinstance(value, list | tuple):
        return "a list"
    else:
        shown = f"{type(value).__name__} {value!r}"
    if len(shown) > _MAX_SHOWN_CHARS:
        shown = shown[: _MAX_SHOWN_CHARS - 3] + "..."
    return shown


def _format_limit(limit: object) -> str:
    """Show a bound from a ``Field`` (``100.0`` as ``100``, ``0.5`` as ``0.5``)."""
    if isinstance(limit, float) and limit.is_integer():
        return str(int(limit))
    return str(limit)


def _join_path(prefix: str, loc: Sequence[int | str]) -> str:
    """Join a prefix and a pydantic location into ``prefix.section.key[0]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """Return the config model found at ``loc`` (``()`` is the root), or None."""
    model: type[BaseModel] = DarkstarConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = None if field is None else field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _accepts_null(loc: Sequence[int | str]) -> bool:
    """Tell whether the field at ``loc`` may be ``null``."""
    parent = _model_at(loc[:-1])
    if parent is None or not loc:
        return False
    field = parent.model_fields.get(str(loc[-1]))
    return field is not None and not field.is_required() and field.default is None


def _unknown_key_message(loc: Sequence[int | str]) -> str:
    """Build ``unknown key; did you mean '...'?`` from the known keys of the parent model."""
    what = "section" if len(loc) == 1 else "key"
    parent = _model_at(loc[:-1])
    if parent is None:
        return f"unknown {what}"
    known = list(parent.model_fields)
    matches = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if matches:
        return f"unknown {what}; did you mean '{matches[0]}'?"
    return f"unknown {what}; known {what}s: {', '.join(known)}"


def _error_message(error: ErrorDetails) -> str:
    """Turn one pydantic error into a one-line message (without the key path).

    The value of a secret key is never quoted back, only its length.
    """
    kind = error["type"]
    loc = error["loc"]
    ctx = error.get("ctx", {})
    value = error["input"]
    if isinstance(value, str) and ".".join(map(str, loc)) in SECRET_KEYS:
        got = f"a secret of {len(value)} characters"
    else:
        got = _describe_value(value)
    if kind in _BOUND_ERRORS:
        key, symbol = _BOUND_ERRORS[kind]
        return f"must be {symbol} {_format_limit(ctx[key])}, got {got}"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"]).splitlines()[0]
    if kind == "finite_number":
        return f"must be a finite number, got {got}"
    if kind == "invalid_key":
        return f"keys must be text, got {got}"
    if kind in _EXPECTED_TYPES:
        expected = _EXPECTED_TYPES[kind]
        if _accepts_null(loc):
            expected += " or null"
        return f"expected {expected}, got {got}"
    message = error["msg"]
    return f"{message[:1].lower()}{message[1:]}, got {got}"


def _to_config_error(exc: ValidationError, field_prefix: str) -> ConfigError:
    """Convert the first (deterministic: model order, then input order) pydantic error."""
    error = exc.errors(include_url=False)[0]
    return ConfigError(_join_path(field_prefix, error["loc"]), _error_message(error))


def _check_mapping(data: object, field: str) -> Mapping[str, Any]:
    """Return ``data`` if it is a mapping, else raise a ConfigError for ``field``."""
    if not isinstance(data, Mapping):
        raise ConfigError(field, f"expected a mapping of sections, got {_describe_value(data)}")
    return data


def _check_nesting(data: Mapping[Any, Any], field_prefix: str) -> None:
    """Refuse a section nested deeper than :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH`.

    Runs where user data enters, before anything recursive (merging, copying, pydantic)
    walks it; the error names the section, e.g. ``config.battery``.
    """
    for key, value in data.items():
        try:
            check_depth(value, field=_join_path(field_prefix, [str(key)]))
        except InputError as exc:
            raise ConfigError(exc.field, exc.message) from None


def _copy_value(value: Any) -> Any:
    """Deep-copy a config value, turning every mapping into a plain ``dict``."""
    if isinstance(value, Mapping):
        return {key: _copy_value(item) for key, item in value.items()}
    return copy.deepcopy(value)


def _read_config_text(path: Path) -> str:
    """Read a config file as UTF-8; every failure becomes a ConfigError naming ``path``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "config file is not UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config file: {exc.strerror or exc}") from exc


def _parse_yaml_text(text: str, path: Path, yaml: YAML) -> Any:
    """Parse YAML text; syntax errors become a ConfigError with line and column."""
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc.context or "syntax error").splitlines()[0]
        where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        raise ConfigError(str(path), f"invalid YAML{where}: {problem}") from exc
    except YAMLError as exc:
        first_line = (str(exc).splitlines() or ["syntax error"])[0]
        raise ConfigError(str(path), f"invalid YAML: {first_line}") from exc
    except RecursionError:  # the YAML parser recurses once per level of nesting
        raise ConfigError(str(path), f"nested deeper than {MAX_JSON_DEPTH} levels") from None


@functools.cache
def _default_config_data() -> Mapping[str, Any]:
    """Parse the packaged defaults file once (callers must not mutate the result)."""
    data = YAML(typ="safe").load(read_default_config_text())
    return _check_mapping(data, _DEFAULT_CONFIG_NAME)


def read_default_config_text() -> str:
    """Return the text of the packaged ``config.default.yaml``.

    The file lists every key of every section with its default value and a comment giving
    its meaning, unit and allowed range; it is the file users copy to ``config.yaml``.

    Returns
    -------
    str
        The YAML text, comments included.
    """
    resource = resources.files(_DEFAULT_CONFIG_PACKAGE).joinpath(_DEFAULT_CONFIG_NAME)
    return resource.read_text(encoding="utf-8")


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` over ``base``.

    Mappings present on both sides are merged recursively; any other value in ``override``
    (including ``None``, lists and a scalar replacing a mapping) replaces the value in
    ``base``. Neither input is modified and the result shares no mutable values with them.

    Parameters
    ----------
    base : Mapping[str, Any]
        The lower-priority values, e.g. the defaults.
    override : Mapping[str, Any]
        The higher-priority values, e.g. a user's ``config.yaml``.

    Returns
    -------
    dict[str, Any]
        A new nested ``dict`` (every mapping converted to ``dict``).

    Examples
    --------
    >>> merge_config(
    ...     {"battery": {"capacity_kwh": 10.0, "max_charge_kw": 5.0}},
    ...     {"battery": {"capacity_kwh": 9.5}, "grid": {"import_limit_kw": None}},
    ... )
    {'battery': {'capacity_kwh': 9.5, 'max_charge_kw': 5.0}, 'grid': {'import_limit_kw': None}}
    """
    merged: dict[str, Any] = {key: _copy_value(value) for key, value in base.items()}
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge_config(current, value)
        else:
            merged[key] = _copy_value(value)
    return merged


def parse_config(
    data: Mapping[str, Any] | None, *, field_prefix: str = _DEFAULT_FIELD_PREFIX
) -> DarkstarConfig:
    """Merge ``data`` over the packaged defaults and validate it.

    Validation is strict: YAML text is never coerced to a number or a boolean (``"10"`` and
    ``yes`` are refused for a number and a flag), while whole numbers are accepted for
    decimal keys.

    Parameters
    ----------
    data : Mapping[str, Any] or None
        Config sections as read from YAML; ``None`` means "all defaults".
    field_prefix : str, optional
        Prepended to the key path in errors, e.g. the config file name.

    Returns
    -------
    DarkstarConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        For the first invalid value, with ``field`` the dotted key path
        (``config.battery.max_soc_percent``) and a one-line message: the violated bound and
        the value given (``must be <= 100, got 120``), the expected type, an unknown key with
        the nearest known key, or a cross-field rule of a section (field is the section).
        A section nested deeper than :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` levels is
        refused before merging (``config.battery: nested deeper than 64 levels``).

    Examples
    --------
    >>> parse_config({"battery": {"capacity_kwh": 9.5}}).battery.capacity_kwh
    9.5
    """
    user_data = _check_mapping({} if data is None else data, field_prefix)
    _check_nesting(user_data, field_prefix)
    merged = merge_config(_default_config_data(), user_data)
    try:
        config = DarkstarConfig.model_validate(merged, strict=True)
    except ValidationError as exc:
        error = _to_config_error(exc, field_prefix)
        logger.debug("Config rejected: %s", error)
        raise error from exc
    register_secret(config.home_assistant.token)  # masked in every log from now on
    return config


def read_config_file_data(path: Path) -> Mapping[str, Any]:
    """Read a ``config.yaml`` as nested data, without merging defaults or validating.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, not valid YAML, not a mapping, or a section
        is nested deeper than :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` levels.
    """
    document = _parse_yaml_text(_read_config_text(path), path, YAML(typ="safe"))
    data = _check_mapping({} if document is None else document, path.name)
    _check_nesting(data, path.name)
    logger.debug("Read config file %s", path)
    return data


def load_config(
    path: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> DarkstarConfig:
    """Load a YAML config file, apply overrides and validate over the defaults.

    Parameters
    ----------
    path : Path or None, optional
        The user's ``config.yaml``; ``None`` uses the defaults only. An empty file counts
        as ``{}``.
    overrides : Mapping[str, Any] or None, optional
        Nested values merged over the file (e.g. from the command line).

    Returns
    -------
    DarkstarConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        If the file is missing or unreadable (``field`` is the path), is not valid YAML (the
        message gives line and column), or holds an invalid value (``field`` is the key path
        prefixed with the file name, e.g. ``config.yaml.battery.capacity_kwh``; the message
        ends with the key's line in the file, ``(line 3)``). Sections of
        the file or of ``overrides`` nested deeper than
        :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` levels are refused before merging.
    """
    data: Mapping[str, Any] = {}
    field_prefix = _DEFAULT_FIELD_PREFIX
    if path is not None:
        field_prefix = Path(path).name
        data = read_config_file_data(Path(path))
    if overrides:
        _check_nesting(overrides, _DEFAULT_FIELD_PREFIX)
        data = merge_config(data, overrides)
    try:
        return parse_config(data, field_prefix=field_prefix)
    except ConfigError as exc:
        line = None if path is None else _key_line(Path(path), exc.field, field_prefix)
        if line is None:
            raise
        raise ConfigError(exc.field, f"{exc.message} (line {line})") from exc


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _key_line(path: Path, field: str, field_prefix: str) -> int | None:
    """Return the line (1-based) of the key ``field`` names in the file, or ``None``.

    ``field`` is the dotted path of a :class:`ConfigError` (``config.yaml.battery.x``);
    the line is that of the deepest part of it written in the file (a missing key: its
    section's). The file is read again with ruamel's round-trip loader, which keeps where
    each key stands.
    """
    if not field.startswith(f"{field_prefix}."):
        return None
    try:
        node: Any = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError, RecursionError):
        return None
    line = None
    for name, index in _PATH_PART.findall(field[len(field_prefix) + 1 :]):
        lc: Any = getattr(node, "lc", None)
        try:
            if index:
                position, node = lc.item(int(index)), node[int(index)]
            else:
                position, node = lc.key(name), node[name]
        except (AttributeError, KeyError, IndexError, TypeError):
            break
        line = int(position[0]) + 1
    return line
