"""Snowflake IDs: time-ordered 64-bit integers made in the application.

Bit layout (most significant first), as in Mastodon so IDs look familiar to clients::

    | 48 bits: milliseconds since the Unix epoch | 16 bits: sequence |

* The top bit stays 0 until the year 10889, so IDs fit a signed BIGINT on both engines.
* In each new millisecond the sequence starts at a random value below 2**15 and counts
  up. Two app processes writing in the same millisecond are therefore unlikely to collide;
  when they do, the insert hits the primary key and the service draws a new ID (see
  `aloft.services.statuses`). Within one process IDs are strictly increasing: if the clock
  stands still or steps back we keep the last millisecond, and if the sequence runs out we
  borrow the next millisecond.
* No central sequence is involved, so an ID is known before the write is attempted and
  survives a database failover: a retried write carries the same ID and is recognised.

IDs are strings in the API (JavaScript cannot hold 64-bit integers) and integers in storage.
"""

import random
import threading
import time

SEQUENCE_BITS = 16
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class SnowflakeGenerator:
    """Thread-safe generator of strictly increasing snowflake IDs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._seq = 0

    def next_id(self) -> int:
        with self._lock:
            now = time.time_ns() // 1_000_000
            if now > self._last_ms:
                self._last_ms = now
                self._seq = random.getrandbits(SEQUENCE_BITS - 1)
            else:
                self._seq += 1
                if self._seq > SEQUENCE_MASK:
                    self._last_ms += 1
                    self._seq = 0
            return (self._last_ms << SEQUENCE_BITS) | self._seq


_generator = SnowflakeGenerator()


def new_id() -> int:
    """A fresh snowflake ID."""
    return _generator.next_id()


def id_for_time(unix_ms: int) -> int:
    """The smallest ID that could have been made at `unix_ms`: a bound for time queries."""
    return unix_ms << SEQUENCE_BITS


def id_time_ms(snowflake: int) -> int:
    """The millisecond timestamp an ID was made at."""
    return snowflake >> SEQUENCE_BITS
