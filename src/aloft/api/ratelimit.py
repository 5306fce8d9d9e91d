"""Rate limits as Mastodon documents them, counted in fixed windows in this process.

* every API request: 300 per 5 minutes per account, or per IP address without a token;
* POST /api/v1/accounts (registration): 5 per 30 minutes per IP address;
* DELETE /api/v1/statuses/:id and POST …/unreblog: 30 per 30 minutes per account;
* sign-in attempts (POST /oauth/authorize, the password grant): 25 per 5 minutes per IP
  address and 25 per hour per account.

Counts live in memory, per worker process: with N workers (or N app replicas) a client
can make up to N times as many requests. That is a deliberate trade: a shared counter
would put a database write on every request. ALOFT_RATE_LIMITS=off disables limits
(benchmarks, drills).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aloft.errors import RateLimited


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_seconds: int


GENERAL = Rule("general", 300, 300)
REGISTRATION = Rule("registration", 5, 1800)
DELETION = Rule("deletion", 30, 1800)
# Sign-ins (the page and the password grant), as Mastodon's throttle_login_attempts:
# 25 per 5 minutes per IP address, 25 per hour per account (or login text).
SIGN_IN_IP = Rule("sign_in_ip", 25, 300)
SIGN_IN_ACCOUNT = Rule("sign_in_account", 25, 3600)


@dataclass(frozen=True)
class Verdict:
    """The state of a limit after counting one request: what the headers report."""

    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        reset = datetime.fromtimestamp(self.reset_at, UTC).isoformat(timespec="milliseconds")
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": reset.replace("+00:00", "Z"),
        }


class RateLimiter:
    """Fixed-window counters. Used from the event loop only, so it needs no lock."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._next_sweep = 0.0

    def hit(self, rule: Rule, key: str, now: float | None = None) -> Verdict:
        """Count one request; RateLimited if it is over the limit."""
        now = time.time() if now is None else now
        self._sweep(now)
        start = now - now % rule.window_seconds
        window_start, count = self._windows.get((rule.name, key), (start, 0))
        if window_start != start:
            count = 0
        count += 1
        self._windows[(rule.name, key)] = (start, count)
        verdict = Verdict(rule.limit, rule.limit - count, start + rule.window_seconds)
        if count > rule.limit:
            retry_after = max(1, int(verdict.reset_at - now))
            raise RateLimited("Too many requests", retry_after, verdict.headers())
        return verdict

    def _sweep(self, now: float) -> None:
        """Forget finished windows now and then, so memory stays bounded."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        longest = max(
            rule.window_seconds
            for rule in (GENERAL, REGISTRATION, DELETION, SIGN_IN_IP, SIGN_IN_ACCOUNT)
        )
        self._windows = {k: v for k, v in self._windows.items() if v[0] > now - longest}
