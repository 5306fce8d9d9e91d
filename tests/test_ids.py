import threading
import time

from aloft import ids


def test_ids_increase_and_carry_their_time() -> None:
    before = time.time_ns() // 1_000_000
    made = [ids.new_id() for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(before <= ids.id_time_ms(i) <= after + 1 for i in made)
    assert all(0 < i < 2**63 for i in made)


def test_ids_are_unique_across_threads() -> None:
    out: list[list[int]] = []

    def work() -> None:
        out.append([ids.new_id() for _ in range(5_000)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for chunk in out for i in chunk]
    assert len(set(flat)) == len(flat) == 20_000


def test_more_than_a_millisecond_of_sequence_borrows_the_next_millisecond() -> None:
    gen = ids.SnowflakeGenerator()
    made = [gen.next_id() for _ in range(70_000)]
    assert made == sorted(made) and len(set(made)) == len(made)


def test_id_for_time_is_a_lower_bound() -> None:
    now_ms = time.time_ns() // 1_000_000
    assert ids.id_for_time(now_ms) <= ids.new_id()
