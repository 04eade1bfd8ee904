"""The last results of a pure function, for work asked for again and again with the same input.

An appeal revision never changes once signed, yet its reader's view and its HTML are asked for
by its post, by its pages and by every later pass of the site's feed, from the event loop and
from the publisher's thread. :class:`Recent` keeps the last few results by key, safely between
threads. A key may hold the ``id()`` of an object that is not hashable (a template catalogue):
that object is kept with the result, so its id cannot be given to another object meanwhile.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """The last ``size`` values kept, by key; the least recently used goes first."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, tuple[tuple[object, ...], V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value kept for ``key``, or None."""
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            self._kept.move_to_end(key)
            return found[1]

    def keep(self, key: Hashable, value: V, *anchors: object) -> V:
        """Keep ``value`` for ``key`` (with ``anchors``, the objects whose ids the key holds)
        and return it."""
        with self._lock:
            self._kept[key] = (anchors, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value
