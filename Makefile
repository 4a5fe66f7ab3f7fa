# SchoolID — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install test-deps chromium demo test bench messages lock clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e .
	@touch $@

test-deps: $(VENV)/.test-installed

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	@touch $@

# Debian's chromium for the browser tests (never a downloaded browser build).
chromium:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: install
	$(BIN)/schoolid demo $(if $(COUNTRY),--country $(COUNTRY),)

test: test-deps chromium
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/signin.py
	$(BIN)/python benchmarks/issue.py
	$(BIN)/python benchmarks/import.py
	$(BIN)/python benchmarks/oidc.py

# Rebuild the compiled translation catalogues (they are also committed).
messages: install
	cd src/schoolid && ../../$(BIN)/schoolid compilemessages --ignore=.venv

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock: test-deps
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache
