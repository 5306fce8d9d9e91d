"""Start Patroni with a shorter leader lease than it allows by itself.

Usage, with Patroni's own Python:
    python patroni_lease.py MIN_TTL MIN_RETRY_TIMEOUT patroni.yml

Patroni 4.1 raises any ttl below 20 s to 20 and any retry_timeout below 3 s to 3, at start
and whenever the dynamic configuration changes (`Config._validate_and_adjust_timeouts`, which
reads each value through one private helper with the floor as an argument). Aloft's short
lease (`aloft cluster up --lease`) needs lower floors, so this launcher replaces those two
floors, and nothing else, before it hands over to Patroni's own `main`. Every other check
stays Patroni's, including loop_wait + 2·retry_timeout ≤ ttl.

It is written against one pinned Patroni version and refuses any other: the helper it wraps
is private, and a Patroni that changed it must be looked at again, not patched blindly. The
proposal to make the floor a setting upstream is docs/PATRONI-LEASE.md.

This file runs inside Patroni's virtual environment, which does not have Aloft installed:
it imports nothing of Aloft's. `aloft cluster up` copies it into the cluster directory.
"""

from __future__ import annotations

import sys
from typing import Any

PINNED = "4.1.5"
HELPER = "_Config__get_and_maybe_adjust_int_value"


def install(min_ttl: int, min_retry_timeout: int) -> None:
    """Lower Patroni's floors for ttl and retry_timeout to the given values."""
    import patroni

    version = getattr(patroni, "__version__", None) or _version()
    if version != PINNED:
        sys.exit(
            f"patroni_lease: Patroni {version} is not the pinned {PINNED}; the short lease "
            "adjusts a private helper of that version only (see docs/PATRONI-LEASE.md)"
        )
    from patroni import config

    original = getattr(config.Config, HELPER, None)
    if original is None:
        sys.exit(f"patroni_lease: Patroni {version} has no {HELPER}; cannot lower the floors")
    floors = {"ttl": min_ttl, "retry_timeout": min_retry_timeout}

    def adjusted(self: Any, cfg: dict[str, Any], param: str, min_value: int) -> int:
        return int(original(self, cfg, param, min(min_value, floors.get(param, min_value))))

    setattr(config.Config, HELPER, adjusted)


def _version() -> str:
    from patroni.version import __version__

    return str(__version__)


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit("usage: patroni_lease.py MIN_TTL MIN_RETRY_TIMEOUT patroni.yml")
    min_ttl, min_retry = int(sys.argv[1]), int(sys.argv[2])
    install(min_ttl, min_retry)
    sys.argv = [sys.argv[0], *sys.argv[3:]]
    from patroni.__main__ import main as patroni_main

    patroni_main()


if __name__ == "__main__":
    main()
