# The two commands of the README: `make serve` and `make test`. Each installs what it
# needs first (uv, the virtual environment, the locked dependencies), so both work on a
# fresh Debian machine that has only Python 3.11 and pip.

PYTHON ?= python3
VENV := .venv
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never

PG_BIN ?= /usr/lib/postgresql/15/bin
# Patroni runs as an unprivileged user that cannot use a Python under /root: it gets its own
# environment from Debian's Python (see src/aloft/cluster/topology.py).
PATRONI_VENV ?= /opt/aloft/patroni-venv
CLUSTER_PACKAGES := etcd-server haproxy nftables iproute2 ethtool

.PHONY: serve test lint format install system patroni cluster clean js

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

# System packages the tests use: PostgreSQL 15 (the tests start their own servers), ffmpeg
# (video and animated GIF uploads are converted with Debian's ffmpeg), Node.js and npm
# (masto.js, in tests/js), Chromium (the drill reports are looked at in a headless browser,
# and tests/web drives it with Playwright for Python: Playwright's own browsers are not used),
# wrk (`aloft bench` and its --quick test in make test), and for
# the cluster: etcd, HAProxy, nftables (Debian's services for the first two are stopped and
# disabled: the cluster runs its own) and Patroni. Installed when we are root; otherwise the
# PostgreSQL and cluster tests say why they skip.
system:
	@if [ ! -x $(PG_BIN)/initdb ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; \
	fi
	@if [ "$$(id -u)" = 0 ] && { [ ! -x /usr/bin/etcd ] || [ ! -x /usr/sbin/haproxy ] \
			|| [ ! -x /usr/sbin/nft ] || [ ! -x /usr/bin/nsenter ] || [ ! -x /usr/sbin/ethtool ] \
			|| ! command -v ip >/dev/null; }; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$(CLUSTER_PACKAGES) || exit 1; \
		for service in etcd haproxy; do \
			if [ -d /run/systemd/system ]; then systemctl disable --now $$service; \
			else service $$service stop; update-rc.d $$service disable; fi >/dev/null 2>&1; \
		done; true; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! command -v ffmpeg >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends ffmpeg; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! command -v npm >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends nodejs npm; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! command -v chromium >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! command -v wrk >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	fi
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory patroni; fi

patroni: $(PATRONI_VENV)/bin/patroni

$(PATRONI_VENV)/bin/patroni: | $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python /usr/bin/python3 $(PATRONI_VENV)
	$(UV) pip install --quiet --python $(PATRONI_VENV)/bin/python \
		'patroni[etcd3]==4.1.5' 'psycopg[binary]>=3.2'
	@chmod -R a+rX $(PATRONI_VENV)

# A three-zone cluster (etcd, Patroni + PostgreSQL 15, the app, HAProxy) in ./cluster.
cluster: install system
	$(VENV)/bin/aloft cluster up

# masto.js for tests/js, as pinned by its package-lock.json (without npm those tests skip).
js:
	@if [ ! -d tests/js/node_modules ] && command -v npm >/dev/null; then \
		cd tests/js && npm ci --no-audit --no-fund --loglevel=error; \
	fi

# The suite in two parts, as tests/conftest.py divides it: first every test that can share
# the machine, on TEST_WORKERS pytest-xdist workers (each with its own PostgreSQL, temporary
# directories and free ports); then, one at a time, those that need the machine to
# themselves (marked `serial` or `cluster`). The second part runs whatever the first's
# outcome; the target fails if either did. `.venv/bin/pytest` alone still runs everything
# serially.
TEST_WORKERS ?= 2

test: install system js lint
	@parallel=0; serial=0; \
	$(VENV)/bin/pytest -n $(TEST_WORKERS) -m "not serial and not cluster" || parallel=$$?; \
	$(VENV)/bin/pytest -m "serial or cluster" || serial=$$?; \
	echo "make test: parallel part exit status $$parallel, serial part $$serial (0: passed)"; \
	[ $$parallel -eq 0 ] && [ $$serial -eq 0 ]

format: install
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
