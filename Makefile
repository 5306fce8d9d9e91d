# The two commands of the README: `make serve` and `make test`. Each installs what it
# needs first (uv, the virtual environment, the locked dependencies), so both work on a
# fresh Debian machine that has only Python 3.11 and pip.

PYTHON ?= python3
VENV := .venv
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never

PG_BIN ?= /usr/lib/postgresql/15/bin

.PHONY: serve test lint format install system clean

# uv is installed with pip as a module of the machine's Python; on Debian's own Python
# (PEP 668) that needs --user --break-system-packages, which only touches ~/.local.
$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

serve: install
	$(VENV)/bin/aloft serve

lint: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

# System packages the tests use: PostgreSQL 15 (the tests start their own servers).
# Installed when we are root; otherwise the PostgreSQL tests say why they skip.
system:
	@if [ ! -x $(PG_BIN)/initdb ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; \
	fi

test: install system lint
	$(VENV)/bin/pytest

format: install
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
