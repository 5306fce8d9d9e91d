"""Snowflake IDs: time-ordered 64-bit integers made in the application.

Bit layout (most significant first), as in Mastodon so IDs look familiar to clients::

    | 48 bits: milliseconds since the Unix epoch | 16 bits: sequence |

* The top bit stays 0 until the year 10889, so IDs fit a signed BIGINT on both engines.
* The sequence starts at a random value in every process and counts up, wrapping at
  2**16. Two app processes writing in the same millisecond are therefore unlikely to
  collide; when they do, the insert hits the primary key and the service draws a new ID
  (see `aloft.services.statuses`). Within one process IDs are strictly increasing: if the
  clock stands still or steps back, we keep the last millisecond and advance the sequence.
* No central sequence is involved, so an ID is known before the write is attempted and
  survives a database failover: a retried write carries the same ID and is recognised.

IDs are strings in the API (JavaScript cannot hold 64-bit integers) and integers in storage.
"""

import secrets
import threading
import time

SEQUENCE_BITS = 16
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class SnowflakeGenerator:
    """Thread-safe generator of strictly increasing snowflake IDs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._seq = secrets.randbelow(1 << SEQUENCE_BITS)
        self._start_seq = self._seq

    def next_id(self) -> int:
        with self._lock:
            now = time.time_ns() // 1_000_000
            if now > self._last_ms:
                self._last_ms = now
                self._start_seq = self._seq
            else:
                self._seq = (self._seq + 1) & SEQUENCE_MASK
                if self._seq == self._start_seq:
                    # 65,536 IDs in one millisecond: borrow the next millisecond.
                    self._last_ms += 1
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
