"""Where the Home Assistant URL and token come from, and how mistakes are reported."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from darkstar.errors import InputError
from darkstar.sources.homeassistant import (
    SUPERVISOR_URL,
    HomeAssistantConnection,
    resolve_connection,
    resolve_token,
)

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "eyJhbGciOiJIUzI1NiJ9.secret-token"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "ha_token"
    path.write_text(f"  {SECRET}\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def test_resolve_token_prefers_the_config_value(token_file: Path) -> None:
    env = {"DARKSTAR_HA_TOKEN": "from-env", "SUPERVISOR_TOKEN": "from-supervisor"}
    found = resolve_token(token="from-config", token_file=token_file, environ=env)
    assert found == "from-config"


def test_resolve_token_reads_a_private_file(token_file: Path) -> None:
    assert resolve_token(token=None, token_file=token_file, environ={}) == SECRET
    assert resolve_token(token="  ", token_file=token_file, environ={}) == SECRET


def test_resolve_token_refuses_a_file_others_can_read(token_file: Path) -> None:
    token_file.chmod(0o644)
    with pytest.raises(InputError) as caught:
        resolve_token(token=None, token_file=token_file, environ={})
    assert caught.value.field == "home_assistant.token_file"
    assert "mode 0644" in str(caught.value)
    assert f"chmod 600 {token_file}" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_resolve_token_missing_or_empty_file_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"home_assistant.token_file: cannot read"):
        resolve_token(token=None, token_file=tmp_path / "absent", environ={})
    empty = tmp_path / "empty"
    empty.touch(mode=0o600)
    with pytest.raises(InputError, match=r"home_assistant.token_file: .* is empty"):
        resolve_token(token=None, token_file=empty, environ={})


def test_resolve_token_then_the_env_var_then_the_supervisor() -> None:
    env = {"DARKSTAR_HA_TOKEN": "from-env", "SUPERVISOR_TOKEN": "from-supervisor"}
    assert resolve_token(token=None, token_file=None, environ=env) == "from-env"
    assert resolve_token(token=None, token_file=None, env_var="MY_HA", environ=env) == (
        "from-supervisor"
    )


def test_resolve_token_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DARKSTAR_HA_TOKEN", "from-os-env")
    assert resolve_token(token=None, token_file=None) == "from-os-env"


def test_resolve_token_none_found_is_one_clear_error() -> None:
    with pytest.raises(InputError) as caught:
        resolve_token(token=None, token_file=None, environ={})
    assert caught.value.field == "home_assistant.token"
    assert "DARKSTAR_HA_TOKEN" in str(caught.value)


def test_resolve_connection_in_an_add_on_uses_the_supervisor_proxy() -> None:
    connection = resolve_connection(
        url="http://homeassistant.local:8123",
        token=None,
        token_file=None,
        environ={"SUPERVISOR_TOKEN": "from-supervisor"},
    )
    assert (connection.url, connection.token) == (SUPERVISOR_URL, "from-supervisor")
    assert connection.websocket_url == "ws://supervisor/core/websocket"


def test_resolve_connection_needs_a_url_outside_an_add_on() -> None:
    with pytest.raises(InputError) as caught:
        resolve_connection(url=None, token="t", token_file=None, environ={})
    assert caught.value.field == "home_assistant.url"
    connection = resolve_connection(
        url="https://ha.example.org/", token="t", token_file=None, timeout_s=3, environ={}
    )
    assert connection == HomeAssistantConnection("https://ha.example.org", "t", timeout_s=3)


@pytest.mark.parametrize(
    ("url", "websocket_url"),
    [
        ("http://192.168.1.5:8123", "ws://192.168.1.5:8123/api/websocket"),
        ("https://ha.example.org/", "wss://ha.example.org/api/websocket"),
        ("https://example.org/ha", "wss://example.org/ha/api/websocket"),
        (SUPERVISOR_URL, "ws://supervisor/core/websocket"),
    ],
)
def test_connection_websocket_url(url: str, websocket_url: str) -> None:
    assert HomeAssistantConnection(url, "t").websocket_url == websocket_url


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "homeassistant.local:8123"}, "home_assistant.url"),
        ({"url": "ftp://ha"}, "home_assistant.url"),
        ({"url": "http://ha:8123/?x=1"}, "home_assistant.url"),
        ({"token": " "}, "home_assistant.token"),
        ({"timeout_s": 0.0}, "home_assistant.timeout_s"),
        ({"timeout_s": float("nan")}, "home_assistant.timeout_s"),
    ],
)
def test_connection_refuses_bad_settings(kwargs: dict[str, object], field: str) -> None:
    settings: dict[str, object] = {"url": "http://ha:8123", "token": "t", **kwargs}
    with pytest.raises(InputError) as caught:
        HomeAssistantConnection(**settings)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_connection_repr_hides_the_token() -> None:
    assert SECRET not in repr(HomeAssistantConnection("http://ha:8123", SECRET))
