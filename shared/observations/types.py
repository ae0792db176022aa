"""Plain input records for figures, shared by the push API and the collector (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ObservationIn:
    """One figure as received: the unit's own numerator/denominator and/or value for one day (监测数据)."""

    indicator: str
    org: str
    date: date
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None


class Figure(Protocol):
    """What the write path reads of a figure: an ObservationIn, or a push body's row as it was parsed."""

    @property
    def indicator(self) -> str: ...
    @property
    def org(self) -> str: ...
    @property
    def date(self) -> date: ...
    @property
    def numerator(self) -> float | None: ...
    @property
    def denominator(self) -> float | None: ...
    @property
    def value(self) -> float | None: ...
