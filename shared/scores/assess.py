"""Checks of assessment rows against a scheme (pure): the points fit the item's maximum, the unit undertakes the
item, the period lies in the scheme's year, the key may score it. Every bad row is reported, none written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from shared.core.errors import Problem
from shared.schemes import rules as scheme_rules
from shared.schemes.types import MethodKind

_HALF = re.compile(r"^(\d{4})H([12])$")


@dataclass(frozen=True)
class AssessmentIn:
    """One row of POST /v1/schemes/{id}/assessments, as parsed."""

    org: str
    period: str
    method: str
    item: int | None = None
    points: Decimal | None = None
    score: Decimal | None = None
    note: str | None = None
    source: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ItemFacts:
    max_points: Fraction
    leads: frozenset[str]  # lead unit codes


@dataclass(frozen=True)
class SchemeFacts:
    """What the checks need to know of a scheme."""

    year: int
    methods: dict[str, MethodKind]
    items: dict[int, ItemFacts]
    units: frozenset[str]
    excluded: frozenset[tuple[int, str]]


def check_period(period: str, year: int) -> str | None:
    m = _HALF.match(period)
    if m is None:
        return f"period '{period}' is not a half-year; use {year}H1 or {year}H2"
    if int(m.group(1)) != year:
        return f"period {period} is outside the scheme's year {year}"
    return None


def row_problems(row: AssessmentIn, index: int, facts: SchemeFacts) -> list[Problem]:
    """Everything wrong with one row, independent of who sends it."""
    out: list[Problem] = []

    def bad(message: str, field: str) -> None:
        out.append(Problem(message, row=index, field=field))

    if (complaint := check_period(row.period, facts.year)) is not None:
        bad(complaint, "period")
    if row.org not in facts.units:
        bad(f"'{row.org}' is not a unit assessed by this scheme; GET /v1/schemes/{{id}} lists them", "org")
    kind = facts.methods.get(row.method)
    if kind is None:
        bad(f"unknown method '{row.method}'; use one of {', '.join(facts.methods)}", "method")
    elif kind == MethodKind.ITEMS:
        out += _item_problems(row, index, facts)
    else:
        out += _score_problems(row, index)
    return out


def _score_problems(row: AssessmentIn, index: int) -> list[Problem]:
    """An overall method's row: one score of 0–100 per unit, with its source."""
    out: list[Problem] = []
    if row.item is not None or row.points is not None:
        out.append(Problem(f"method {row.method} gives one score per unit, not item points: send 'score'", index,
                           "item"))
    if row.score is None:
        out.append(Problem("'score' (0–100) is required for this method", index, "score"))
    elif not 0 <= row.score <= 100:
        out.append(Problem(f"score {row.score} is not between 0 and 100", index, "score"))
    elif not scheme_rules.within_places(row.score, scheme_rules.SCORE_PLACES):
        out.append(Problem(f"score {row.score} has more than {scheme_rules.SCORE_PLACES} decimals; round it as "
                           "published", index, "score"))
    if not (row.source or "").strip():
        out.append(Problem("'source' is required: the survey or third-party report the score comes from", index,
                           "source"))
    return out


def _item_problems(row: AssessmentIn, index: int, facts: SchemeFacts) -> list[Problem]:
    out: list[Problem] = []
    if row.score is not None:
        out.append(Problem(f"method {row.method} is scored item by item: send 'item' and 'points'", index, "score"))
    if row.item is None:
        return [*out, Problem("'item' (its number, 1–90) is required for this method", index, "item")]
    item = facts.items.get(row.item)
    if item is None:
        return [*out, Problem(f"no item {row.item} in this scheme", index, "item")]
    if (row.item, row.org) in facts.excluded:
        out.append(Problem(f"{row.org} does not undertake item {row.item} (marked not applicable)", index, "item"))
    if row.points is None:
        out.append(Problem("'points' is required", index, "points"))
    elif row.points < 0:
        out.append(Problem(f"points {row.points} is negative", index, "points"))
    elif Fraction(row.points) > scheme_rules.highest_entry(item.max_points):
        shown = scheme_rules.show(item.max_points)
        out.append(Problem(f"points {row.points} is above item {row.item}'s maximum of {shown}", index, "points"))
    elif not scheme_rules.within_places(row.points, scheme_rules.POINT_PLACES):
        out.append(Problem(f"points {row.points} has more than {scheme_rules.POINT_PLACES} decimals", index, "points"))
    return out


def duplicate_problems(rows: Sequence[AssessmentIn]) -> list[Problem]:
    """The same (item, unit, period, method) twice in one body is ambiguous: both rows are rejected."""
    seen: dict[tuple[object, ...], int] = {}
    out: list[Problem] = []
    for index, row in enumerate(rows):
        key = (row.item, row.org, row.period, row.method)
        if key in seen:
            out.append(Problem(f"repeats row {seen[key]} (same item, unit, period and method)", index))
        else:
            seen[key] = index
    return out
