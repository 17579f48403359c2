# Two entry points: `make demo` and `make test`. Both create .venv/ and install what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/theater demo

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .theater data

# Headless Chromium (Debian package) for the report's browser tests and `theater report --pdf`.
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium present: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" != 0 ]; then echo "warning: chromium missing and not root: browser tests will be skipped (run 'sudo make browser')"; \
	else DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi
