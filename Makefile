# Every target bootstraps the virtualenv itself, so each works on a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3
# Every transitive dependency pinned with hashes, for Linux x86_64 / CPython 3.11 (`make lock` regenerates both).
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION := 0.13.8
UV_LOCK_ARGS := --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
                --custom-compile-command 'make lock'
WHEELHOUSE ?= wheelhouse

.PHONY: install run test lint migrate seed bench clean lock wheelhouse

$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK)
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python venv module missing; installing python3-venv"; \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q --require-hashes -r $(DEV_LOCK)
	$(VENV)/bin/pip install -q --no-deps -e .
	@$(VENV)/bin/pip check >/dev/null || { $(VENV)/bin/pip check; \
	  echo "the locks miss a dependency of pyproject.toml: run 'make lock'"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

## make lock: re-resolve pyproject.toml into $(LOCK) (runtime) and $(DEV_LOCK) (+ dev extras), with hashes
lock:
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/uv --version 2>/dev/null | grep -q " $(UV_VERSION)" || $(VENV)/bin/pip install -q uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(UV_LOCK_ARGS) -o $(DEV_LOCK)
	$(VENV)/bin/uv pip compile pyproject.toml -c $(DEV_LOCK) $(UV_LOCK_ARGS) -o $(LOCK)

## make wheelhouse [WHEELHOUSE=dir]: the offline bundle — every wheel of $(LOCK), the project's wheel, the lock
wheelhouse: install
	$(PY) deploy/wheelhouse.py $(WHEELHOUSE)

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
	$(VENV)/bin/mypy shared services scorecard
	$(VENV)/bin/lint-imports

## make bench BENCH_ARGS='--scale 1.0 --push-rows 10000': arguments for bench.run_all
bench: install
	$(PY) -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(WHEELHOUSE)
