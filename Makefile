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
	$(BIN)/pip install --quiet -e '.[dev,bench,mock]'
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
# the --reload restart), then the contract from outside: schemathesis's CLI with every check and
# phase (examples, coverage, fuzzing, stateful) against `charter serve` on a free port and a fresh
# SQLite database.
# schemathesis.toml says what the checks expect, and loads the hooks. CONTRACT_SECONDS is the
# run's budget, which the phases share (coverage alone would take longer); `timeout` backs it.
# One worker: with two threads, CPython 3.11's `ast` module races (CPython gh-106905), and
# hypothesis parses lambdas while it describes strategies, so a run could fail on that alone.
# Then the same against the todo-jwt example, a user's token on every request
# (tests/contract_todo_jwt.py, examples/todo-jwt/schemathesis.toml), in CONTRACT_JWT_SECONDS.
CONTRACT_SECONDS ?= 300
CONTRACT_JWT_SECONDS ?= 150
CONTRACT_EXAMPLES ?= 25
test-all: $(STAMP)
	$(BIN)/python -m pytest -m slow
	@dir=$$(mktemp -d) && \
	port=$$($(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') && \
	export DATABASE_URL="sqlite:///$$dir/app.db" CHARTER_RESPONSE_VALIDATION=error && \
	$(BIN)/charter migrate > "$$dir/migrate.log" && \
	{ $(BIN)/charter serve --port "$$port" > "$$dir/server.log" 2>&1 & server=$$!; } && \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null; rm -rf "$$dir"' EXIT && \
	timeout $$(($(CONTRACT_SECONDS) + 300)) $(BIN)/st run "http://127.0.0.1:$$port/openapi.json" \
		--checks all --max-time $(CONTRACT_SECONDS) --max-examples $(CONTRACT_EXAMPLES) \
		--workers 1 --wait-for-schema 30 --no-color; \
	status=$$?; [ $$status -eq 0 ] || { echo "--- server log"; tail -n 30 "$$dir/server.log"; }; \
	exit $$status
	$(BIN)/python -m tests.contract_todo_jwt $(CONTRACT_JWT_SECONDS) $(CONTRACT_EXAMPLES)

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis
