# SecondLayer: `make run` serves on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint venv dev-venv browser nginx wrk clean bench bench-http bench-scale bench-edrsr

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed

dev-venv: $(VENV)/.installed-dev

run: venv
	$(BIN)/secondlayer migrate
	$(BIN)/secondlayer bootstrap
	$(BIN)/secondlayer serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; nothing downloads its own browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped" >&2; \
	  else echo "note: chromium is not installed (apt-get install chromium); browser tests will be skipped" >&2; fi; }

# Debian's nginx for the test of several processes behind the proxy (tests/test_scale.py runs its own instance).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
	      || echo "warning: could not install nginx; the proxy tests will be skipped" >&2; \
	  else echo "note: nginx is not installed (apt-get install nginx); the proxy tests will be skipped" >&2; fi; }

test: dev-venv browser nginx
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv
	$(BIN)/python scripts/bench_search.py
	$(BIN)/python scripts/bench_edrsr.py $(BENCH_EDRSR_ARGS)

# The court register alone: import speed beside a raw COPY, memory, and the tools at 1,000,000 decisions;
# BENCH_EDRSR_ARGS passes options, e.g. BENCH_EDRSR_ARGS="--scale 300000".
bench-edrsr: venv
	$(BIN)/python scripts/bench_edrsr.py $(BENCH_EDRSR_ARGS)

# Debian's wrk, the load generator of bench-http (installed with apt-get when run as root).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	      || { echo "error: could not install wrk" >&2; exit 1; }; \
	  else echo "error: wrk is not installed (apt-get install wrk, as root)" >&2; exit 1; fi; }

# Our server, the official SDK's own server doing the same work and a bare Tornado floor, side by side under
# wrk (see the README's "HTTP benchmark"); BENCH_ARGS passes options, e.g. BENCH_ARGS="--rounds 5 --streams 0".
bench-http: dev-venv wrk
	$(BIN)/python scripts/bench_http.py $(BENCH_ARGS)

# 1 and 2 server processes behind nginx on this machine (stateless REST and MCP calls), and what metrics cost.
bench-scale: venv wrk
	$(BIN)/python scripts/bench_scale.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
