"""Tests of darkstar.jsonlimits: nesting depth of JSON text and of decoded data."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from darkstar.errors import InputError
from darkstar.jsonlimits import MAX_JSON_DEPTH, check_depth, json_depth, parse_json

DEEP = 100_000


def _depth(value: Any) -> int:
    """Reference nesting depth of decoded JSON (recursive: small inputs only)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _deep_list(depth: int) -> list[Any]:
    """``[[[...]]]`` nested ``depth`` levels, built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # brackets, quotes and backslashes included
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


# --- json_depth -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("42", 0),
        ('"[[[{{{"', 0),
        ("[]", 1),
        ("{}", 1),
        ('{"a": [1, {"b": null}]}', 3),
        ('["]]]]", ["[[[["]]', 2),
        (r'["a \" [[[ \" ]"]', 1),  # escaped quotes do not end the string
        (r'["\\", [1]]', 2),  # an escaped backslash does: the quote after it closes
        (r'{"k\"[": "}\\", "v": [[]]}', 3),
        ('["ünïcødé [", ["€"]]', 2),
        ("  [\n [ ]\n]  ", 2),
        ("[[[", 3),  # invalid JSON still gets a number
        ('["unterminated [[[[', 1),
    ],
)
def test_json_depth_ignores_brackets_inside_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth
    assert json_depth(text.encode("utf-8")) == depth


@given(_json_values)
def test_json_depth_equals_depth_of_the_dumped_data(value: Any) -> None:
    assert json_depth(json.dumps(value)) == _depth(value)
    assert json_depth(json.dumps(value, ensure_ascii=False, indent=1)) == _depth(value)


def test_json_depth_of_100000_levels_without_recursion() -> None:
    assert json_depth("[" * DEEP + "]" * DEEP) == DEEP


def test_json_depth_is_fast_on_a_megabyte() -> None:
    strings = json.dumps(["x" * 990 + r"\"[{" for _ in range(1000)])
    brackets = "[" * 500_000 + "]" * 500_000
    start = time.perf_counter()
    assert json_depth(strings) == 1
    assert json_depth(brackets) == 500_000
    assert time.perf_counter() - start < 1.0  # milliseconds in practice


# --- check_depth ------------------------------------------------------------------------------


@given(_json_values, st.integers(0, 6))
def test_check_depth_refuses_exactly_what_is_too_deep(value: Any, max_depth: int) -> None:
    if _depth(value) > max_depth:
        with pytest.raises(InputError) as info:
            check_depth(value, field="body", max_depth=max_depth)
        assert (info.value.field, info.value.message) == (
            "body",
            f"nested deeper than {max_depth} levels",
        )
    else:
        check_depth(value, field="body", max_depth=max_depth)


def test_check_depth_of_100000_levels_raises_input_error_not_recursion_error() -> None:
    nested: dict[str, Any] = {}
    for _ in range(DEEP):
        nested = {"x": nested}
    with pytest.raises(InputError, match=f"config.battery: nested deeper than {MAX_JSON_DEPTH}"):
        check_depth(nested, field="config.battery")
    with pytest.raises(InputError):
        check_depth(_deep_list(DEEP), field="x")


def test_check_depth_accepts_the_limit_and_tuples() -> None:
    check_depth(_deep_list(MAX_JSON_DEPTH), field="x")
    with pytest.raises(InputError):
        check_depth(_deep_list(MAX_JSON_DEPTH + 1), field="x")
    with pytest.raises(InputError):
        check_depth(((1,),), field="x", max_depth=1)


# --- parse_json -------------------------------------------------------------------------------


def test_parse_json_decodes_text_and_bytes() -> None:
    assert parse_json('{"a": [1, "]"]}', field="body") == {"a": [1, "]"]}
    assert parse_json('{"a": "å"}'.encode("utf-16"), field="body") == {"a": "å"}


@pytest.mark.parametrize(
    "text", ["[" * DEEP + "]" * DEEP, '{"config": {"a": ' + "[" * DEEP + "]" * DEEP + "}}"]
)
def test_parse_json_refuses_deep_nesting_before_parsing(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_json(text, field="input")
    assert (info.value.field, info.value.message) == (
        "input",
        f"nested deeper than {MAX_JSON_DEPTH} levels",
    )


def test_parse_json_max_depth_is_inclusive() -> None:
    text = "[" * 5 + "]" * 5
    assert parse_json(text, field="x", max_depth=5) == _deep_list(5)
    with pytest.raises(InputError):
        parse_json(text, field="x", max_depth=4)


def test_parse_json_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(InputError) as info:
        parse_json('{\n  "a": 1,\n}', field="input")
    assert info.value.field == "input"
    assert info.value.message.startswith("invalid JSON at line 3, column 1: ")


def test_parse_json_undecodable_bytes() -> None:
    with pytest.raises(InputError, match="body: not valid text"):
        parse_json(b'{"a": "\xff"}', field="body")
