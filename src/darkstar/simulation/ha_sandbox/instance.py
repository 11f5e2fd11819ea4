"""Start, onboard and stop a real local Home Assistant: the sandbox for tests and the demo.

:func:`running_home_assistant` runs ``hass`` from the venv that ``make ha-venv`` installs
(``build/ha/venv``; ``DARKSTAR_HA_VENV`` overrides it) with ``--skip-pip``, on 127.0.0.1
only, against a configuration folder holding the sandbox ``configuration.yaml``
(:mod:`darkstar.simulation.ha_sandbox.config`). On the first start it onboards HA through
its HTTP API, as the frontend would:

1. ``POST /api/onboarding/users`` creates the owner (:data:`SANDBOX_USERNAME`,
   :data:`SANDBOX_PASSWORD`) and returns an authorization code,
2. ``POST /auth/token`` (``grant_type=authorization_code``) turns it into an access token,
3. ``POST /api/onboarding/core_config``, ``.../analytics`` and ``.../integration`` finish
   onboarding (analytics stays off),
4. ``auth/long_lived_access_token`` over the WebSocket API creates a long-lived token,
   kept in ``<config>/.darkstar_token`` (mode 0600) so later starts reuse it.

When the token file is lost, the login flow (``/auth/login_flow``) with the sandbox
credentials gets a new one. HA's onboarding also sets up a few cloud integrations
(Google Translate TTS, Met.no, Radio Browser, shopping list); their requirements are not
installed, so they never reach the network, and the entries they leave are removed.

A start is complete when ``GET /api/config`` reports ``RUNNING``: the HTTP API answers
earlier, while integrations are still being set up.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from websockets.sync.client import connect as ws_connect

from darkstar.errors import DarkstarError
from darkstar.simulation.ha_sandbox.config import write_config

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "HA_VENV_ENV",
    "LOG_FILENAME",
    "SANDBOX_PASSWORD",
    "SANDBOX_USERNAME",
    "TOKEN_FILENAME",
    "HomeAssistantInstance",
    "SandboxError",
    "default_ha_venv",
    "running_home_assistant",
]

logger = logging.getLogger(__name__)

HA_VENV_ENV = "DARKSTAR_HA_VENV"
"""Environment variable naming the HA venv, instead of ``<repo>/build/ha/venv``."""

TOKEN_FILENAME = ".darkstar_token"
LOG_FILENAME = "ha.log"

# The sandbox listens on 127.0.0.1 only; fixed credentials let a person log into the demo.
SANDBOX_USERNAME = "darkstar"
SANDBOX_PASSWORD = "darkstar-sandbox"  # a local throwaway sandbox account
_SANDBOX_OWNER_NAME = "Darkstar"

_STOP_TIMEOUT_S = 30.0
_POLL_INTERVAL_S = 0.2
_HTTP_TIMEOUT_S = 10.0
_LONG_LIVED_TOKEN_DAYS = 3650
# Integrations whose onboarding flows create entries with only HA's own requirements
# installed (Met.no and Radio Browser fail to load before creating one).
_ONBOARDING_ENTRY_DOMAINS = frozenset({"google_translate", "shopping_list"})
_ONBOARDING_ENTRY_WAIT_S = 10.0
_LOG_TAIL_LINES = 30
# Direct HTTP to 127.0.0.1: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxError(DarkstarError):
    """The sandbox Home Assistant could not be installed, started or onboarded."""


def default_ha_venv() -> Path:
    """Return the HA venv: ``$DARKSTAR_HA_VENV`` or ``<repo>/build/ha/venv``.

    Returns
    -------
    Path
        The venv folder (``bin/hass`` inside it runs Home Assistant). It may not exist.
    """
    if configured := os.environ.get(HA_VENV_ENV):
        return Path(configured).expanduser().resolve()
    # src/darkstar/simulation/ha_sandbox/instance.py -> the repository root
    return Path(__file__).resolve().parents[4] / "build" / "ha" / "venv"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _log_tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    timeout_s: float = _HTTP_TIMEOUT_S,
) -> tuple[int, Any]:
    """Send one request; return ``(status, body)``, the body parsed as JSON when it is JSON.

    Raises ``OSError`` (``URLError`` included) when nothing answers.
    """
    headers = {"Accept": "application/json"}
    data: bytes | None = None
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            status: int = response.status
            raw: bytes = response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        raw = error.read()
        error.close()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def _expect_ok(step: str, status: int, body: Any) -> Any:
    if not 200 <= status < 300:
        msg = f"{step} answered HTTP {status}: {body}"
        raise SandboxError(msg)
    return body


def _exchange_auth_code(url: str, auth_code: str) -> str:
    status, body = _http(
        "POST",
        f"{url}/auth/token",
        form={"grant_type": "authorization_code", "code": auth_code, "client_id": f"{url}/"},
    )
    return str(_expect_ok("POST /auth/token", status, body)["access_token"])


def _onboard_user(url: str) -> str:
    """Create the owner account; return a short-lived access token for it."""
    status, body = _http(
        "POST",
        f"{url}/api/onboarding/users",
        json_body={
            "client_id": f"{url}/",
            "name": _SANDBOX_OWNER_NAME,
            "username": SANDBOX_USERNAME,
            "password": SANDBOX_PASSWORD,
            "language": "en",
        },
    )
    auth_code = str(_expect_ok("POST /api/onboarding/users", status, body)["auth_code"])
    return _exchange_auth_code(url, auth_code)


def _log_in(url: str) -> str:
    """Log in with the sandbox credentials (login flow); return a short-lived access token."""
    client_id = f"{url}/"
    status, body = _http(
        "POST",
        f"{url}/auth/login_flow",
        json_body={
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id,
        },
    )
    flow_id = str(_expect_ok("POST /auth/login_flow", status, body)["flow_id"])
    status, body = _http(
        "POST",
        f"{url}/auth/login_flow/{flow_id}",
        json_body={
            "client_id": client_id,
            "username": SANDBOX_USERNAME,
            "password": SANDBOX_PASSWORD,
        },
    )
    result = _expect_ok("POST /auth/login_flow/<flow_id>", status, body)
    if result.get("type") != "create_entry":
        msg = f"login as {SANDBOX_USERNAME!r} failed: {result}"
        raise SandboxError(msg)
    return _exchange_auth_code(url, str(result["result"]))


def _finish_onboarding(url: str, access_token: str, done: set[str]) -> None:
    """Run the onboarding steps after ``user`` that are not ``done`` yet, in HA's order."""
    if "core_config" not in done:
        status, body = _http("POST", f"{url}/api/onboarding/core_config", token=access_token)
        _expect_ok("POST /api/onboarding/core_config", status, body)
    if "analytics" not in done:
        status, body = _http("POST", f"{url}/api/onboarding/analytics", token=access_token)
        _expect_ok("POST /api/onboarding/analytics", status, body)
    if "integration" not in done:
        status, body = _http(
            "POST",
            f"{url}/api/onboarding/integration",
            token=access_token,
            json_body={"client_id": f"{url}/", "redirect_uri": f"{url}/?auth_callback=1"},
        )
        _expect_ok("POST /api/onboarding/integration", status, body)


