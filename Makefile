# Two commands matter: `make run` serves the example API, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all check lint typecheck bench clean

# swagger-ui-bundle (Swagger UI 4), which a .venv from before may hold, and swagger-ui-bundle-v2
# install the same module, swagger_ui_bundle: the old one goes first, or removing it later
# would break the new one (so both go, and the new one comes back).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Charter needs Python 3.11 or newer; try: make PYTHON=python3.11 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip uninstall --quiet --yes swagger-ui-bundle swagger-ui-bundle-v2
	$(BIN)/pip install --quiet -e '.[dev,bench,mock,contract]'
	touch $(STAMP)

install: $(STAMP)

# The tables first (`charter migrate` creates or upgrades them, and SQLite's data/ folder), then
# the server, which refuses to start on a database the spec's entities are ahead of. Both read
# DATABASE_URL; unset, it is sqlite:///data/app.db.
run: $(STAMP)
	$(BIN)/charter migrate
	$(BIN)/charter serve

check: $(STAMP)
	$(BIN)/charter check

test: $(STAMP)
	$(BIN)/ruff check server handlers examples tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not slow"

# The slow set: the tests marked `slow` (the large real-world spec, schemathesis in the suite,
# the --reload restart), then the contract from outside, as users run it: `charter contract`,
# schemathesis's CLI with every check and phase (examples, coverage, fuzzing, stateful), on the
# example, on the todo-jwt example with a user's token, and with --mock on every real-world spec
# in ../shared/specs (tests/contract_runs.py). Each run's budget is shared by its phases
# (coverage alone would take longer). One schemathesis worker: with two threads, CPython 3.11's
# `ast` module races (CPython gh-106905), and hypothesis parses lambdas while it describes
# strategies, so a run could fail on that alone.
CONTRACT_SECONDS ?= 300
CONTRACT_JWT_SECONDS ?= 150
CONTRACT_MOCK_SECONDS ?= 20
CONTRACT_EXAMPLES ?= 25
test-all: $(STAMP)
	$(BIN)/python -m pytest -m slow
	CONTRACT_SECONDS=$(CONTRACT_SECONDS) CONTRACT_JWT_SECONDS=$(CONTRACT_JWT_SECONDS) \
	CONTRACT_MOCK_SECONDS=$(CONTRACT_MOCK_SECONDS) CONTRACT_EXAMPLES=$(CONTRACT_EXAMPLES) \
	CHARTER_RESPONSE_VALIDATION=error $(BIN)/python -m tests.contract_runs

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis
