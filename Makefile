# Two commands: `make run` (install, initialise ./data, load the demo, serve HTTPS) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./data
STAMP := $(VENV)/.installed
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

.PHONY: run test install lint typecheck pytest soak bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/switchboard init --data-dir $(DATA_DIR)
	$(BIN)/switchboard demo --data-dir $(DATA_DIR)
	$(BIN)/switchboard serve --data-dir $(DATA_DIR)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Everything but the timing comparisons runs on every core, with one worker more than there are cores
# (many tests wait on a server process, a browser or a worker: on 2 cores 3 workers took 17% less
# time than 2); the timing comparisons then run alone, on a quiet machine.
# First scripts/test-prerequisites.sh installs chromium and wrk when it may (root or passwordless sudo)
# and finds PostgreSQL (SWITCHBOARD_TEST_DATABASE_URL, else a server answering at
# 127.0.0.1:5432 with trust authentication and a database `test`; a stopped cluster is started, none
# is ever installed). Each run ends with a summary of what ran on SQLite, on PostgreSQL, in the browser
# and under load, and what could NOT RUN and why (tests/support/run_summary.py). A part that could not
# run leaves `make test` green on a developer's machine but fails it where everything must run:
# when CI=true (CI services set it; .ci/run too) or SWITCHBOARD_REQUIRE_ALL=1.
pytest: $(STAMP)
	@url=$$(scripts/test-prerequisites.sh $(BIN)/python) && \
	export SWITCHBOARD_TEST_DATABASE_URL="$$url" && \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup -m "not timing" --durations=15 && \
	$(BIN)/pytest -m timing

test: lint typecheck pytest

# The long variants of the security suites (fuzzing, the authorization model, timing on every
# endpoint, faults) on both databases, then 60 s of mixed load with its report; by hand, not in CI.
soak: export SWITCHBOARD_SOAK = 1
soak: export SWITCHBOARD_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
soak: $(STAMP)
	$(BIN)/pytest -n auto --dist loadgroup -m "not timing" tests/security
	$(BIN)/pytest -m timing tests/security
	$(BIN)/python -m bench.load --seconds 60

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