def _create_long_lived_token(url: str, access_token: str) -> str:
    ws_url = "ws" + url.removeprefix("http") + "/api/websocket"
    # one long-lived token per client name: a new name for each token
    client_name = f"Darkstar HA sandbox {datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
    with ws_connect(ws_url, proxy=None, open_timeout=_HTTP_TIMEOUT_S) as websocket:
        json.loads(websocket.recv(timeout=_HTTP_TIMEOUT_S))  # auth_required
        websocket.send(json.dumps({"type": "auth", "access_token": access_token}))
        reply = json.loads(websocket.recv(timeout=_HTTP_TIMEOUT_S))
        if reply.get("type") != "auth_ok":
            msg = f"WebSocket authentication failed: {reply}"
            raise SandboxError(msg)
        websocket.send(
            json.dumps(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": client_name,
                    "lifespan": _LONG_LIVED_TOKEN_DAYS,
                }
            )
        )
        result = json.loads(websocket.recv(timeout=_HTTP_TIMEOUT_S))
    if not result.get("success"):
        msg = f"auth/long_lived_access_token failed: {result}"
        raise SandboxError(msg)
    return str(result["result"])


def _write_token(path: Path, token: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    path.chmod(0o600)


def _token_works(url: str, token: str) -> bool:
    status, _ = _http("GET", f"{url}/api/", token=token)
    return status == 200


def _authenticate(url: str, config_dir: Path) -> tuple[str, bool]:
    """Return a working long-lived token and whether this call ran ``core_config``.

    The token is the stored one, or a new one (after onboarding when it is not finished).
    """
    token_path = config_dir / TOKEN_FILENAME
    if token_path.exists():
        token = token_path.read_text(encoding="utf-8").strip()
        if token and _token_works(url, token):
            return token, False
        logger.info("stored HA token in %s is not accepted; creating a new one", token_path)
    # /api/onboarding exists only until onboarding is finished
    status, steps = _http("GET", f"{url}/api/onboarding")
    onboarding = status == 200
    done = {step["step"] for step in steps if step["done"]} if onboarding else set()
    if onboarding and "user" not in done:
        logger.info("onboarding the sandbox Home Assistant at %s", url)
        access_token = _onboard_user(url)
    else:
        access_token = _log_in(url)
    if onboarding:
        _finish_onboarding(url, access_token, done)
    token = _create_long_lived_token(url, access_token)
    _write_token(token_path, token)
    return token, onboarding and "core_config" not in done


def _onboarding_entry_ids(url: str, token: str) -> dict[str, str]:
    """Config entries created by onboarding flows: entry id -> domain."""
    status, entries = _http("GET", f"{url}/api/config/config_entries/entry", token=token)
    _expect_ok("GET /api/config/config_entries/entry", status, entries)
    return {
        entry["entry_id"]: entry["domain"]
        for entry in entries
        if entry.get("source") == "onboarding"
    }


def _remove_onboarding_entries(url: str, token: str, *, wait_s: float) -> None:
    """Remove the config entries onboarding created; wait up to ``wait_s`` for them first."""
    deadline = time.monotonic() + wait_s
    entries = _onboarding_entry_ids(url, token)
    while not set(entries.values()) >= _ONBOARDING_ENTRY_DOMAINS and time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL_S)
        entries = _onboarding_entry_ids(url, token)
    for entry_id, domain in entries.items():
        status, body = _http(
            "DELETE", f"{url}/api/config/config_entries/entry/{entry_id}", token=token
        )
        _expect_ok(f"DELETE config entry {domain}", status, body)
        logger.debug("removed the %s config entry onboarding created", domain)


class HomeAssistantInstance:
    """A running sandbox Home Assistant, started by :func:`running_home_assistant`.

    Attributes
    ----------
    url : str
        Base URL, ``http://127.0.0.1:<port>`` (no trailing slash).
    token : str
        Long-lived access token (``Authorization: Bearer <token>``), also stored in
        ``<config_dir>/.darkstar_token``.
    log_path : Path
        HA's console output, appended at every start (``<config_dir>/ha.log``).
    config_dir : Path
        HA configuration folder.
    startup_s : float
        How long the last start took, from launching ``hass`` to ``RUNNING`` [s].
    """

    def __init__(
        self, *, config_dir: Path, port: int, ha_venv: Path, startup_timeout_s: float
    ) -> None:
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = config_dir / LOG_FILENAME
        self.token = ""
        self.startup_s = float("nan")
        self._hass = ha_venv / "bin" / "hass"
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: TextIO | None = None

    @property
    def pid(self) -> int:
        """Process id of the running ``hass`` (-1 when stopped)."""
        return self._process.pid if self._process is not None else -1

    @property
    def is_running(self) -> bool:
        """Whether the ``hass`` process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start HA (onboarding it the first time) and wait until it is ``RUNNING``.

        Raises
        ------
        SandboxError
            When ``hass`` is missing, exits, or is not running within the startup timeout;
            the message ends with the tail of the log.
        """
        if self.is_running:
            return
        if not self._hass.exists():
            msg = f"no Home Assistant at {self._hass}: run `make ha-venv` (make test does it)"
            raise SandboxError(msg)
        if _port_in_use(self.port):
            # we would talk to whatever listens there (an old HA?) instead of our new process
            msg = f"port {self.port} on 127.0.0.1 is in use: is another Home Assistant running?"
            raise SandboxError(msg)
        write_config(self.config_dir, port=self.port)
        started = time.monotonic()
        deadline = started + self._startup_timeout_s
        self._launch()
        try:
            self._wait_http(deadline)
            self.token, ran_core_config = _authenticate(self.url, self.config_dir)
            self._wait_running(deadline)
            # core_config starts the onboarding flows: wait for their entries, then remove them
            wait_s = min(_ONBOARDING_ENTRY_WAIT_S, max(deadline - time.monotonic(), 0.0))
            _remove_onboarding_entries(
                self.url, self.token, wait_s=wait_s if ran_core_config else 0.0
            )
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        logger.info("Home Assistant at %s running after %.1f s", self.url, self.startup_s)

    def stop(self) -> None:
        """Stop HA: SIGTERM, then SIGKILL after 30 s. Does nothing when it is stopped."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("Home Assistant (pid %d) ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self) -> None:
        """Stop HA and start it again on the same port; wait until it is ``RUNNING``."""
        self.stop()
        self.start()

    def _launch(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("a", encoding="utf-8")
        self._log_file.write(f"=== darkstar: starting {self._hass} at {datetime.now(UTC):%c} UTC\n")
        self._log_file.flush()
        command = [str(self._hass), "-c", str(self.config_dir), "--skip-pip", "--log-no-color"]
        # HA dies with its parent (pytest killed, demo crashed) instead of lingering
        if setpriv := shutil.which("setpriv"):
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            code = self._process.returncode if self._process is not None else None
            msg = (
                f"Home Assistant exited (code {code}); {self.log_path}:\n{_log_tail(self.log_path)}"
            )
            raise SandboxError(msg)

    def _timeout(self, what: str) -> SandboxError:
        msg = (
            f"Home Assistant at {self.url} not {what} within {self._startup_timeout_s:.0f} s; "
            f"{self.log_path}:\n{_log_tail(self.log_path)}"
        )
        return SandboxError(msg)

    def _wait_http(self, deadline: float) -> None:
        """Wait until HA's HTTP server answers (``/auth/providers`` needs no token)."""
        while True:
            self._check_alive()
            with suppress(OSError):
                _http("GET", f"{self.url}/auth/providers", timeout_s=2.0)
                return
            if time.monotonic() > deadline:
                raise self._timeout("answering HTTP")
            time.sleep(_POLL_INTERVAL_S)

    def _wait_running(self, deadline: float) -> None:
        """Wait until ``GET /api/config`` reports ``RUNNING`` (all integrations set up)."""
        while True:
            self._check_alive()
            status, config = _http("GET", f"{self.url}/api/config", token=self.token)
            if status == 200 and config.get("state") == "RUNNING":
                return
            if time.monotonic() > deadline:
                raise self._timeout("RUNNING")
            time.sleep(_POLL_INTERVAL_S)


