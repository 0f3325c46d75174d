# ComputeHub: `make run` starts everything on this machine, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8001
PYTEST_ARGS ?=

.PHONY: run test bench setup migrate clean-venv

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ComputeHub needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py setup_schedules
	$(BIN)/python manage.py collectstatic --noinput -v0

# Web server (daphne: pages, API, WebSockets), worker (django-q2 qcluster) and the sandbox clouds
# together; every new workspace gets "Sandbox" provider accounts and this machine. Ctrl-C stops all.
run: export DEBUG ?= 1
run: export COMPUTEHUB_SANDBOX_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export COMPUTEHUB_LOCAL_PROVIDER ?= 1
run: export PYTHONUNBUFFERED = 1
run: setup
	@echo ""
	@echo "  ComputeHub is starting at http://$(HOST):$(PORT)/   (Ctrl-C stops it)"
	@echo "  Sign-up verification emails are printed below (console email backend)."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) SANDBOX_PORT=$(SANDBOX_PORT) $(BIN)/honcho start -f Procfile.dev -p $(PORT)

test: $(VENV)/.installed-dev
	@scripts/ensure-chromium
	$(BIN)/pytest -q $(PYTEST_ARGS)

# `make bench` runs every benchmark under bench/; `make bench NAME=offers` runs one.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(NAME)

clean-venv:
	rm -rf $(VENV)
