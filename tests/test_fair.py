"""The query processes' slots (service/http/fair.py), worked by hand: a freed slot goes to the
waiting client with the fewest running, the earliest first among equals; a client past its room
in the queue, or a full queue, is refused at once; a wait that runs out is refused."""

from __future__ import annotations

import threading
import time

import pytest

from service.http.fair import Busy, FairSlots


def _waiter(slots: FairSlots, client: str, order: list[str], release: threading.Event) -> threading.Thread:
    def run() -> None:
        with slots.slot(client, wait=10):
            order.append(client)
            release.wait()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.1)  # queued in this order
    return thread


def test_a_freed_slot_goes_to_the_client_with_fewest_running() -> None:
    # two slots, both held by A; A queues a third query first, then B queues one. When one of
    # A's slots frees, A still has one running and B none: B goes first although A asked earlier.
    slots = FairSlots(2, queue=8, per_client=4)
    order: list[str] = []
    first, second, release = threading.Event(), threading.Event(), threading.Event()
    holders = [_waiter(slots, "A", [], first), _waiter(slots, "A", [], second)]
    queued = [_waiter(slots, "A", order, release), _waiter(slots, "B", order, release)]
    first.set()  # one of A's running queries ends: A 1 running, B none -> B
    time.sleep(0.2)
    assert order == ["B"]
    second.set()  # the other ends: A's waiting query is next
    time.sleep(0.2)
    assert order == ["B", "A"]
    release.set()
    for t in holders + queued:
        t.join(5)


def test_the_earliest_goes_first_among_equals() -> None:
    # one slot held by C; A then B wait, each with none running: A asked first, A goes first
    slots = FairSlots(1, queue=8, per_client=4)
    order: list[str] = []
    hold, release = threading.Event(), threading.Event()
    holder = _waiter(slots, "C", [], hold)
    queued = [_waiter(slots, "A", order, release), _waiter(slots, "B", order, release)]
    hold.set()
    time.sleep(0.2)
    assert order == ["A"]  # B waits for A's slot
    release.set()
    for t in [holder, *queued]:
        t.join(5)
    assert order == ["A", "B"]


@pytest.mark.timing
def test_refused_past_the_clients_room_the_queue_or_the_wait() -> None:
    slots = FairSlots(1, queue=3, per_client=2)
    hold = threading.Event()
    threads = [_waiter(slots, "A", [], hold), _waiter(slots, "A", [], hold), _waiter(slots, "A", [], hold)]
    with pytest.raises(Busy):  # A has 2 waiting: its room is full, refused at once
        with slots.slot("A", wait=10):
            pass
    threads.append(_waiter(slots, "B", [], hold))  # the queue's third place
    started = time.monotonic()
    with pytest.raises(Busy):  # the queue is full (3 waiting): refused at once
        with slots.slot("C", wait=10):
            pass
    assert time.monotonic() - started < 0.5
    hold.set()
    for t in threads:
        t.join(5)
    blocker = threading.Event()
    threads = [_waiter(slots, "A", [], blocker)]
    started = time.monotonic()
    with pytest.raises(Busy):  # waited its 0.3 s and no slot freed
        with slots.slot("B", wait=0.3):
            pass
    assert 0.3 <= time.monotonic() - started < 1.0
    blocker.set()
    threads[0].join(5)


def test_a_first_request_goes_before_every_waiting_one_and_is_never_refused_for_room() -> None:
    # one slot held; the queue (2 places) full with A's; W (an update's count, holding the write
    # lock) still gets in, and takes the freed slot before A's, which asked earlier
    slots = FairSlots(1, queue=2, per_client=2)
    order: list[str] = []
    hold, release = threading.Event(), threading.Event()
    threads = [
        _waiter(slots, "A", [], hold),
        _waiter(slots, "A", order, release),
        _waiter(slots, "A", order, release),
    ]

    def writer() -> None:
        with slots.slot("W", wait=10, first=True):
            order.append("W")
            release.wait()

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    time.sleep(0.1)
    hold.set()
    time.sleep(0.2)
    assert order == ["W"]
    release.set()
    for t in [*threads, w]:
        t.join(5)
    assert order == ["W", "A", "A"]
