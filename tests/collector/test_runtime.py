"""The collector's process-wide settings come back exactly as they were, also when runs overlap."""

import gc
import sys

from services.collector import runtime


def test_overlapping_runs_restore_the_switch_interval_and_the_collector() -> None:
    before, enabled = sys.getswitchinterval(), gc.isenabled()
    first, second = runtime.quick_gil_handover(), runtime.quick_gil_handover()
    first_gc, second_gc = runtime.gc_paused(), runtime.gc_paused()
    first.__enter__(), first_gc.__enter__()
    second.__enter__(), second_gc.__enter__()
    assert sys.getswitchinterval() < before and not gc.isenabled()
    first.__exit__(None, None, None), first_gc.__exit__(None, None, None)  # the first run ends while the second goes on
    assert sys.getswitchinterval() < before and not gc.isenabled()
    second.__exit__(None, None, None), second_gc.__exit__(None, None, None)
    assert sys.getswitchinterval() == before and gc.isenabled() == enabled
