# Quick start:  make run   (opens the desktop app)   ·   make test   (the whole suite, headless)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
SYSDEPS_STAMP := $(VENV)/.system-deps
# Locked dependencies (exact versions and hashes, every platform): run.txt for the app, test.txt
# adds the test tools, bench.txt the benchmarks' too. pyproject.toml keeps the ranges; refresh the
# locks from them with `make lock`.
LOCK   := requirements
UV_VERSION := 0.13.10
INSTALL_LOCKED = $(PY) -m pip install --quiet --require-hashes -r $(1) && $(PY) -m pip install --quiet --no-deps -e .

.PHONY: run test test-dates lint bench lock clean system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LOCK)/run.txt | $(PY)
	$(call INSTALL_LOCKED,$(LOCK)/run.txt)
	touch $@

$(TEST_STAMP): pyproject.toml $(LOCK)/test.txt | $(PY)
	$(call INSTALL_LOCKED,$(LOCK)/test.txt)
	touch $@ $(STAMP)

$(BENCH_STAMP): pyproject.toml $(LOCK)/bench.txt | $(PY)
	$(call INSTALL_LOCKED,$(LOCK)/bench.txt)
	touch $@ $(TEST_STAMP) $(STAMP)

$(SYSDEPS_STAMP): scripts/install-system-deps.sh | $(PY)
	bash scripts/install-system-deps.sh
	touch $@

system-deps: $(SYSDEPS_STAMP)

run: $(STAMP) $(SYSDEPS_STAMP)
	$(PY) main.py

test: $(TEST_STAMP) $(SYSDEPS_STAMP)
	$(PY) -m ruff check --no-cache .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

# The date-sensitive part of the suite (everything that makes a demo, publishes, serves a public
# page or counts a posting period) with the whole process tree's clock set, by libfaketime, to
# days where dates go wrong: late December, New Year's Eve 23:30 China time, 1 January, mid-year,
# and a year far past the calendar package. Times are UTC (China is UTC+8).
TEST_DATES ?= 2026-12-24T02:00:00 2026-12-31T15:30:00 2027-01-01T02:00:00 2027-07-01T02:00:00 2030-02-15T02:00:00
# One date after another; TEST_DATES_JOBS=2 runs two side by side (each with its own servers,
# PostgreSQL cluster and folders; see scripts/test-dates), which is quicker on a quiet machine.
TEST_DATES_JOBS ?= 1
test-dates: $(TEST_STAMP) $(SYSDEPS_STAMP)
	@scripts/test-dates $(TEST_DATES_JOBS) "$(TEST_DATES)" \
	  env QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider -m dates

lint: $(TEST_STAMP)
	$(PY) -m ruff check .

bench: $(BENCH_STAMP)
	@for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Re-resolve the locks from pyproject.toml's ranges (newest releases that fit), for every platform
lock: | $(PY)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(PY) -m uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 --generate-hashes --quiet -o $(LOCK)/bench.txt
	$(PY) -m uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes --quiet -c $(LOCK)/bench.txt -o $(LOCK)/test.txt
	$(PY) -m uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet -c $(LOCK)/bench.txt -o $(LOCK)/run.txt

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