@contextmanager
def running_home_assistant(
    config_dir: Path,
    *,
    port: int | None = None,
    startup_timeout_s: float = 180.0,
    ha_venv: Path | None = None,
) -> Iterator[HomeAssistantInstance]:
    """Run a sandbox Home Assistant for the duration of the ``with`` block.

    Parameters
    ----------
    config_dir : Path
        HA configuration folder, created if missing. ``configuration.yaml`` is (re)written
        at every start; HA's state (owner account, tokens, registries, the SQLite recorder
        database) persists there, so a second run skips onboarding.
    port : int or None
        TCP port on 127.0.0.1; None picks a free one.
    startup_timeout_s : float
        Limit for each start (launch to ``RUNNING``) [s].
    ha_venv : Path or None
        Venv holding ``bin/hass``; None uses :func:`default_ha_venv`.

    Yields
    ------
    HomeAssistantInstance
        The running instance, with its URL and a long-lived token. HA is stopped on exit,
        also on errors.

    Raises
    ------
    SandboxError
        When HA is not installed (run ``make ha-venv``), or does not start.
    """
    instance = HomeAssistantInstance(
        config_dir=config_dir.resolve(),
        port=port if port is not None else _free_port(),
        ha_venv=ha_venv if ha_venv is not None else default_ha_venv(),
        startup_timeout_s=startup_timeout_s,
    )
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
