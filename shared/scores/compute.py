"""Scores (分值) from verified assessments (PRODUCT.md §2.3): item results, method, half-year and annual scores,
ranks. Pure and exact (Fractions); rounding happens only in `shown()`.

item result   the 专班's latest entry where there is one (an adjustment keeps the original beside it), else the
              mean of the latest verified points of each lead unit that has given them (several lead units: the
              product's reading of the seed's 平均分值), flagged partly assessed until all have
method score  Σ section scores, each ≤ its maximum; normalised to the applicable maximum (awarded / applicable
              max × 100) when the unit does not undertake some items, unless raw scoring is configured
half-year     Σ weight × method score; an overall method without a score counts 0 and marks it incomplete;
              no verified entry at all → missing
annual        (H1 + H2) / 2; a missing half makes it missing, never 0
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Any

from shared.schemes.types import AssessmentStatus, MethodKind


class ScoreStatus(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # counted, but some input is missing (an overall score, a lead unit's points)
    MISSING = "missing"  # nothing to score: no total, no rank


@dataclass(frozen=True)
class Entry:
    """One assessment row as the computation reads it."""

    id: int
    org: str
    period: str
    method: str
    item: int | None
    points: Fraction | None
    score: Fraction | None
    lead: str | None  # the lead unit that gave the points; None = the 专班
    status: str
    entered_by: str
    entered_at: datetime
    verified_by: str | None = None
    note: str | None = None
    source: str | None = None
    reason: str | None = None
    adjusts: int | None = None
    automatic: bool = False
    basis: Any = None
    return_reason: str | None = None  # why the 专班 returned it (status returned)


@dataclass(frozen=True)
class ItemView:
    number: int
    section: str
    max_points: Fraction
    leads: tuple[str, ...]


@dataclass(frozen=True)
class SectionView:
    number: str
    title: str
    max_points: Fraction


@dataclass(frozen=True)
class MethodView:
    code: str
    name: str
    weight: Fraction
    kind: MethodKind


@dataclass(frozen=True)
class SchemeView:
    """What scoring needs of a scheme: methods, sections, items with their effective maxima, exclusions."""

    methods: Sequence[MethodView]
    sections: Sequence[SectionView]
    items: Sequence[ItemView]
    excluded: frozenset[tuple[int, str]] = frozenset()  # (item number, org code): not undertaken

    def applicable(self, org: str) -> list[ItemView]:
        return [i for i in self.items if (i.number, org) not in self.excluded]

    def applicable_max(self, org: str) -> dict[str, Fraction]:
        """Section number → Σ maxima of the items the unit undertakes."""
        return _section_sums(self.applicable(org)) if org in self._excluding else self._full_max

    def applicable_total(self, org: str) -> Fraction:
        """Σ maxima of the items the unit undertakes (the normalisation's denominator)."""
        if org in self._excluding:
            return sum(self.applicable_max(org).values(), Fraction(0))
        return self._full_total

    @cached_property
    def full_max(self) -> Fraction:
        """The sections' maxima added up (100 for a scheme whose sections add up)."""
        return sum((s.max_points for s in self.sections), Fraction(0))

    @cached_property
    def _full_total(self) -> Fraction:
        return sum(self._full_max.values(), Fraction(0))

    @cached_property
    def _excluding(self) -> frozenset[str]:
        return frozenset(org for _, org in self.excluded)

    @cached_property
    def _full_max(self) -> dict[str, Fraction]:
        return _section_sums(self.items)


def _section_sums(items: Iterable[ItemView]) -> dict[str, Fraction]:
    out: dict[str, Fraction] = {}
    for i in items:
        out[i.section] = out.get(i.section, Fraction(0)) + i.max_points
    return out


@dataclass
class ItemScore:
    item: int
    max_points: Fraction
    points: Fraction  # 0 when not assessed
    assessed: bool
    partly_assessed: bool = False
    counted: list[Entry] = field(default_factory=list)  # the entries the points come from
    adjustment: Entry | None = None
    adjusted: list[Entry] = field(default_factory=list)  # the originals an adjustment replaced
    # Lead units' points verified after the 专班's entry: the 专班's stands until it enters again (shown, not lost)
    not_counted: list[Entry] = field(default_factory=list)


@dataclass
class SectionScore:
    number: str
    title: str
    max_points: Fraction
    applicable_max: Fraction
    points: Fraction  # awarded, capped at the section's maximum
    score: Fraction  # its share of the method score (points, scaled when normalised)


@dataclass
class MethodScore:
    method: str
    weight: Fraction
    score: Fraction
    by_section: list[SectionScore] = field(default_factory=list)
    items: list[ItemScore] = field(default_factory=list)
    overall: Entry | None = None
    adjusted: list[Entry] = field(default_factory=list)


@dataclass
class UnitScore:
    org: str
    period: str
    status: ScoreStatus
    total: Fraction | None
    by_method: list[MethodScore] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    halves: list[UnitScore] = field(default_factory=list)  # annual scores: H1 and H2


def _latest(entries: Iterable[Entry]) -> Entry | None:
    return max(entries, key=lambda e: e.id, default=None)


def item_score(item: ItemView, entries: Sequence[Entry]) -> ItemScore:
    """One item's points for one unit and method, from its verified entries."""
    verified = [e for e in entries if e.status == AssessmentStatus.VERIFIED]
    by_office = [e for e in verified if e.lead is None]
    office = _latest(by_office)
    if office is not None:
        replaced = [e for e in verified if e.id < office.id]
        adjusting = office.adjusts is not None or bool(replaced)
        return ItemScore(
            item.number,
            item.max_points,
            min(office.points or Fraction(0), item.max_points),
            assessed=True,
            counted=[office],
            adjustment=office if adjusting else None,
            adjusted=replaced if adjusting else [],
            not_counted=[e for e in verified if e.id > office.id],
        )
    per_lead = [e for lead in item.leads if (e := _latest(v for v in verified if v.lead == lead)) is not None]
    if not per_lead:
        return ItemScore(item.number, item.max_points, Fraction(0), assessed=False)
    mean = sum((e.points or Fraction(0) for e in per_lead), Fraction(0)) / len(per_lead)
    # A lead unit never scores its own work (the 专班 does): assessing 市公安局 on an item it co-leads, the other
    # lead units' points are all there can be, so the item is not waiting for it.
    able = [lead for lead in item.leads if lead != per_lead[0].org]
    return ItemScore(
        item.number,
        item.max_points,
        min(mean, item.max_points),
        assessed=True,
        partly_assessed=len(per_lead) < len(able),
        counted=per_lead,
    )


@dataclass
class ItemTotals:
    """An item-based method of one unit and half-year as scoring needs it: Σ item points per section (each item
    capped at its maximum) and the items not yet scored by every lead unit. `items` holds each item's result
    when computed from the entries (the explanation); the SQL path (rollup.py) sums without them."""

    awarded: dict[str, Fraction] = field(default_factory=dict)  # section number → Σ item points
    partly: list[int] = field(default_factory=list)
    items: list[ItemScore] = field(default_factory=list)

    def add(self, section: str, points: Fraction) -> None:
        self.awarded[section] = self.awarded.get(section, Fraction(0)) + points


def item_totals(view: SchemeView, org: str, entries: Sequence[Entry]) -> ItemTotals:
    """Every applicable item's result for one unit and method, from its entries, and their section sums."""
    by_item: dict[int, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.item is not None:
            by_item[e.item].append(e)
    totals = ItemTotals()
    for i in view.applicable(org):
        scored = item_score(i, by_item.get(i.number, []))
        totals.items.append(scored)
        totals.add(i.section, scored.points)
        if scored.partly_assessed:
            totals.partly.append(i.number)
    return totals


_ZERO = Fraction(0)


def _items_method(
    view: SchemeView, method: MethodView, org: str, totals: ItemTotals, normalise: bool
) -> MethodScore:
    applicable_max = view.applicable_max(org)
    sections: list[SectionScore] = []
    for s in view.sections:
        given = totals.awarded.get(s.number, _ZERO)
        awarded = given if given <= s.max_points else s.max_points
        of_section = applicable_max.get(s.number, _ZERO)
        sections.append(SectionScore(s.number, s.title, s.max_points, of_section, awarded, awarded))
    applicable_total = view.applicable_total(org)
    full = view.full_max
    if normalise and applicable_total and applicable_total != full:
        for scored in sections:
            scored.score = scored.points * full / applicable_total
    score = sum((x.score for x in sections if x.score), _ZERO)
    return MethodScore(method.code, method.weight, score, by_section=sections, items=totals.items)


def _overall_method(method: MethodView, entries: Sequence[Entry]) -> MethodScore:
    verified = [e for e in entries if e.item is None and e.status == AssessmentStatus.VERIFIED]
    latest = _latest(verified)
    if latest is None:
        return MethodScore(method.code, method.weight, Fraction(0))
    earlier = [e for e in verified if e.id < latest.id]
    return MethodScore(method.code, method.weight, latest.score or Fraction(0), overall=latest, adjusted=earlier)


MethodInput = ItemTotals | Sequence[Entry]  # item-based: the section sums; overall: the method's entries


def half_year(
    view: SchemeView, org: str, period: str, entries: Sequence[Entry], *, normalise: bool = True
) -> UnitScore:
    """A unit's half-year score (半年考评分值) from its entries of that half-year."""
    mine = [e for e in entries if e.org == org and e.period == period]
    if not any(e.status == AssessmentStatus.VERIFIED for e in mine):
        return missing(org, period)
    inputs: dict[str, MethodInput] = {}
    for m in view.methods:
        of_method = [e for e in mine if e.method == m.code]
        if m.kind == MethodKind.OVERALL:
            inputs[m.code] = of_method
        elif any(e.item is not None and e.status == AssessmentStatus.VERIFIED for e in of_method):
            inputs[m.code] = item_totals(view, org, of_method)
        # else: an item method without verified points has no input, as in rollup.method_inputs: it counts 0
        # and says so (scored_half_year), whichever path scores the unit
    return scored_half_year(view, org, period, inputs, normalise=normalise)


def missing(org: str, period: str) -> UnitScore:
    return UnitScore(org, period, ScoreStatus.MISSING, None, reasons=[f"no verified assessment for {period}"])


def scored_half_year(
    view: SchemeView, org: str, period: str, inputs: dict[str, MethodInput], *, normalise: bool = True
) -> UnitScore:
    """A half-year in which the unit has verified entries, from each method's input."""
    methods: list[MethodScore] = []
    reasons: list[str] = []
    for m in view.methods:
        given = inputs.get(m.code)
        if isinstance(given, ItemTotals):
            result = _items_method(view, m, org, given, normalise)
            if given.partly:
                reasons.append(f"{m.name} ({m.code}): items {_numbers(sorted(given.partly))} not yet scored by "
                               "every lead unit")
        elif m.kind == MethodKind.ITEMS:
            result = _items_method(view, m, org, ItemTotals(), normalise)
            reasons.append(f"{m.name} ({m.code}) has no verified points: counted as 0")
        else:
            result = _overall_method(m, given or [])
            if result.overall is None:
                reasons.append(f"{m.name} ({m.code}) has no verified score: counted as 0")
        methods.append(result)
    total = sum((m.weight * m.score for m in methods if m.score), _ZERO)
    status = ScoreStatus.INCOMPLETE if reasons else ScoreStatus.COMPLETE
    return UnitScore(org, period, status, total, by_method=methods, reasons=reasons)


def annual(first: UnitScore, second: UnitScore, year: str) -> UnitScore:
    """年度考评分值 = (上半年 + 下半年) ÷ 2; a missing half leaves the year missing, with the reason."""
    halves = [first, second]
    missing = [h for h in halves if h.total is None]
    if missing:
        reasons = [f"{h.period} is missing" for h in missing]
        return UnitScore(first.org, year, ScoreStatus.MISSING, None, reasons=reasons, halves=halves)
    assert first.total is not None and second.total is not None
    incomplete = any(h.status == ScoreStatus.INCOMPLETE for h in halves)
    status = ScoreStatus.INCOMPLETE if incomplete else ScoreStatus.COMPLETE
    reasons = [f"{h.period}: {r}" for h in halves for r in h.reasons]  # which half each is of
    return UnitScore(first.org, year, status, (first.total + second.total) / 2, by_method=_mean_methods(first, second),
                     reasons=reasons, halves=halves)


def _mean_methods(first: UnitScore, second: UnitScore) -> list[MethodScore]:
    """The year's method and section scores: each the mean of its halves', as the total is (a weighted sum of them,
    so the year's columns explain its total as a half-year's do)."""
    out = []
    for a, b in zip(first.by_method, second.by_method, strict=True):
        sections = [SectionScore(x.number, x.title, x.max_points, (x.applicable_max + y.applicable_max) / 2,
                                 (x.points + y.points) / 2, (x.score + y.score) / 2)
                    for x, y in zip(a.by_section, b.by_section, strict=True)]
        out.append(MethodScore(a.method, a.weight, (a.score + b.score) / 2, by_section=sections))
    return out


def shown(x: Fraction | None, places: int = 2) -> Decimal | None:
    """A score as shown and published: `places` decimals, half up."""
    if x is None:
        return None
    exact = Decimal(x.numerator) / Decimal(x.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ranks(totals: Sequence[tuple[str, Fraction | None]]) -> dict[str, int | None]:
    """Competition ranks (1, 1, 3) on totals as shown (2 decimals); a missing total gets no rank."""
    ordered = sorted((t for t in totals if t[1] is not None), key=lambda t: shown(t[1]) or 0, reverse=True)
    out: dict[str, int | None] = {org: None for org, total in totals if total is None}
    previous: Decimal | None = None
    rank = 0
    for position, (org, total) in enumerate(ordered, start=1):
        current = shown(total)
        if current != previous:
            rank, previous = position, current
        out[org] = rank
    return out


def _numbers(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in numbers)
