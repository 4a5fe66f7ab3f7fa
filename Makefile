# SchoolID — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install test-deps chromium demo test bench messages webfonts lock clean

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
	$(BIN)/schoolid demo $(if $(COUNTRY),--country $(COUNTRY),) $(if $(HOST),--host $(HOST),) $(if $(PORT),--port $(PORT),)

test: test-deps chromium
	$(BIN)/lint-imports --no-logo
	$(BIN)/ruff check
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/signin.py
	$(BIN)/python benchmarks/issue.py
	$(BIN)/python benchmarks/import.py

# Rebuild the compiled translation catalogues (they are also committed).
messages: install
	cd src/schoolid && ../../$(BIN)/schoolid compilemessages --ignore=.venv

# WOFF2 subsets of the bundled fonts for the web pages (they are also committed); needs brotli.
FONTS_SRC := src/schoolid/credentials/fonts
FONTS_WEB := src/schoolid/static/schoolid/fonts
webfonts: install
	$(BIN)/python -m pip install -q brotli
	for w in Regular Bold; do \
	  $(BIN)/pyftsubset $(FONTS_SRC)/Vazirmatn-$$w.ttf --unicodes="U+0600-06FF,U+0750-077F,U+08A0-08FF,U+FB50-FDFF,U+FE70-FEFF,U+200C-200F,U+2066-2069,U+0020-0040,U+005B-0060,U+007B-007E,U+00A0,U+00AB,U+00BB" --layout-features='*' --flavor=woff2 --output-file=$(FONTS_WEB)/Vazirmatn-$$w.woff2; \
	  $(BIN)/pyftsubset $(FONTS_SRC)/NotoSansHebrew-$$w.ttf --unicodes="U+0590-05FF,U+FB1D-FB4F,U+200C-200F,U+2066-2069,U+20AA" --layout-features='*' --flavor=woff2 --output-file=$(FONTS_WEB)/NotoSansHebrew-$$w.woff2; \
	  $(BIN)/pyftsubset $(FONTS_SRC)/NotoSansBengali-$$w.ttf --unicodes="U+0980-09FF,U+200C-200D,U+25CC,U+0964-0965" --layout-features='*' --flavor=woff2 --output-file=$(FONTS_WEB)/NotoSansBengali-$$w.woff2; \
	done

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock: test-deps
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) .venv-prod var .pytest_cache
