"""The attempt deadlines' thread (aloft.storage.watchdog): fires what is due, in order,
never what was cancelled, and an earlier deadline armed after a later one is not kept
waiting behind it."""

from __future__ import annotations

import threading
import time

from aloft.storage.watchdog import Watchdog


def test_deadlines_fire_in_order_and_cancelled_ones_never() -> None:
    dog = Watchdog()
    fired: list[str] = []
    done = threading.Event()
    started = time.monotonic()
    late = dog.arm(30.0, lambda: fired.append("late"))  # the thread now sleeps 30 s
    dog.cancel(dog.arm(0.05, lambda: fired.append("cancelled")))
    dog.arm(0.2, lambda: fired.append("second"))
    dog.arm(0.1, lambda: fired.append("first"))
    dog.arm(0.3, done.set)
    assert done.wait(10)
    assert time.monotonic() - started < 5  # not held behind the 30 s deadline
    assert fired == ["first", "second"]
    dog.cancel(late)


def test_a_deadline_armed_while_the_thread_waits_for_none_still_fires() -> None:
    dog = Watchdog()
    first, second = threading.Event(), threading.Event()
    dog.arm(0.01, first.set)
    assert first.wait(10)  # the heap is empty again: the thread waits with no timeout
    dog.arm(0.01, second.set)
    assert second.wait(10)
