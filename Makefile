# Every target creates .venv and installs the project into it when needed, so a fresh clone
# needs only Python 3.11+ (`make run`, `make test`).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000
EXPERIMENT ?= default-study

.PHONY: help venv run test test-slow lint format ui bench report clean

help:
	@echo "make run        run the default study (sweep + scaling report) on the local MLflow store"
	@echo "make test       run the test suite (benchmarks run once as tests)"
	@echo "make test-slow  also run the tests marked slow"
	@echo "make lint       ruff check and format check; 'make format' fixes what it can"
	@echo "make ui         MLflow UI on http://$(HOST):$(PORT) over mlruns/"
	@echo "make bench      time the benchmarks and save JSON under .benchmarks/"
	@echo "make report     rebuild the scaling report of EXPERIMENT=$(EXPERIMENT)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) experiments/study.py

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" --benchmark-disable tests benchmarks

test-slow: $(STAMP)
	$(PY) -m pytest -q --benchmark-disable tests benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check qrspps experiments

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format qrspps experiments

ui: $(STAMP)
	$(PY) -m qrspps.tracking.ui --host $(HOST) --port $(PORT)

bench: $(STAMP)
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-autosave --benchmark-columns=min,median,max,rounds

report: $(STAMP)
	$(PY) experiments/report.py experiment=$(EXPERIMENT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
