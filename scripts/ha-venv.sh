#!/usr/bin/env bash
# Installs the pinned Home Assistant that the HA sandbox (darkstar.simulation.ha_sandbox) runs:
# its own venv, on Python 3.13 (HA 2025.4 needs it), at build/ha/venv or the folder given as
# the first argument. A stamp file holding the pins makes a second run instant.
#
# Python 3.13 is looked up as: $HA_PYTHON, `python3.13` on PATH, ~/.pyenv/versions/3.13*,
# then $(pyenv root)/versions/3.13*. Each candidate must really run and report 3.13 (a pyenv
# shim on PATH exists even when it cannot run).
set -euo pipefail
cd "$(dirname "$0")/.."

HA_PACKAGES=(homeassistant==2025.4.4 home-assistant-frontend==20250411.0)
venv=${1:-build/ha/venv}
stamp="$venv/.installed-stamp"
log="$(dirname "$venv")/ha-venv-install.log"

if [[ -f "$stamp" && "$(cat "$stamp")" == "${HA_PACKAGES[*]}" ]]; then
	touch "$stamp" # newer than this script again, for make
	exit 0
fi

is_python313() {
	[[ -x "$1" ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null
}

find_python313() {
	local candidates=()
	[[ -n "${HA_PYTHON:-}" ]] && candidates+=("$HA_PYTHON")
	command -v python3.13 >/dev/null 2>&1 && candidates+=("$(command -v python3.13)")
	local roots=("$HOME/.pyenv") root found
	command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
	for root in "${roots[@]}"; do
		# newest patch release first
		mapfile -t found < <(ls -d "$root"/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV)
		candidates+=("${found[@]}")
	done
	local candidate
	for candidate in "${candidates[@]}"; do
		if is_python313 "$candidate"; then
			echo "$candidate"
			return 0
		fi
	done
	return 1
}

if ! python=$(find_python313); then
	echo "ha-venv: no Python 3.13 found (looked at \$HA_PYTHON, python3.13 on PATH, ~/.pyenv/versions/3.13*, \$(pyenv root)/versions/3.13*); Home Assistant 2025.4 needs one: install it (e.g. 'pyenv install 3.13') or set HA_PYTHON" >&2
	exit 1
fi

echo "ha-venv: installing ${HA_PACKAGES[*]} into $venv with $python ($("$python" -V 2>&1)); log: $log"
start=$SECONDS
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
if ! "$venv/bin/python" -m pip install --quiet "${HA_PACKAGES[@]}" >"$log" 2>&1; then
	grep -v "^WARNING: Location 'file:" "$log" | tail -n 20 >&2
	echo "ha-venv: pip install failed (full log: $log)" >&2
	exit 1
fi
echo "${HA_PACKAGES[*]}" >"$stamp"
echo "ha-venv: done in $((SECONDS - start)) s"
