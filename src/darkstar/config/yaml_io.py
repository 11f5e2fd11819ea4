"""Apply key changes to a user's ``config.yaml`` without disturbing the rest of the file.

This module owns writing config files. Changes are dotted key paths
(``{"battery.capacity_kwh": 9.5}``) applied with ruamel.yaml's round-trip mode, so comments,
key order, quoting and the formatting of untouched lines survive. The changed document is
validated with :func:`~darkstar.config.loader.parse_config` before anything is written,
and the file is replaced atomically.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import CommentMark
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.tokens import CommentToken

from darkstar.config.loader import (
    _check_nesting,
    _describe_value,
    _join_path,
    _parse_yaml_text,
    _read_config_text,
    parse_config,
)
from darkstar.errors import ConfigError

__all__ = ["update_config_file"]

logger = logging.getLogger(__name__)

_DEFAULT_INDENT = 2
_LINE_WIDTH = 4096  # never re-wrap long values
_INDENTED_KEY = re.compile(r"^( +)[^\s#-]")
_DOCUMENT_START = re.compile(r"^---\s*(#.*)?$")
_DOCUMENT_END = re.compile(r"^\.\.\.\s*(#.*)?$")


def _represent_null(representer: RoundTripRepresenter, data: None) -> ScalarNode:
    """Write ``None`` as ``null`` (ruamel's round-trip default is an empty value)."""
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


class _NullRepresenter(RoundTripRepresenter):
    """Round-trip representer that keeps ``null`` values visible."""


_NullRepresenter.add_representer(type(None), _represent_null)


def _is_filler(line: str) -> bool:
    """Tell whether a line is blank or only a comment."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _split_document_markers(text: str) -> tuple[str, str, str]:
    """Split off a leading ``---`` (with anything above it) and a trailing ``...``.

    ruamel.yaml drops document markers and the comments before ``---`` when it dumps, so
    those lines are kept verbatim and put back around the dumped body.
    """
    lines = text.splitlines(keepends=True)
    head_end = 0
    for index, line in enumerate(lines):
        if _DOCUMENT_START.match(line.rstrip("\n")):
            head_end = index + 1
        elif not (_is_filler(line) or line.startswith("%")):
            break
    tail_start = len(lines)
    for index in range(len(lines) - 1, head_end - 1, -1):
        line = lines[index]
        if _DOCUMENT_END.match(line.rstrip("\n")):
            tail_start = index
            break
        if not _is_filler(line):
            break
    return (
        "".join(lines[:head_end]),
        "".join(lines[head_end:tail_start]),
        "".join(lines[tail_start:]),
    )


def _detect_indent(text: str) -> int:
    """Return the indentation of the first nested key, so the file keeps its indent."""
    for line in text.splitlines():
        match = _INDENTED_KEY.match(line)
        if match:
            return len(match.group(1))
    return _DEFAULT_INDENT


def _round_trip_yaml(indent: int) -> YAML:
    """Build a round-trip YAML instance that changes as little of a file as possible."""
    yaml = YAML(typ="rt")
    yaml.Representer = _NullRepresenter
    yaml.preserve_quotes = True
    yaml.width = _LINE_WIDTH
    yaml.indent(mapping=indent, sequence=indent + 2, offset=indent)
    return yaml


def _to_plain(value: Any) -> Any:
    """Convert ruamel's round-trip types (and str/int/float subclasses) to plain Python."""
    if isinstance(value, Mapping):
        return {_to_plain(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(item) for item in value]
    if isinstance(value, bool | ScalarBoolean):
        return bool(value)
    for plain_type in (int, float, str):
        if isinstance(value, plain_type):
            return plain_type(value)
    return value


def _flatten_changes(changes: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Expand mapping values into dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``)."""
    flat: dict[str, Any] = {}
    for key, value in changes.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(_flatten_changes(value, dotted))
        elif isinstance(value, Mapping):
            flat[dotted] = CommentedMap()
        else:
            flat[dotted] = _to_plain(value)
    return flat


def _last_leaf(mapping: CommentedMap) -> tuple[CommentedMap, Any]:
    """Return the innermost mapping and key written last under ``mapping`` (non-empty)."""
    while True:
        key = next(reversed(mapping))
        value = mapping[key]
        if not (isinstance(value, CommentedMap) and value):
            return mapping, key
        mapping = value


def _append_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Append a new key, moving comment lines that trail the map to after the new key.

    ruamel.yaml attaches the comment lines following a map (e.g. the next section's header)
    to its last key; without this the new key would be written below them.
    """
    token: CommentToken | None = None
    if mapping:
        owner, last_key = _last_leaf(mapping)
        entry = owner.ca.items.get(last_key)
        token = entry[2] if entry and len(entry) > 2 else None
    mapping[key] = value
    if token is None or "\n" not in token.value:
        return
    end_of_line, trailing = token.value.split("\n", 1)
    if not trailing:
        return
    token.value = end_of_line + "\n"
    mapping.ca.items[key] = [None, None, CommentToken("\n" + trailing, CommentMark(0)), None]


def _set_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``mapping[key]`` in place if present, else append it."""
    if key in mapping:
        mapping[key] = value
    else:
        _append_key(mapping, key, value)


def _apply_change(document: CommentedMap, dotted_key: str, value: Any, field_prefix: str) -> None:
    """Set one dotted key in the round-trip document, creating missing sections."""
    parts = dotted_key.split(".")
    if not all(parts):
        raise ConfigError(
            _join_path(field_prefix, [dotted_key]),
            "invalid key path; use dotted keys like 'battery.capacity_kwh'",
        )
    node = document
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = CommentedMap()
            _set_key(node, part, child)
        elif not isinstance(child, CommentedMap):
            raise ConfigError(
                _join_path(field_prefix, parts[: depth + 1]),
                f"expected a section (a mapping of keys), got {_describe_value(child)}",
            )
        node = child
    if isinstance(value, CommentedMap) and isinstance(node.get(parts[-1]), CommentedMap):
        return  # an empty mapping only asks for the section to exist
    _set_key(node, parts[-1], value)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file next to ``path``, then ``os.replace`` it into place."""
    target = path.resolve()
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    temp_path = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(OSError):
            temp_path.chmod(stat.S_IMODE(target.stat().st_mode))
        temp_path.replace(target)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


def update_config_file(path: Path, changes: Mapping[str, Any]) -> None:
    """Apply dotted-key changes to an existing YAML config file, keeping its formatting.

    Comments, key order, quoting and untouched lines are preserved (ruamel.yaml round-trip
    mode, indentation taken from the file). Missing sections are created; a new key goes
    after the last key of its section. The changed document is validated (over the defaults)
    before writing, and the file is replaced atomically, so a refused change or a crash
    leaves it untouched.

    Parameters
    ----------
    path : Path
        The config file to change; it must exist (an empty file is fine).
    changes : Mapping[str, Any]
        Dotted key paths to new values, e.g. ``{"battery.capacity_kwh": 9.5}``. A mapping
        value is applied key by key (``{"battery": {"capacity_kwh": 9.5}}`` is the same).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable or not valid YAML, a key path runs through a
        value that is not a section, the file or ``changes`` nest deeper than
        :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` levels, or the result is not a valid
        config (``field`` is the key path prefixed with the file name, as in
        :func:`~darkstar.config.loader.load_config`).
    OSError
        If the new file cannot be written.
    """
    path = Path(path)
    field_prefix = path.name
    text = _read_config_text(path)
    document = _parse_yaml_text(text, path, _round_trip_yaml(_DEFAULT_INDENT))
    _check_nesting(changes, field_prefix)  # before _flatten_changes recurses through it
    flat_changes = _flatten_changes(changes)
    if not flat_changes:
        logger.debug("No changes for %s", path)
        return
    head, body, tail = _split_document_markers(text)
    yaml = _round_trip_yaml(_detect_indent(body))
    if head or tail:  # re-parse without the markers (errors were reported with file lines)
        document = _parse_yaml_text(body, path, yaml)
    if document is None:
        document = CommentedMap()
        if all(_is_filler(line) for line in body.splitlines()):
            head += body  # a comments-only file keeps its comments; the keys go below
    if not isinstance(document, CommentedMap):
        raise ConfigError(
            field_prefix, f"expected a mapping of sections, got {_describe_value(document)}"
        )
    for dotted_key, value in flat_changes.items():
        _apply_change(document, dotted_key, value, field_prefix)
    _check_nesting(document, field_prefix)  # before _to_plain recurses through it
    parse_config(_to_plain(document), field_prefix=field_prefix)
    stream = io.StringIO()
    yaml.dump(document, stream)
    if head and not head.endswith("\n"):
        head += "\n"
    _write_atomic(path, head + stream.getvalue() + tail)
    logger.info("Updated %s: %s", path, ", ".join(flat_changes))
