#!/usr/bin/env bash
# Darkstar add-on entry point: apply the add-on's options to config.yaml, then serve the
# UI and the API to Home Assistant's ingress proxy only.
#
#   /data                 persistent (the Supervisor's): learning store, schedule.json,
#                         state.json, models/, api_token; options.json (the add-on's options)
#   /config/config.yaml   Darkstar's config (addon_config map): on the host it is
#                         /addon_configs/<repository>_darkstar/config.yaml, editable with the
#                         File editor or Samba add-on, and by Darkstar's Settings page
#
# Home Assistant is reached through the Supervisor: SUPERVISOR_TOKEN is set by the
# Supervisor (homeassistant_api: true) and darkstar reads it from the environment itself
# (sources/homeassistant/config.py); it is never written to a file.
set -euo pipefail

options=/data/options.json
config=/config/config.yaml

if [[ -z "${SUPERVISOR_TOKEN:-}" ]]; then
    echo "darkstar add-on: warning: SUPERVISOR_TOKEN is not set;" \
        "Home Assistant needs home_assistant.token in ${config}" >&2
fi

# Writes home_assistant.url (when unset) and executor.shadow_mode into config.yaml,
# comments kept; prints the extra `darkstar serve` flags. No jq in the image: Python.
serve_flags="$(
    python3 - "${options}" "${config}" <<'PY'
import json
import sys
from pathlib import Path

from darkstar.config import update_config_file
from darkstar.config.loader import read_config_file_data
from darkstar.errors import DarkstarError
from darkstar.sources.homeassistant.config import SUPERVISOR_URL

STARTER = f"""\
# Darkstar config: only the keys that differ from config.default.yaml.
# As an add-on Darkstar reaches Home Assistant through the Supervisor (its token comes
# from SUPERVISOR_TOKEN). Name your entities (input_sensors, executor), your battery and
# your prices here, then restart the add-on: the add-on's Documentation tab has an example.
home_assistant:
  url: {SUPERVISOR_URL}
"""

options_path, config_path = Path(sys.argv[1]), Path(sys.argv[2])
try:
    options = json.loads(options_path.read_text(encoding="utf-8"))
except FileNotFoundError:
    options = {}
except (OSError, ValueError) as exc:
    sys.exit(f"darkstar add-on: error: cannot read {options_path}: {exc}")
try:
    if not config_path.exists():
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(STARTER, encoding="utf-8")
        print(f"darkstar add-on: wrote a starter {config_path}", file=sys.stderr)
    data = read_config_file_data(config_path)
    changes = {}
    if not (data.get("home_assistant") or {}).get("url"):
        changes["home_assistant.url"] = SUPERVISOR_URL
    shadow = bool(options.get("shadow_mode", True))
    if (data.get("executor") or {}).get("shadow_mode") is not shadow:
        changes["executor.shadow_mode"] = shadow
    if changes:
        update_config_file(config_path, changes)
        for key, value in changes.items():
            print(f"darkstar add-on: {config_path}: {key}: {json.dumps(value)}", file=sys.stderr)
except (DarkstarError, OSError) as exc:
    sys.exit(f"darkstar add-on: error: {exc}")
print("--access-log" if options.get("access_log") else "--no-access-log")
PY
)"
read -r -a extra_flags <<<"${serve_flags}"

# --ingress-proxy: only the Supervisor's proxy may connect, and it needs no API token
# (Home Assistant has logged the user in); the port is config.yaml's ingress_port.
exec darkstar serve --host 0.0.0.0 --port 8099 --data-dir /data --config "${config}" \
    --ingress-proxy 172.30.32.2 "${extra_flags[@]}"
