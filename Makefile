# Two commands matter: `make run` serves the example API, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Charter needs Python 3.11 or newer; try: make PYTHON=python3.11 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
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
	$(BIN)/ruff check server handlers tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis
