"""One timer for many deadlines: what a request must do by a time (its body in full, a keepalive on a long call),
kept in a dict and checked by one timer per event loop, instead of a timer armed and cancelled per request.

Nearly every request meets its deadline long before it falls due (a body arrives in milliseconds, a call answers
well within KEEPALIVE_SECONDS), so arming a timer of its own costs every request a heap entry and a cancellation
for the rare one that needs it. Here a request costs a dict entry; the one timer fires at the earliest deadline
(within `slack` seconds after it, so deadlines close together share a firing) and runs what fell due.

Framework for handlers; no routes here.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import ClassVar


class Deadlines:
    """Callbacks due at given times on one event loop, run by one shared timer."""

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Deadlines]]] = (
        weakref.WeakKeyDictionary()
    )
    # The loop asked for last and its kinds: a process serves on one loop, so most lookups end here.
    _last: ClassVar[tuple[weakref.ref[asyncio.AbstractEventLoop], dict[str, Deadlines]] | None] = None

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # key -> (due, when it may run at the latest, callback)
        self._due: dict[Hashable, tuple[float, float, Callable[[], None]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def named(cls, name: str) -> Deadlines:
        """The running loop's deadlines of one kind (each kind its own dict and timer)."""
        loop = asyncio.get_running_loop()
        last = cls._last
        if last is not None and last[0]() is loop:
            kinds = last[1]
        else:
            found_kinds = cls._by_loop.get(loop)
            if found_kinds is None:
                found_kinds = cls._by_loop[loop] = {}
            kinds = found_kinds
            cls._last = (weakref.ref(loop), kinds)
        found = kinds.get(name)
        if found is None:
            found = kinds[name] = cls(loop)
        return found

    def __len__(self) -> int:
        return len(self._due)

    def add(self, key: Hashable, within: float, callback: Callable[[], None], slack: float) -> None:
        """Run `callback` `within` seconds from now (up to `slack` seconds later), unless `key` is discarded first.
        Adding a key again replaces its deadline."""
        due = self._loop.time() + within
        self._due[key] = (due, due + slack, callback)
        if self._timer is None or self._timer.when() > due + slack:
            self._arm(due + slack)

    def discard(self, key: Hashable) -> None:
        self._due.pop(key, None)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = self._loop.time()
        fallen = [(key, entry) for key, entry in self._due.items() if entry[0] <= now]
        for key, entry in fallen:
            if self._due.get(key) is entry:  # not discarded or replaced by a callback run before it
                del self._due[key]
                entry[2]()  # it may add its key again (a keepalive every period)
        if self._due:
            self._arm(min(latest for _, latest, _ in self._due.values()))
        elif self._timer is not None:
            self._timer.cancel()
            self._timer = None
