#!/usr/bin/env bash
# Lint the packaging (`make package-lint`; tests/deploy/test_packaging.py runs each check):
# both Dockerfiles with hadolint; the add-on's YAML files with yamllint; with "schema", the
# add-on's config.yaml and build.yaml against addon/schema/ (written from the Home
# Assistant add-on documentation) and those schemas against their metaschema; the shell
# scripts of the packaging with ShellCheck.
#
#   scripts/package-lint.sh [hadolint|yamllint|schema|shellcheck ...]   (default: all)
#
# The linters come with the dev extra (pyproject.toml); LINT_BIN is the folder holding
# them (default .venv/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${LINT_BIN:-.venv/bin}"

# one line, the same rules for every YAML file here (yamllint reads no pyproject.toml)
yamllint_config='{extends: default, rules: {line-length: {max: 100}, document-start: disable}}'

run_check() {
    case "$1" in
        hadolint)
            "${bin}/hadolint" Dockerfile addon/darkstar/Dockerfile
            ;;
        yamllint)
            "${bin}/yamllint" --strict -d "${yamllint_config}" \
                addon/darkstar/config.yaml addon/darkstar/build.yaml \
                addon/darkstar/translations/en.yaml
            ;;
        schema)
            "${bin}/check-jsonschema" --check-metaschema addon/schema/*.schema.json
            "${bin}/check-jsonschema" --schemafile addon/schema/addon-config.schema.json \
                addon/darkstar/config.yaml
            "${bin}/check-jsonschema" --schemafile addon/schema/addon-build.schema.json \
                addon/darkstar/build.yaml
            ;;
        shellcheck)
            "${bin}/shellcheck" addon/darkstar/run.sh scripts/build-addon.sh \
                scripts/package-lint.sh
            ;;
        *)
            echo "package-lint: unknown check '$1' (hadolint, yamllint, schema, shellcheck)" >&2
            return 2
            ;;
    esac
}

if [[ $# -eq 0 ]]; then
    set -- hadolint yamllint schema shellcheck
fi
for check in "$@"; do
    echo "package-lint: ${check}"
    run_check "${check}"
done
