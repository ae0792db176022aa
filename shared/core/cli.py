"""What every command of the product does around its work (`python -m services.api …`, `python -m
services.collector …`, `scorecard …`): load the settings, run the work, and turn a configuration or input problem
into a message on stderr and exit 2 — never a traceback; Ctrl-C ends quietly."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from shared.core.errors import ScorecardError
from shared.core.settings import Settings, get_settings, json_variables


def guarded(work: Callable[[Settings], Coroutine[Any, Any, int] | int]) -> int:
    """Run `work` (a function or a coroutine function of the settings) and return its exit code."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"configuration error (see docs/SETTINGS.md):\n{exc}", file=sys.stderr)
        return 2
    except SettingsError:  # a list or mapping setting whose value is not JSON at all
        print(f"configuration error (see docs/SETTINGS.md): {_not_json()}", file=sys.stderr)
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


def _not_json() -> str:
    bad = [name for name in json_variables() if name in os.environ and not _is_json(os.environ[name])]
    named = ", ".join(bad) if bad else "a list or mapping setting (in the environment or .env)"
    return f"{named}: not JSON; a list is written like '[\"https://dash.example\"]', a mapping like '{{\"5\": 100}}'"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
