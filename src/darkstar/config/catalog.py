"""The config catalogue: every key with its group, default, help text and kind.

The help text is the comment written above each key in ``config.default.yaml``, so the
settings page and the file can never disagree. :func:`validate_changes` checks a set of
dotted-key changes against a base configuration and returns one message per bad key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from darkstar.config.loader import (
    SECRET_KEYS,
    merge_config,
    parse_config,
    read_default_config_text,
)
from darkstar.config.models import DarkstarConfig
from darkstar.errors import ConfigError, InputError
from darkstar.jsonlimits import check_depth

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "SECRET_KEYS",
    "SECRET_MASK",
    "ConfigField",
    "FieldError",
    "config_fields",
    "nest_changes",
    "validate_changes",
]

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):")
_COMMENT_LINE = re.compile(r"^ *# ?(?P<text>.*)$")


@dataclass(frozen=True, kw_only=True)
class ConfigField:
    """One leaf key of the configuration.

    Attributes
    ----------
    key : str
        Dotted path, e.g. ``battery.capacity_kwh``.
    group : str
        Top-level section, e.g. ``battery``.
    value, default : Any
        Current and default value (JSON types).
    help : str
        The comment above the key in ``config.default.yaml``.
    kind : str
        ``number``, ``integer``, ``boolean``, ``string`` or ``list``.
    nullable : bool
        Whether ``null`` is accepted.
    """

    key: str
    group: str
    value: Any
    default: Any
    help: str
    kind: str
    nullable: bool


@dataclass(frozen=True, kw_only=True)
class FieldError:
    """A validation message for one dotted key."""

    field: str
    message: str


def _help_texts() -> dict[str, str]:
    """Map each dotted key of the defaults file to the comment lines above it."""
    helps: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    comment: list[str] = []
    for line in read_default_config_text().splitlines():
        if match := _KEY_LINE.match(line):
            indent = len(match["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match["key"]))
            helps[".".join(key for _, key in stack)] = " ".join(comment)
            comment = []
        elif (match := _COMMENT_LINE.match(line)) and not line.lstrip().startswith("# ==="):
            comment.append(match["text"].strip())
        else:
            comment = []
    return helps


def _leaves(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


SECRET_MASK = "********"


def _kind_of(annotation: Any) -> tuple[str, bool]:
    """Return (kind, nullable) from a pydantic field annotation."""
    text = str(annotation)
    nullable = "None" in text
    for name, kind in (
        ("bool", "boolean"),
        ("float", "number"),
        ("int", "integer"),
        ("list", "list"),
        ("tuple", "list"),
    ):
        if name in text:
            return kind, nullable
    return "string", nullable


def _annotations(model: type[Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            out.update(_annotations(sub, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = sub
    return out


def config_fields(cfg: DarkstarConfig) -> list[ConfigField]:
    """List every leaf key of ``cfg`` with its default, help text and kind (file order)."""
    helps = _help_texts()
    values = _leaves(cfg.model_dump(mode="json"))
    defaults = _leaves(DarkstarConfig().model_dump(mode="json"))
    annotations = _annotations(DarkstarConfig)
    fields = []
    for key in sorted(values, key=lambda k: list(helps).index(k) if k in helps else len(helps)):
        kind, nullable = _kind_of(annotations.get(key))
        value = values[key]
        if key in SECRET_KEYS and value is not None:
            value = SECRET_MASK  # a secret never leaves the service
        fields.append(
            ConfigField(
                key=key,
                group=key.split(".", 1)[0],
                value=value,
                default=defaults.get(key),
                help=helps.get(key, ""),
                kind=kind,
                nullable=nullable,
            )
        )
    return fields


def nest_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"battery.capacity_kwh": 12}`` into ``{"battery": {"capacity_kwh": 12}}``.

    Raises
    ------
    ConfigError
        When a key is empty or is both a value and a section.
    """
    nested: dict[str, Any] = {}
    for dotted, value in changes.items():
        parts = dotted.split(".")
        if not all(parts):
            raise ConfigError(dotted or "changes", "is not a dotted config key")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(dotted, "is both a value and a section")
            node = child
        node[parts[-1]] = value
    return nested


def _short_field(field: str) -> str:
    """Drop the ``config.`` style file prefix from a ConfigError field."""
    return field.split(".", 1)[1] if field.startswith("config.") else field


def validate_changes(
    base: Mapping[str, Any], changes: Mapping[str, Any]
) -> tuple[DarkstarConfig | None, list[FieldError]]:
    """Validate dotted-key ``changes`` over the nested ``base`` config data.

    Each key is first checked on its own (so every bad key gets its own message), then
    all together (for rules between keys, such as min below max). A value (with its dotted
    key) nested deeper than :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` levels gets the
    message ``nested deeper than 64 levels``, never a :class:`RecursionError`.

    Returns
    -------
    tuple
        The merged configuration (``None`` when invalid) and the errors, one per key.
    """
    errors: list[FieldError] = []
    for key, value in changes.items():
        if key in SECRET_KEYS and value == SECRET_MASK:
            errors.append(FieldError(field=key, message="enter the secret itself, not its mask"))
            continue
        try:
            nested = nest_changes({key: value})
            check_depth(nested, field=key)  # before merge_config recurses through it
            parse_config(merge_config(base, nested), field_prefix="config")
        except InputError as exc:  # a ConfigError, or too deep
            errors.append(FieldError(field=key, message=exc.message))
    if errors:
        return None, errors
    try:
        merged = parse_config(merge_config(base, nest_changes(changes)), field_prefix="config")
    except ConfigError as exc:
        return None, [FieldError(field=_short_field(exc.field), message=exc.message)]
    return merged, []
