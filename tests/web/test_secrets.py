"""No secret in a log or an API reply: the API token and the Home Assistant token.

The service runs the simulated home with a Home Assistant token in its config (as a user
who set one up before switching the URL on); every GET route the OpenAPI document lists
is read, every log record goes through the real handlers, and none may carry either token.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from darkstar import redact
from darkstar.backends import open_runtime
from darkstar.config.loader import parse_config
from darkstar.errors import ConfigError
from darkstar.service.logbuffer import LogBuffer
from darkstar.sources.homeassistant.config import resolve_connection
from darkstar.web.app import create_app
from darkstar.web.auth import load_or_create_token

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.service.runtime import Runtime

HA_TOKEN = "eyJhbGciOiJIUzI1NiJ9.ha-long-lived-token-for-tests.Zm9vYmFy"
ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def secret_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, Path]]:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "config.yaml").write_text(f"home_assistant:\n  token: {HA_TOKEN}\n", encoding="utf-8")
    runtime = open_runtime(data_dir=folder, config_path=folder / "config.yaml", speed=math.inf)
    runtime.warm_up(4)
    yield runtime, folder
    runtime.stop()


@pytest.fixture(scope="module")
def served(secret_runtime: tuple[Runtime, Path]) -> Iterator[tuple[TestClient, LogBuffer, str]]:
    runtime, folder = secret_runtime
    api_token = load_or_create_token(folder)
    logs = LogBuffer()
    logging.getLogger("darkstar").addHandler(logs)
    app = create_app(runtime, token=api_token, origin=ORIGIN, logs=logs, manage_runtime=False)
    try:
        with TestClient(app) as client:
            yield client, logs, api_token
    finally:
        logging.getLogger("darkstar").removeHandler(logs)


def _plain_get_paths(client: TestClient) -> list[str]:
    spec = client.get("/api/v1/openapi.json").json()
    return sorted(path for path, item in spec["paths"].items() if "get" in item and "{" not in path)


def test_no_get_reply_carries_a_token(served: tuple[TestClient, LogBuffer, str]) -> None:
    client, _, api_token = served
    paths = _plain_get_paths(client)
    assert len(paths) >= 10, paths  # the walk really covers the API
    for path in [*paths, "/api/v1/openapi.json", "/"]:
        body = client.get(path).text
        assert HA_TOKEN not in body, path
        assert api_token not in body, path
    shown = client.get("/api/v1/config").json()
    assert HA_TOKEN not in json.dumps(shown)


def _reject() -> None:
    raise RuntimeError(f"rejected token {HA_TOKEN}")


def test_a_token_logged_by_anyone_is_masked_everywhere(
    served: tuple[TestClient, LogBuffer, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, _, api_token = served
    caplog.set_level(logging.INFO)
    logging.getLogger("darkstar.service.agent").warning("calling with %s", HA_TOKEN)
    logging.getLogger("uvicorn.error").warning("header Bearer %s", api_token)
    try:
        _reject()
    except RuntimeError:
        logging.getLogger("httpx").exception("request failed")
    written = "\n".join(
        [r.getMessage() + (r.exc_text or "") for r in caplog.records] + [caplog.text]
    )
    assert HA_TOKEN not in written
    assert api_token not in written
    assert written.count(redact.MASK) >= 3
    shown = client.get("/api/v1/logs", params={"level": "DEBUG", "limit": 500}).text
    assert "calling with ***" in shown
    assert HA_TOKEN not in shown


def test_config_errors_never_quote_a_secret() -> None:
    almost = HA_TOKEN[:15]  # a token pasted short is still most of a secret
    with pytest.raises(ConfigError) as caught:
        parse_config({"home_assistant": {"token": almost}})
    assert almost not in str(caught.value)
    assert "a secret of 15 characters" in str(caught.value)


def test_put_config_error_does_not_echo_the_token(
    served: tuple[TestClient, LogBuffer, str],
) -> None:
    client, _, api_token = served
    almost = "short-but-secret"
    reply = client.put(
        "/api/v1/config",
        json={"changes": {"home_assistant.token": almost}},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert reply.status_code in {400, 422}, reply.text
    assert almost not in reply.text


def test_every_token_source_is_registered(tmp_path: Path) -> None:
    token_file = tmp_path / "ha_token"
    token_file.write_text("file-held-token-0123456789abcdef\n", encoding="utf-8")
    token_file.chmod(0o600)
    for kwargs in (
        {"token": None, "token_file": token_file, "environ": {}},
        {
            "token": None,
            "token_file": None,
            "environ": {"DARKSTAR_HA_TOKEN": "env-token-0123456789"},
        },
        {
            "token": None,
            "token_file": None,
            "environ": {"SUPERVISOR_TOKEN": "supervisor-0123456789"},
        },
    ):
        connection = resolve_connection(url="http://ha.local:8123", **kwargs)  # type: ignore[arg-type]
        assert redact.redact(f"x {connection.token} y") == "x *** y"


def test_short_values_are_not_masked() -> None:
    redact.register_secret("abc")
    redact.register_secret(None)
    assert redact.redact("abc def") == "abc def"
