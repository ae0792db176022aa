"""What every command of the product does around its work (`python -m services.api …`, `python -m
services.collector …`, `scorecard …`): load the settings, run the work, and turn a configuration or input problem
into a message on stderr and exit 2 — never a traceback; Ctrl-C ends quietly."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from shared.core.errors import ScorecardError
from shared.core.settings import Settings, get_settings


def guarded(work: Callable[[Settings], Coroutine[Any, Any, int] | int]) -> int:
    """Run `work` (a function or a coroutine function of the settings) and return its exit code."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"configuration error (see docs/SETTINGS.md):\n{exc}", file=sys.stderr)
        return 2
    try:
        result = work(settings)
        return result if isinstance(result, int) else asyncio.run(result)
    except ScorecardError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details_json():
            print(f"  - {detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
