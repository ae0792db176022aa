"""Plain input records for figures, shared by the push API and the collector (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class ObservationIn:
    """One figure as received: the unit's own numerator/denominator and/or value for one day (监测数据)."""

    indicator: str
    org: str
    date: date
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
