# Two commands are the contract: `make run` and `make test`. Both set up .venv first (once; offline afterwards).
# The pinned wheels exist for Python 3.10-3.12 only (mediapipe 0.10.21 has none for 3.13): take the newest of
# those on PATH, or PYTHON=/path/to/python3.12 given on the command line.
# A candidate counts only if it runs and is in range (a pyenv shim can exist on PATH and still fail to run).
PYTHON_OK := import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
  if $$p -c "$(PYTHON_OK)" >/dev/null 2>&1; then command -v $$p; break; fi; done)
VENV ?= .venv
# torch's build: empty = what pip's own indexes / wheel cache hold (offline machines); `make setup TORCH_INDEX=cpu`
# = PyTorch's CPU wheels (a fresh Linux machine that should not download the CUDA build from PyPI).
TORCH_INDEX ?=
PIP_TORCH := $(if $(filter cpu,$(TORCH_INDEX)),--extra-index-url https://download.pytorch.org/whl/cpu,$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),))
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench installer clean

setup: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || { test -n "$(PYTHON)" && $(PYTHON) -c "$(PYTHON_OK)"; } || { \
	  echo "KnotCam needs Python 3.10, 3.11 or 3.12 (found: $$($(or $(PYTHON),python3) --version 2>&1 | head -1));" \
	       "mediapipe 0.10.21 has no wheels for 3.13. Install 3.12 (Ubuntu/Debian: sudo apt install" \
	       "python3.12 python3.12-venv, from the deadsnakes PPA on older releases; Fedora: sudo dnf install" \
	       "python3.12; macOS: brew install python@3.12) and run make again, or make PYTHON=/path/to/python3.12."; \
	  exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q $(PIP_TORCH) -r requirements.txt
	@touch $(STAMP)

run: setup
	$(PY) main.py

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check engine app tests main.py run.py installer

bench: setup
	$(PY) main.py bench

installer: setup
	$(PY) installer/build.py

clean:
	rm -rf build dist .pytest_cache
