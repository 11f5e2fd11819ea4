"""Limits on untrusted JSON: how deeply a request, a config or an API body may nest.

This module owns the nesting limit of data that comes from outside (``darkstar plan
--input``, a ``config.yaml``, the ``config`` of a request, an API body). Python's ``json``
and YAML parsers, ``copy.deepcopy`` and pydantic all recurse once per level, so a document
nested a few thousand levels deep ends in :class:`RecursionError` instead of a clear error.
Depth is therefore checked before anything recursive runs: :func:`json_depth` counts the
brackets of JSON text without parsing it, :func:`check_depth` walks decoded data without
recursing, and :func:`parse_json` combines the first with ``json.loads``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from darkstar.errors import InputError

__all__ = ["MAX_JSON_DEPTH", "check_depth", "json_depth", "parse_json"]

#: Deepest nesting accepted in untrusted JSON or YAML data [levels]. A plan request needs
#: 4 (request -> config -> section -> subsection) and a config 3, so 64 leaves ample room,
#: while staying far below the ~1000 frames of Python's recursion limit that the parsers,
#: ``copy.deepcopy`` and pydantic use up at a few frames per level.
MAX_JSON_DEPTH: int = 64

# A JSON string: a quote, then runs of plain bytes and escape pairs (an escaped quote
# included), then the closing quote; written without nested repetition so it is linear.
# An unterminated string runs to the end of the text (the JSON is invalid either way).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# Every byte but the four brackets: deleted by ``bytes.translate``.
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENING = frozenset(b"[{")


def check_depth(value: object, *, field: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse decoded data (mappings and lists) nested deeper than ``max_depth``.

    A scalar has depth 0, ``[]`` and ``{}`` depth 1, ``{"a": [1]}`` depth 2. The walk uses
    an explicit stack, so any depth is checked without recursion.

    Parameters
    ----------
    value : object
        Decoded JSON or YAML data: mappings, lists and tuples are containers.
    field : str
        Field named in the error, e.g. ``config.battery``.
    max_depth : int, optional
        Deepest nesting accepted [levels].

    Raises
    ------
    InputError
        ``nested deeper than {max_depth} levels``, naming ``field``.

    Examples
    --------
    >>> check_depth({"a": [1, [2]]}, field="x", max_depth=3)
    >>> check_depth({"a": [1, [2]]}, field="x", max_depth=2)
    Traceback (most recent call last):
    ...
    darkstar.errors.InputError: x: nested deeper than 2 levels
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            raise InputError(field, f"nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children)


def json_depth(data: bytes | str) -> int:
    r"""Return the deepest bracket nesting of JSON text, without parsing it.

    Strings are removed first (brackets inside them do not count, escaped quotes do not end
    them), then the remaining ``[``/``{`` count +1 and ``]``/``}`` -1; the result is the
    highest running total. Invalid JSON still gets a number (the parser reports it later).
    Linear time and no recursion: a 1 MB text takes milliseconds.

    Parameters
    ----------
    data : bytes or str
        JSON text; bytes are taken as UTF-8 (or ASCII).

    Returns
    -------
    int
        0 for a scalar, 1 for ``[]``, 2 for ``{"a": [1]}``, and so on.

    Examples
    --------
    >>> json_depth('{"a": [1, {"b": "]]}[[[\\"["}]}')
    3
    >>> json_depth(b"[[[]], []]")
    3
    >>> json_depth("42")
    0
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int64)
    return max(0, int(np.cumsum(steps).max()))


def parse_json(text: str | bytes, *, field: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode untrusted JSON text, refusing deep nesting before the parser sees it.

    Parameters
    ----------
    text : str or bytes
        The JSON text (bytes as ``json.loads`` accepts them: UTF-8, -16 or -32).
    field : str
        Field named in errors, e.g. ``input``.
    max_depth : int, optional
        Deepest nesting accepted [levels].

    Returns
    -------
    Any
        The decoded value.

    Raises
    ------
    InputError
        ``nested deeper than {max_depth} levels``, or ``invalid JSON at line L, column C:
        <reason>``, or ``not valid text: <reason>`` for bytes that do not decode.

    Examples
    --------
    >>> parse_json('{"a": [1, 2]}', field="body")
    {'a': [1, 2]}
    >>> parse_json("[[[1]]]", field="body", max_depth=2)
    Traceback (most recent call last):
    ...
    darkstar.errors.InputError: body: nested deeper than 2 levels
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode(json.detect_encoding(text), "strict")
        except UnicodeDecodeError as exc:
            raise InputError(field, f"not valid text: {exc.reason}") from None
    if json_depth(text) > max_depth:
        raise InputError(field, f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            field, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
