#!/usr/bin/env bash
# Build the Home Assistant add-on's input (`make addon`): the UI and the wheel (`make
# wheel`, into build/dist/), copied to addon/darkstar/dist/ (generated, git-ignored).
# The Supervisor builds the add-on image from addon/darkstar/ alone, so the wheel is all
# of Darkstar it gets. Then copy addon/darkstar/ to the `addons` share of the Home
# Assistant machine (addon/darkstar/DOCS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory wheel

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)"
addon_version="$(sed -n 's/^version: "\(.*\)"$/\1/p' addon/darkstar/config.yaml)"
if [[ "${version}" != "${addon_version}" ]]; then
    echo "build-addon: pyproject.toml has version ${version}, addon/darkstar/config.yaml" \
        "${addon_version}: make them equal" >&2
    exit 1
fi
wheel="build/dist/darkstar-${version}-py3-none-any.whl"
if [[ ! -f "${wheel}" ]]; then
    echo "build-addon: ${wheel} was not built" >&2
    exit 1
fi

rm -rf addon/darkstar/dist
mkdir -p addon/darkstar/dist
cp "${wheel}" addon/darkstar/dist/
echo "build-addon: addon/darkstar/dist/$(basename "${wheel}")"
