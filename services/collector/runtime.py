"""Process-wide interpreter settings the collector changes while it parses and writes an export.

Both are reference-counted: runs of several sources overlap in one collector process, and the setting must hold
until the last of them ends and then come back exactly as it was.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_users = {"gc": 0, "gil": 0}
_saved: dict[str, object] = {}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: it would rescan every row list again and again while they are built
    (3-6x slower parsing). Nothing the collector builds has reference cycles."""
    with _held("gc", gc.isenabled, lambda _: gc.disable(), lambda was: gc.enable() if was else None):
        yield


@contextmanager
def quick_gil_handover() -> Iterator[None]:
    """While a worker thread parses, the event loop needs the GIL back as soon as PostgreSQL answers: by default
    the thread keeps it up to 5 ms, which every one of a chunk's statements would wait."""
    with _held("gil", sys.getswitchinterval, lambda _: sys.setswitchinterval(0.0005), sys.setswitchinterval):
        yield


@contextmanager
def _held(name: str, read, apply, restore) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with _lock:
        if _users[name] == 0:
            _saved[name] = read()
            apply(_saved[name])
        _users[name] += 1
    try:
        yield
    finally:
        with _lock:
            _users[name] -= 1
            if _users[name] == 0:
                restore(_saved.pop(name))
