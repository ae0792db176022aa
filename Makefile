# Every target bootstraps the virtualenv itself, so each works on a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install run test lint migrate seed bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python venv module missing; installing python3-venv"; \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	@mkdir -p var
	$(PY) -m alembic upgrade head

seed: migrate
	$(PY) -m shared.seeds.load

## make run: API + collector + simulated platform on the embedded SQLite database (var/scorecard.db)
run: seed
	$(PY) -m scripts.run_all

## make test: the whole suite against a real PostgreSQL the harness starts itself, plus SQLite
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared services
	$(VENV)/bin/lint-imports

## make bench BENCH_ARGS='--scale 1.0 --push-rows 10000': arguments for bench.run_all
bench: install
	$(PY) -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
