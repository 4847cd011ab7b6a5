# Counsel Hours. `make run` serves the app locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := service

.PHONY: run test test-zones mutation bench lint install install-dev translations translations-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

translations: $(BIN)/python
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
	  $(BIN)/pybabel compile -d translations >/dev/null 2>&1 || $(BIN)/pybabel compile -d translations; fi

# Extract new strings into translations/*/LC_MESSAGES/messages.po (then translate the
# Russian ones) and compile.
translations-update: install
	$(BIN)/python tools/update_translations.py

# `make run PORT=8080` serves on another port (links in mail and pages follow it).
PORT ?= 8000
RUN_ENV = ENV=$${ENV:-development} BASE_URL=$${BASE_URL:-http://127.0.0.1:$(PORT)}

run: install translations
	$(RUN_ENV) $(BIN)/flask db upgrade
	$(RUN_ENV) $(BIN)/flask seed-demo
	@echo "Serving on http://127.0.0.1:$(PORT) with a worker for mail and calendars (Ctrl-C or kill stops both)"
	$(RUN_ENV) exec $(BIN)/python tools/run_local.py $(PORT)

# The test runs keep Python's compiled modules (__pycache__, gitignored) even where the
# environment says PYTHONDONTWRITEBYTECODE: otherwise each pytest process compiled and
# assertion-rewrote every module again (10 s of CPU to collect the suite), and so did every
# server and worker process the tests start.
WRITE_BYTECODE := env -u PYTHONDONTWRITEBYTECODE

test: install-dev translations test-zones
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(WRITE_BYTECODE) $(BIN)/python tools/test_side_by_side.py $(PYTEST_ARGS)

# booking/ must never depend on the server's own zone: its tests (seconds) under zones far
# from UTC and from each other, with and without DST, at whole, half and 45-minute offsets.
BOOKING_TEST_ZONES := UTC America/Sao_Paulo Asia/Kathmandu Pacific/Chatham
# The four runs go side by side (seconds of CPU each); each one's output is printed whole.
test-zones: install-dev
	@logs=$$(mktemp -d); for zone in $(BOOKING_TEST_ZONES); do \
	  log=$$logs/$$(echo $$zone | tr / _); \
	  ( TZ=$$zone $(WRITE_BYTECODE) $(BIN)/python -m pytest -q -p no:cacheprovider tests/booking > $$log 2>&1; \
	    echo $$? > $$log.rc ) & \
	done; wait; status=0; for zone in $(BOOKING_TEST_ZONES); do \
	  log=$$logs/$$(echo $$zone | tr / _); echo "tests/booking with TZ=$$zone"; cat $$log; \
	  [ "$$(cat $$log.rc)" = 0 ] || status=1; \
	done; rm -rf $$logs; exit $$status

# Mutation testing of booking/ under tests/booking ([tool.mutmut] in pyproject.toml); about
# ten minutes on two workers. `$(BIN)/mutmut show NAME` prints a survivor's diff.
mutation: install-dev
	rm -rf mutants
	CI=true $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

bench: install-dev translations
	@for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
