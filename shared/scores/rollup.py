"""Rankings without reading every entry (PostgreSQL): the database sums the verified points per unit, half-year,
method and section in one statement, as a bare sum would; Python finishes exactly (Fractions) and reads entries
only for the sections whose plain sum is not the sum of the item results.

The sum is the item results' sum when, in a (unit, half-year, method, section) group, every verified entry
comes from a lead unit of its item, no (item, lead unit) pair appears twice, no points exceed the item's
maximum, no item is one the unit no longer undertakes, and every multi-lead item has points from all of its
lead units or none. Then each item's result is its lead units' mean (one lead unit: its points), and the group's
sum is Σ points × (L / leads of the item) ÷ L with L the least common multiple of the lead counts. The test of
"no pair twice" is a bitmask: each (item, lead unit) pair of a section has its own bit, and the bits' sum
equals their OR exactly when no bit repeats. Any other group — the 专班's own or adjusted points, a lead unit's
second verified entry, a lead unit still to score, points above a lowered maximum, an excluded item — is
scored from its entries by `compute.item_score`, the code the explanation uses.
tests/shared/scores/test_score_rollup.py checks both paths agree on every such case."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schemes.store import SchemeTree
from shared.schemes.types import AssessmentStatus, MethodKind
from shared.scores import compute
from shared.scores import store as score_store

_BITS = 62  # bits of a bigint mask used per chunk of a section's (item, lead unit) pairs

_SECTION_SUMS = """
WITH items AS (
    SELECT * FROM unnest(CAST(:item_ids AS int[]), CAST(:max_floor AS numeric[]), CAST(:weight AS int[]),
                         CAST(:sections AS int[]), CAST(:chunks AS int[]))
        AS t(item_id, max_floor, weight, section, chunk)
), pairs AS (
    SELECT * FROM unnest(CAST(:pair_items AS int[]), CAST(:pair_leads AS int[]), CAST(:pair_bits AS int8[]))
        AS t(item_id, lead_id, bit)
)
SELECT a.org_id, a.period, a.method_id, i.section, i.chunk, sum(a.points * i.weight), bit_or(p.bit),
       sum(p.bit) = bit_or(p.bit) AND bool_and(p.bit IS NOT NULL) AND bool_and(a.points <= i.max_floor) {excluded}
FROM assessments a
JOIN items i ON i.item_id = a.item_id
LEFT JOIN pairs p ON p.item_id = a.item_id AND p.lead_id = a.lead_org_id
{exclusions}
WHERE a.scheme_id = :scheme AND a.period = ANY(:periods) AND a.status = 'verified'
GROUP BY a.org_id, a.period, a.method_id, i.section, i.chunk
"""
_EXCLUSIONS = "LEFT JOIN scheme_item_exclusions x ON x.item_id = a.item_id AND x.org_id = a.org_id"


@dataclass
class _Layout:
    """Where each item sits in the statement: its section and chunk, the bits of its (item, lead unit) pairs."""

    lcm: int
    chunk: dict[int, tuple[int, int]] = field(default_factory=dict)  # item id → (section index, chunk)
    masks: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (section, chunk) → multi-lead masks
    pairs: list[tuple[int, int, int]] = field(default_factory=list)  # (item id, lead org id, bit)


def _layout(tree: SchemeTree, view: compute.SchemeView) -> _Layout:
    section_index = {s.number: n for n, s in enumerate(view.sections)}
    leads = {i.id: tree.leads.get(i.id, []) for i in tree.all_items()}
    layout = _Layout(lcm=math.lcm(*(max(1, len(x)) for x in leads.values())))
    used: dict[int, int] = {}
    for item, seen in zip(tree.all_items(), view.items, strict=True):
        section, n = section_index[seen.section], max(1, len(leads[item.id]))
        at = used.get(section, 0)
        if at % _BITS + n > _BITS:  # an item's pairs stay in one chunk
            at = (at // _BITS + 1) * _BITS
        used[section] = at + n
        chunk, first = divmod(at, _BITS)
        layout.chunk[item.id] = (section, chunk)
        bits = [1 << (first + k) for k in range(n)]
        layout.pairs += [(item.id, lead.org_id, bit) for lead, bit in zip(leads[item.id], bits, strict=False)]
        if n > 1:
            layout.masks.setdefault((section, chunk), []).append(sum(bits))
    return layout


def _floor(x: Fraction) -> Decimal:
    """The largest 4-decimal number ≤ x: points (NUMERIC(10,4)) ≤ x exactly when points ≤ this."""
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.0001"), rounding=ROUND_FLOOR)


@dataclass
class Inputs:
    """What scoring needs of each (unit, half-year) with a verified entry: each method's input."""

    by_unit: dict[tuple[str, str], dict[str, compute.MethodInput]] = field(default_factory=dict)

    def of(self, org: str, period: str) -> dict[str, compute.MethodInput]:
        return self.by_unit.setdefault((org, period), {})

    def totals(self, org: str, period: str, method: str) -> compute.ItemTotals:
        found = self.of(org, period).setdefault(method, compute.ItemTotals())
        assert isinstance(found, compute.ItemTotals)
        return found


