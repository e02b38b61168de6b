"""A few running slots shared fairly between clients, with a short queue before the 503.

A request that finds every slot taken waits in a short queue instead of being refused at once;
when a slot frees, it goes to the waiting client with the fewest slots running, the earliest
first among equals, so a client that floods the service waits behind everyone else's requests
instead of taking every slot in turn. Refused at once (Busy) only when that client already has
`per_client` requests waiting or the queue is full; refused after `wait` seconds in the queue.
A request marked `first` (an update's count, which holds the write lock while it waits) goes
before every other waiting one and is never refused for want of room."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class Busy(Exception):
    """No slot came free for this client: every one is taken and the queue is full, or the wait
    ran out."""


@dataclass(order=True)
class _Ticket:
    order: int
    client: str = field(compare=False)
    first: bool = field(default=False, compare=False)
    granted: bool = field(default=False, compare=False)


class FairSlots:
    def __init__(self, slots: int, queue: int, per_client: int) -> None:
        self.slots, self.queue, self.per_client = slots, queue, per_client
        self._lock = threading.Condition()
        self._running: dict[str, int] = {}
        self._waiting: list[_Ticket] = []
        self._numbers = itertools.count()

    @contextmanager
    def slot(self, client: str, wait: float, first: bool = False) -> Iterator[None]:
        """Hold one slot for `client` while the block runs."""
        self._take(client, wait, first)
        try:
            yield
        finally:
            with self._lock:
                self._running[client] -= 1
                if not self._running[client]:
                    del self._running[client]
                self._grant()

    def _take(self, client: str, wait: float, first: bool) -> None:
        with self._lock:
            if not self._waiting and sum(self._running.values()) < self.slots:
                self._running[client] = self._running.get(client, 0) + 1
                return
            mine = sum(1 for t in self._waiting if t.client == client)
            if not first and (len(self._waiting) >= self.queue or mine >= self.per_client):
                raise Busy()
            ticket = _Ticket(next(self._numbers), client, first)
            self._waiting.append(ticket)
            deadline = time.monotonic() + wait
            while not ticket.granted:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._waiting.remove(ticket)
                    raise Busy()
                self._lock.wait(left)

    def _grant(self) -> None:
        """Free slots to the waiting clients with the fewest running, the earliest first."""
        while self._waiting and sum(self._running.values()) < self.slots:
            ticket = min(self._waiting, key=lambda t: (not t.first, self._running.get(t.client, 0), t.order))
            self._waiting.remove(ticket)
            ticket.granted = True
            self._running[ticket.client] = self._running.get(ticket.client, 0) + 1
        self._lock.notify_all()
