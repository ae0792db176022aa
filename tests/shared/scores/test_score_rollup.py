"""The ranking's SQL path (shared/scores/rollup.py) gives exactly the scores of the item-by-item path
(compute.half_year over every entry) on the 包头 scheme, for every entry pattern the write path can leave:
one lead unit, both of two, one of two (partly assessed), a lead unit's second verified entry, the 专班's
adjustment beside a lead unit's points, the 专班 alone, submitted and returned points (not counted), points
above a lowered maximum, a verified entry of an item the unit no longer undertakes, overall scores."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.schemes import store as scheme_store
from shared.schemes.models import ItemExclusion, Scheme
from shared.scores import compute
from shared.scores import results as score_results
from shared.scores.models import Assessment

PATTERNS = ("one", "every_lead", "twice", "adjusted", "office", "submitted", "returned", "above_max", "none")
NOW = datetime(2022, 7, 1, tzinfo=UTC)


def _snapshot(score: compute.UnitScore) -> Any:
    return (
        score.status,
        score.total,
        score.reasons,
        [(m.method, m.score, [(s.number, s.points, s.score, s.applicable_max) for s in m.by_section])
         for m in score.by_method],
    )  # fmt: skip


def _rows(pattern: str, leads: list[int], given: Decimal, top: Decimal) -> list[tuple[Decimal, int | None, str]]:
    """(points, lead unit id or None for the 专班, status) of one key's entries, oldest first."""
    if pattern == "one":
        return [(given, leads[0], "verified")]
    if pattern == "every_lead":
        return [(given, lead, "verified") for lead in leads]
    if pattern == "twice":  # the lead unit's second verified entry counts
        return [(given, leads[-1], "verified"), (given / 2, leads[-1], "verified")]
    if pattern == "adjusted":  # the 专班's adjustment beside the lead unit's points
        return [(given, leads[0], "verified"), (given / 3, None, "verified")]
    if pattern == "office":
        return [(given, None, "verified")]
    if pattern in ("submitted", "returned"):
        return [(given, leads[0], pattern)]
    if pattern == "above_max":  # entered before the 专班 lowered the item's maximum
        return [(top + Decimal("0.5"), leads[0], "verified")]
    return []


async def _fill(session: AsyncSession, tree: scheme_store.SchemeTree, rng: random.Random) -> dict[str, int]:
    """Random entries of every pattern over every unit assessed; returns how often each pattern was used."""
    methods = {m.code: m.id for m in tree.methods}
    used = dict.fromkeys(PATTERNS, 0)
    items = tree.all_items()
    for n, (unit, _) in enumerate(tree.units.values()):
        for period in ("2022H1", "2022H2"):
            if n % 7 == 3 and period == "2022H2":
                continue  # no entries: the half-year is missing, the year too
            for item in rng.sample([i for i in items if n % 4 != 1 or i != items[n % len(items)]], 30):
                leads = [tree.units[x.code][0].id for x in tree.leads[item.id]]
                top = tree.maxima.items[item.number].points
                quarter = Decimal(top.numerator) / Decimal(top.denominator)
                given = (quarter * Decimal(rng.randint(0, 4)) / 4).quantize(Decimal("0.0001"), "ROUND_DOWN")
                # every third unit has only the patterns the statement sums, so its sums are the SQL's own
                pattern = rng.choice(PATTERNS if n % 3 else ("one", "every_lead"))
                used[pattern] += 1
                method = methods[rng.choice(("monitoring", "field_survey"))]
                previous: Assessment | None = None
                for points, lead, status in _rows(pattern, leads, given, quarter):
                    row = Assessment(scheme_id=tree.scheme.id, method_id=method, item_id=item.id, org_id=unit.id,
                                     period=period, points=points.quantize(Decimal("0.0001"), "ROUND_DOWN"),
                                     lead_org_id=lead, status=status, automatic=False, entered_by="test",
                                     entered_at=NOW, adjusts_id=previous.id if previous and lead is None else None,
                                     reason="核实后调整" if previous and lead is None else None)  # fmt: skip
                    session.add(row)
                    await session.flush()
                    previous = row
            if n % 5 == 0:
                for method_code in ("public_opinion", "third_party"):
                    session.add(Assessment(scheme_id=tree.scheme.id, method_id=methods[method_code], org_id=unit.id,
                                           period=period, score=Decimal(60 + n), status="verified", automatic=False,
                                           entered_by="test", entered_at=NOW))  # fmt: skip
        if n % 4 == 1:  # an item it no longer undertakes, with the verified points it had
            dropped = items[n % len(items)]
            lead = tree.units[tree.leads[dropped.id][0].code][0].id
            session.add(ItemExclusion(item_id=dropped.id, org_id=unit.id, set_by="test", set_at=NOW))
            session.add(Assessment(scheme_id=tree.scheme.id, method_id=methods["monitoring"], item_id=dropped.id,
                                   org_id=unit.id, period="2022H1", points=Decimal("0.1"), lead_org_id=lead,
                                   status="verified", automatic=False, entered_by="test", entered_at=NOW))  # fmt: skip
    await session.flush()
    return used


async def test_the_sql_path_scores_exactly_as_the_item_path(session: AsyncSession) -> None:
    scheme_id = (await session.execute(Scheme.__table__.select())).first().id  # type: ignore[union-attr]
    tree = await scheme_store.get_tree(session, scheme_id)
    used = await _fill(session, tree, random.Random(20221))
    assert all(used.values()), used
    tree = await scheme_store.get_tree(session, scheme_id)  # with the exclusions
    for period in ("2022H1", "2022H2", "2022"):
        for normalise in (True, False):
            summed = await score_results.unit_scores(session, tree, period, normalise=normalise)
            itemised = await score_results.unit_scores(session, tree, period, normalise=normalise, itemised=True)
            assert set(summed) == set(itemised) == set(tree.units)
            for org in tree.units:
                assert _snapshot(summed[org]) == _snapshot(itemised[org]), (period, normalise, org)
    statuses = {s.status for s in itemised.values()}
    assert {compute.ScoreStatus.MISSING, compute.ScoreStatus.INCOMPLETE} <= statuses, statuses