async def method_inputs(
    session: AsyncSession, tree: SchemeTree, view: compute.SchemeView, periods: Collection[str], orgs: Collection[str]
) -> Inputs:
    """Each method's input for these units and half-years, from one summing statement and the few entries it
    cannot sum (PostgreSQL only: `unnest`, arrays, bit_or)."""
    layout = _layout(tree, view)
    items = tree.all_items()
    code_of = {tree.units[o][0].id: o for o in orgs}
    method_of = {m.id: m.code for m in tree.methods}
    sql = _SECTION_SUMS.format(
        excluded="AND bool_and(x.item_id IS NULL)" if tree.excluded else "",
        exclusions=_EXCLUSIONS if tree.excluded else "",
    )
    rows = await session.execute(
        text(sql),
        {
            "item_ids": [i.id for i in items],
            "max_floor": [_floor(v.max_points) for v in view.items],
            "weight": [layout.lcm // max(1, len(tree.leads.get(i.id, []))) for i in items],
            "sections": [layout.chunk[i.id][0] for i in items],
            "chunks": [layout.chunk[i.id][1] for i in items],
            "pair_items": [p[0] for p in layout.pairs],
            "pair_leads": [p[1] for p in layout.pairs],
            "pair_bits": [p[2] for p in layout.pairs],
            "scheme": tree.scheme.id,
            "periods": list(periods),
        },
    )
    out = Inputs()
    unsummed: set[tuple[str, str, str, int, int]] = set()
    for org_id, period, method_id, section, chunk, points, given, regular in rows:
        org = code_of.get(org_id)
        if org is None:
            continue  # a unit not asked for (filtering here is cheaper than an `= ANY(array)` per entry)
        method = method_of[method_id]
        totals = out.totals(org, period, method)
        masks = layout.masks.get((section, chunk), ())
        if regular and all(given & m in (0, m) for m in masks):
            totals.add(view.sections[section].number, Fraction(points) / layout.lcm)
        else:
            unsummed.add((org, period, method, section, chunk))
    if unsummed:
        await _score_from_entries(session, tree, view, periods, unsummed, layout, out)
    overall = {m.code for m in view.methods if m.kind == MethodKind.OVERALL}
    asked = set(orgs)
    for e in await score_store.entries(session, tree, set(periods), overall=True):
        if e.org in asked and e.method in overall and e.status == AssessmentStatus.VERIFIED:
            found = out.of(e.org, e.period).setdefault(e.method, [])
            assert isinstance(found, list)
            found.append(e)
    return out


async def _score_from_entries(
    session: AsyncSession,
    tree: SchemeTree,
    view: compute.SchemeView,
    periods: Collection[str],
    unsummed: set[tuple[str, str, str, int, int]],
    layout: _Layout,
    out: Inputs,
) -> None:
    """The groups the statement could not sum, item by item from their entries."""
    places = {(section, chunk) for _, _, _, section, chunk in unsummed}
    of_place: dict[tuple[int, int], list[tuple[int, compute.ItemView]]] = {}
    for row, seen in zip(tree.all_items(), view.items, strict=True):
        if layout.chunk[row.id] in places:
            of_place.setdefault(layout.chunk[row.id], []).append((row.id, seen))
    org_ids = sorted({tree.units[org][0].id for org, *_ in unsummed})
    item_ids = [i for listed in of_place.values() for i, _ in listed]
    found: dict[tuple[str, str, str, int], list[compute.Entry]] = {}
    for e in await score_store.entries(session, tree, set(periods), org_ids=org_ids, item_ids=item_ids):
        if e.item is not None:
            found.setdefault((e.org, e.period, e.method, e.item), []).append(e)
    for org, period, method, section, chunk in sorted(unsummed):
        totals = out.totals(org, period, method)
        for _, item in of_place[(section, chunk)]:
            if (item.number, org) in view.excluded:
                continue  # an item the unit no longer undertakes: its entries do not count
            scored = compute.item_score(item, found.get((org, period, method, item.number), []))
            totals.add(item.section, scored.points)
            if scored.partly_assessed:
                totals.partly.append(item.number)
