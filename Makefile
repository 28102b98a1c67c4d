# The two commands a newcomer runs: `make run` and `make test`. Both bootstrap .venv first.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# Development wiring: the app talks to the local LINE emulator unless told otherwise (stickers too).
EMULATOR_PORT ?= 8765
run: export LINE_API_BASE ?= http://127.0.0.1:$(EMULATOR_PORT)
run: export LINE_API_DATA_BASE ?= http://127.0.0.1:$(EMULATOR_PORT)
run: export LINE_ACCESS_BASE ?= http://127.0.0.1:$(EMULATOR_PORT)
run: export LINE_WEB_BASE ?= http://127.0.0.1:$(EMULATOR_PORT)
run: export LINE_STICKER_BASE ?= http://127.0.0.1:$(EMULATOR_PORT)
run: export EMULATOR_PORT := $(EMULATOR_PORT)

.PHONY: run test bootstrap lint fmt clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

bootstrap: $(STAMP)

run: bootstrap
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python -m line_emulator seed --port $(EMULATOR_PORT) $$($(BIN)/python manage.py line_urls --demo --emulator-args)
	@echo ""
	@echo "  App:           http://localhost:8000/   (login printed above)"
	@echo "  LINE emulator: http://localhost:$(EMULATOR_PORT)/   (console and candidate phones)"
	@echo "  Mail sent by the app is written to var/mail/. Stop with Ctrl-C."
	@echo ""
	$(BIN)/honcho start -f Procfile.dev

# Two pytest-xdist workers: much of the suite waits on PostgreSQL, the emulator, Celery workers and browsers.
TEST_WORKERS ?= 2
test: bootstrap
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/mypy --config-file line_emulator/mypy.ini

fmt: bootstrap
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var staticfiles
