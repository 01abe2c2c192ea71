# Set-up is implicit: `run` and `test` create .venv and install when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench docs clean

# PYTHONWARNINGS: setuptools prints a banner about editable installs on every install
# (advice for packagers), which would otherwise open every `make run`.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e '.[dev,dask,plots,table]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/levinsearch run red-door

# One test process per core (at most 4: each holds the compiled kernels, about 1 GB).
test: $(STAMP)
	$(PY) -m pytest -q -n auto --maxprocesses=4

bench: $(STAMP)
	$(PY) bench/bench.py

# docs/commands.md is generated from the commands' --help texts (tests/test_commands_doc.py
# fails when it is stale).
docs: $(STAMP)
	$(PY) -m levinsearch.docgen

clean:
	find . -path ./$(VENV) -prune -o \( -name '__pycache__' -o -name '*.nbi' -o -name '*.nbc' \) -print0 | xargs -0 rm -rf
	rm -rf .pytest_cache .hypothesis *.egg-info
