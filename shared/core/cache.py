"""A bounded, least-recently-used cache of answers in bytes, one per API process.

Keys carry what makes an answer current (a scheme's revision, a publication's version), so an entry is never
stale: a write makes new keys and the old entries age out. Nothing here knows what the bytes are."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class BytesCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0

    def get(self, key: Hashable) -> bytes | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return  # larger than the whole cache: served, never kept
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._entries[key] = value
        self._size += len(value)
        while self._size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)
