"""Keeping the garbage collector's full collections off what a boot does not change.

Every full collection walks every tracked object. A boot of many phases
allocates a little per phase, enough to trigger several full collections, and
each of them would walk the whole application again: the plan, the phases'
functions, every module. Frozen, the objects that existed before a window are
left out of every collection until the window closes; nothing is kept alive,
since they go back to the collector afterwards.

Windows cover only smd's own work (building the run, starting the phases,
stopping them, the report), never the service's life in between. Where no
code but smd's runs (building the run, the report), it allocates only what
lives on, so no collection at all is needed there (`smd_only`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Leave everything allocated before this window out of collections during it.

    Left alone when something froze objects already (the application itself,
    or an enclosing window), so that window's objects are never unfrozen early.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def smd_only() -> Iterator[None]:
    """No collection during this window, and none of its objects walked by a young one after.

    For smd's own code only, which allocates what lives on (the run's state,
    the report) and no garbage: never around a phase or a sink, whose garbage
    would wait for the window's end. What it allocated goes to the oldest
    generation at once, as what it would have survived to anyway.
    """
    if not gc.isenabled():
        yield
        return
    owned = not gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if owned:  # set aside, then handed back: to the oldest generation, counts reset
            gc.freeze()
            gc.unfreeze()
        gc.enable()
