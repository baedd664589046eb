# Quick start:  make run   (opens the desktop app)   ·   make test   (the whole suite, headless)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SYSDEPS_STAMP := $(VENV)/.system-deps

.PHONY: run test lint bench clean system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

$(SYSDEPS_STAMP): scripts/install-system-deps.sh | $(PY)
	bash scripts/install-system-deps.sh
	touch $@

system-deps: $(SYSDEPS_STAMP)

run: $(STAMP) $(SYSDEPS_STAMP)
	$(PY) main.py

test: $(TEST_STAMP) $(SYSDEPS_STAMP)
	$(PY) -m ruff check --no-cache .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

lint: $(TEST_STAMP)
	$(PY) -m ruff check .

bench: $(TEST_STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
