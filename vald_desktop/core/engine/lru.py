"""A small least-recently-used cache that counts its hits and misses (the engine's film latents and text embeddings)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """Keeps the ``size`` most recently used values; ``hits`` and ``misses`` count over its whole life."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> list[V]:
        """Oldest first."""
        return list(self._items.values())

    def get_or_make(self, key: K, make: Callable[[], V]) -> tuple[V, bool]:
        """The cached value and True, or ``make()``'s value (now cached) and False."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key], True
        value = make()  # a failed make caches and counts nothing
        self.misses += 1
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value, False

    def clear(self) -> None:
        """Forget the values; the counters stay."""
        self._items.clear()
