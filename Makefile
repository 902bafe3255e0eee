# Shelfbridge: the same verbs everywhere. `make demo` and `make test` set everything up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export OMP_NUM_THREADS ?= 1

.PHONY: install demo test lint typecheck serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install Shelfbridge with its test tools

demo: install ## load the real demo data into var/shelfbridge.db and serve http://127.0.0.1:8000
	SHELFBRIDGE_DEMO_MODE=1 $(BIN)/shelfbridge demo load
	SHELFBRIDGE_DEMO_MODE=1 $(BIN)/shelfbridge serve --host 127.0.0.1 --port 8000

serve: install ## serve the web app and API on http://127.0.0.1:8000
	$(BIN)/shelfbridge serve --host 127.0.0.1 --port 8000

lint: install ## ruff (lint and format check)
	$(BIN)/ruff check src tests bench datasets
	$(BIN)/ruff format --check src tests bench datasets

typecheck: install ## mypy, strict on src/
	$(BIN)/mypy

test: lint typecheck ## the whole suite (SHELFBRIDGE_TEST_DATABASE_URL selects PostgreSQL)
	$(BIN)/python -m pytest -q

bench: install ## benchmarks that print tables (not part of the tests)
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/list_bench.py
	$(BIN)/python bench/rewards.py
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/matching.py --sizes 10000
	$(BIN)/python bench/matching_crosslingual.py
	$(BIN)/python bench/static_embedding.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
