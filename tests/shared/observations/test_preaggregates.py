"""The monthly pre-aggregates stay equal to the raw figures after every write pattern, exactly (NUMERIC sums),
and `preaggregate.check` (the operator command) sees any difference. The expected rows are computed here in
Python from the raw rows — not with the implementation's statements, so a mistake there cannot hide."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import Database
from shared.core.errors import InvalidInput
from shared.core.periods import parse_period
from shared.indicators import store as indicator_store
from shared.observations import org_tree, preaggregate
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.org_units import store as org_store
from shared.seeds.load import SEED_DIR
from shared.values import rollup
from tests.builders import FUQIANG, QINGSHAN, XINGFU

TODAY = date(2022, 6, 30)
MAY = [date(2022, 5, d) for d in range(1, 10)]
ZONE = "150271000000"  # 包头稀土高新技术产业开发区
BAOTOU_CSV = [line for line in (SEED_DIR / "divisions_150000_360100.csv").read_text(encoding="utf-8").splitlines()
              if line.startswith(("code,", "1502"))]

Row = tuple[Any, ...]


def _day(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _exact(x: float) -> Decimal:
    # The documented rule: a figure enters a sum with its 15 significant digits.
    return Decimal(f"{x:.15g}")


def _total(xs: Iterable[Any]) -> Decimal | None:
    present = [x for x in xs if x is not None]
    return sum((x if isinstance(x, Decimal) else _exact(float(x)) for x in present), Decimal(0)) if present else None


async def expected_from_raw(s: AsyncSession) -> tuple[dict[Row, Row], dict[Row, Row]]:
    """(unit months, region months) as PRODUCT.md defines them, from `observations` and `org_unit_paths`."""
    raw: dict[Row, list[Row]] = defaultdict(list)
    for ind, org, day, num, den, val in await s.execute(
        text("SELECT indicator_id, org_id, obs_date, numerator, denominator, value FROM observations")
    ):
        day = _day(day)
        raw[(ind, org, day.replace(day=1))].append((day, num, den, val))
    months: dict[Row, Row] = {}
    for key, rows in raw.items():
        last = max(rows)
        # A value is summed only when it is a count's (no numerator): a ratio's is recomputed from the sums.
        months[key] = (len(rows), _total(r[1] for r in rows), _total(r[2] for r in rows),
                       _total(r[3] for r in rows if r[1] is None), last[0], last[1], last[2], last[3])
    paths = [tuple(r) for r in await s.execute(text("SELECT ancestor_id, descendant_id, depth FROM org_unit_paths"))]
    parents = {a for a, _, depth in paths if depth == 1}
    ancestors: dict[int, list[int]] = defaultdict(list)
    for a, d, _ in paths:
        if a in parents:
            ancestors[d].append(a)
    grouped: dict[Row, list[Row]] = defaultdict(list)
    for (ind, org, month), m in months.items():
        for a in ancestors[org]:
            grouped[(ind, a, month)].append(m)
    regions = {
        key: (len(ms), *(_total(m[i] for m in ms) for i in (1, 2, 3, 5, 6)), _total(m[7] for m in ms if m[5] is None))
        for key, ms in grouped.items()
    }
    return months, regions


async def stored(s: AsyncSession, table: str, columns: str) -> dict[Row, Row]:
    rows = await s.execute(text(f"SELECT indicator_id, org_id, month, {columns} FROM {table}"))
    return {(r[0], r[1], _day(r[2])): tuple(_day(v) if c == "last_date" else v
                                            for c, v in zip(columns.split(", "), r[3:], strict=True))
            for r in rows}


def _same(a: Any, b: Any, pg: bool) -> bool:
    if a is None or b is None or isinstance(a, date):
        return a == b
    # PostgreSQL: NUMERIC, compared exactly; SQLite has no exact type (make run only).
    return Decimal(a) == Decimal(b) if pg else float(a) == pytest.approx(float(b), rel=1e-12)


async def assert_in_step(s: AsyncSession) -> None:
    """The stored pre-aggregates equal the raw figures' (computed here), and the check command agrees."""
    pg = s.bind.dialect.name == "postgresql"
    months, regions = await expected_from_raw(s)
    for table, columns, expected in (
        ("observation_months", "days, sum_numerator, sum_denominator, sum_value, last_date, last_numerator, "
                               "last_denominator, last_value", months),
        ("rollup_months", "units, sum_numerator, sum_denominator, sum_value, last_numerator, last_denominator, "
                          "last_value", regions),
    ):
        kept = await stored(s, table, columns)
        assert kept.keys() == expected.keys(), table
        for key, row in kept.items():
            assert all(_same(a, b, pg) for a, b in zip(row, expected[key], strict=True)), (table, key, row,
                                                                                          expected[key])
    assert await preaggregate.check(s) == []


def fig(org: str, day: date, num: float, den: float, indicator: str = "QS-07") -> ObservationIn:
    return ObservationIn(indicator, org, day, num, den)


def count(org: str, day: date, value: float) -> ObservationIn:
    # A count (last, summed over units) whose figures may have fractions (万核): its value is what the months sum.
    return ObservationIn("NC-01", org, day, value=value)


async def chunked(s: AsyncSession, source: str, *chunks: list[ObservationIn]) -> observation_store.WriteResult:
    writer = await observation_store.FigureWriter.open(s, source=source, actor="t", today=TODAY, partial=True,
                                                       chunked=True)
    for chunk in chunks:
        await writer.write(writer.prepare(chunk))
    return await writer.finish()


class TestInStepAfterEveryWritePattern:
    async def test_insert_correction_repeat_bulk_and_tree_change(self, any_database: Database) -> None:
        write = observation_store.write_observations
        async with any_database.sessions() as s:
            await write(s, [fig(FUQIANG, MAY[0], 10, 20), fig(FUQIANG, MAY[2], 5, 10), fig(XINGFU, MAY[1], 1, 2),
                            fig(XINGFU, MAY[3], 0, 0), fig(XINGFU, MAY[1], 7, 3, "QS-11"),
                            count(FUQIANG, MAY[0], 12.5), count(FUQIANG, MAY[1], 3), count(XINGFU, MAY[1], 7)],
                        source="a", actor="t", today=TODAY)
            await assert_in_step(s)  # insert
            # new and corrected figures at once: a later day, an earlier day, a correction
            await write(s, [fig(FUQIANG, MAY[4], 7, 10), fig(FUQIANG, MAY[1], 3, 4), fig(FUQIANG, MAY[2], 6, 10)],
                        source="b", actor="t", today=TODAY)
            await assert_in_step(s)
            # corrections only: the latest day, an earlier day, a value that was NULL (0/0), a flow
            await write(s, [fig(FUQIANG, MAY[4], 8, 10), fig(XINGFU, MAY[1], 2, 2), fig(XINGFU, MAY[3], 1, 1),
                            fig(XINGFU, MAY[1], 9.5, 3, "QS-11"), count(FUQIANG, MAY[1], 4.25),
                            count(XINGFU, MAY[1], 0.1)], source="b", actor="t", today=TODAY)
            await assert_in_step(s)
            # a resend: nothing changes
            again = await write(s, [fig(FUQIANG, MAY[4], 8, 10)], source="b", actor="t", today=TODAY)
            assert again.unchanged == 1
            await assert_in_step(s)
            # bulk ingest in chunks: new figures, a correction, an exact repeat, a conflict (withdrawn)
            result = await chunked(
                s, "c",
                [fig(XINGFU, MAY[5], 2, 4), fig(FUQIANG, date(2022, 6, 1), 1, 1), fig(FUQIANG, MAY[0], 11, 20),
                 count(XINGFU, MAY[5], 2)],
                [fig(XINGFU, MAY[5], 3, 4), fig(XINGFU, MAY[6], 4, 4), fig(FUQIANG, date(2022, 6, 1), 1, 1),
                 count(FUQIANG, MAY[0], 13)],
            )
            assert (result.inserted, result.updated, result.duplicates) == (3, 2, 1)
            await assert_in_step(s)
            # the org tree changes: 富强路街道 handed to the 稀土高新区
            moved = [line.replace("富强路街道,township,150204000000", f"富强路街道,township,{ZONE}")
                     for line in BAOTOU_CSV]
            await org_tree.import_divisions(s, "\n".join(moved) + "\n", prefix="150200", today=date(2026, 12, 1))
            await assert_in_step(s)
            # and a full rebuild from raw changes nothing
            await preaggregate.rebuild_all(s)
            await assert_in_step(s)

    async def test_region_rows_after_every_kind_of_push(self, any_database: Database) -> None:
        """Region rows after pushes: every case of a month's latest figure, a unit reporting alongside its own
        streets (its months are in its own region rows), a legacy latest figure without numbers."""
        async def push(*figures: ObservationIn) -> None:
            await observation_store.write_observations(s, list(figures), source="p", actor="t", today=TODAY)
            await assert_in_step(s)

        async with any_database.sessions() as s:
            # the district reports itself as well as its streets: its own months are in its region rows too
            await push(fig(QINGSHAN, MAY[0], 3, 4), fig(FUQIANG, MAY[0], 1, 2), count(FUQIANG, MAY[0], 5))
            # a street's first figure of the month joins the region month; a later day becomes the latest
            await push(fig(XINGFU, MAY[2], 2, 5), fig(QINGSHAN, MAY[3], 1, 4), count(XINGFU, MAY[2], 4),
                       count(FUQIANG, MAY[1], 2.5))
            await push(fig(QINGSHAN, MAY[1], 2, 4))  # an earlier day than the latest: the latest stays
            # corrections: of the latest day and of an earlier one, at the district and at a street
            await push(fig(QINGSHAN, MAY[3], 4, 4), fig(QINGSHAN, MAY[0], 0, 4), fig(XINGFU, MAY[2], 5, 5),
                       count(FUQIANG, MAY[1], 7))
            await push(fig(FUQIANG, date(2022, 6, 1), 1, 1))  # a new month for the region
            # a figure stored before the rules, without numbers, is 富强路's latest of May ...
            await s.execute(text("UPDATE observations SET numerator = NULL, denominator = NULL WHERE obs_date = :d "
                                 "AND org_id = (SELECT id FROM org_units WHERE code = :c) AND indicator_id = "
                                 "(SELECT id FROM indicators WHERE code = 'QS-07')"), {"d": MAY[0], "c": FUQIANG})
            await preaggregate.rebuild_all(s)
            await assert_in_step(s)
            await push(fig(FUQIANG, MAY[5], 1, 2))  # ... and a later day with numbers replaces it
            # an indicator turned from a ratio into a count: the month's new latest figure has no numbers where the
            # stored latest had them, so its regions' sums of the latest numerators turn NULL (not 0)
            await push(fig(XINGFU, MAY[1], 1, 2, "QS-11"))
            await s.execute(text("UPDATE indicators SET measure = 'count' WHERE code = 'QS-11'"))
            await push(ObservationIn("QS-11", XINGFU, MAY[4], value=3))

    async def test_the_check_reports_a_stale_a_missing_and_a_stray_row(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await observation_store.write_observations(
                s, [fig(FUQIANG, MAY[0], 10, 20), fig(XINGFU, MAY[0], 1, 2), fig(FUQIANG, date(2022, 4, 1), 1, 2)],
                source="a", actor="t", today=TODAY,
            )
            await assert_in_step(s)
            fuqiang = (await org_store.get_by_code(s, FUQIANG)).id
            qingshan = (await org_store.get_by_code(s, QINGSHAN)).id
            await s.execute(text("UPDATE observation_months SET sum_numerator = sum_numerator + 0.000001 "
                                 "WHERE org_id = :o AND month = :m"), {"o": fuqiang, "m": date(2022, 5, 1)})
            await s.execute(text("DELETE FROM rollup_months WHERE org_id = :o AND month = :m"),
                            {"o": qingshan, "m": date(2022, 4, 1)})
            columns = ("days, sum_numerator, sum_denominator, sum_value, last_date, last_numerator, "
                       "last_denominator, last_value")
            await s.execute(text(f"INSERT INTO observation_months (indicator_id, org_id, month, {columns}) "
                                 f"SELECT indicator_id, org_id, :m, {columns} FROM observation_months "
                                 "WHERE org_id = :o AND month = :april"),
                            {"o": fuqiang, "m": date(2022, 3, 1), "april": date(2022, 4, 1)})
            await s.execute(text("DELETE FROM indicator_levels WHERE level = 'township'"))
            found = await preaggregate.check(s)
            summary = sorted((d.table, d.org, str(d.month)[:10], d.stored is None, d.expected is None) for d in found)
            assert summary == [
                ("indicator_levels", "(level township)", "2022-03-01", True, False),  # the townships' level not listed
                ("observation_months", FUQIANG, "2022-03-01", False, True),  # stray
                ("observation_months", FUQIANG, "2022-05-01", False, False),  # stale
                ("rollup_months", QINGSHAN, "2022-04-01", True, False),  # missing
            ]
            await preaggregate.rebuild_all(s)
            await assert_in_step(s)


async def month_of(s: AsyncSession, indicator: str, org: str, period: str = "2022-05") -> rollup.Basis:
    ind = await indicator_store.get_by_code(s, indicator)
    root = (await org_store.get_by_code(s, org)).id
    fast, _ = await rollup.rolled_up(s, indicator_id=ind.id, time_aggregation=ind.time_aggregation,
                                     rollup_rule=ind.rollup, root_ids=[root], period=parse_period(period))
    return fast[root]


class TestExactSums:
    """A correction adds (new − old) to the month: exact, however large the figure it replaces (issue 9.1)."""

    @pytest.mark.parametrize("large", [1e12, 1e15], ids=["default-bound", "raised-bound"])
    async def test_a_large_figure_corrected_leaves_no_trace(self, any_database: Database, large: float) -> None:
        async with any_database.sessions() as s:
            write = observation_store.write_observations
            await write(s, [fig(FUQIANG, MAY[0], 0.1, 1, "QS-11"), fig(FUQIANG, MAY[1], large, 1, "QS-11")],
                        source="a", actor="t", today=TODAY, max_figure=1e15)
            corrected = await write(s, [fig(FUQIANG, MAY[1], 1, 1, "QS-11")], source="a", actor="t", today=TODAY,
                                    max_figure=1e15)
            assert corrected.updated == 1
            # In float8 this read 1.0999755859375 (10¹²) or 1.125 (10¹⁵), for good.
            assert (await month_of(s, "QS-11", FUQIANG)).numerator == 1.1
            assert (await month_of(s, "QS-11", QINGSHAN)).numerator == 1.1
            await assert_in_step(s)

    async def test_many_large_counts_in_a_month_sum_exactly(self, any_database: Database) -> None:
        streets = [f"150204{n:03d}000" for n in range(1, 9)]
        async with any_database.sessions() as s:
            rows = [ObservationIn("QS-11", org, day, 1e12 - 0.001, 1) for org in streets for day in MAY]
            await observation_store.write_observations(s, rows, source="a", actor="t", today=TODAY)
            exact = float(Decimal("999999999999.999") * 72)
            total = (await month_of(s, "QS-11", QINGSHAN)).numerator
            # SQLite (make run) has no exact type: there the sum is a double's.
            assert total == exact if s.bind.dialect.name == "postgresql" else total == pytest.approx(exact)
            await assert_in_step(s)


class TestFigureBounds:
    """Every figure lies in 0 … max_figure, its computed value too; nothing out of range or not finite is
    stored, so no read or sum can overflow (issue 9.1)."""

    @pytest.mark.parametrize(
        ("figure", "field", "words"),
        [
            (fig(FUQIANG, MAY[0], 1e12, 1e-320, "QS-11"), "denominator", "give the value inf, above the largest"),
            (fig(FUQIANG, MAY[0], 1e308, 1e-320, "QS-11"), "numerator", "numerator 1e+308 is above the largest"),
            (ObservationIn("QS-01", FUQIANG, MAY[0], value=1e308), "value", "value 1e+308 is above the largest"),
            (fig(FUQIANG, MAY[0], 5, 1e13, "QS-11"), "denominator", "denominator 1e+13 is above the largest"),
        ],
        ids=["value-not-finite", "numerator-too-large", "count-too-large", "denominator-too-large"],
    )
    async def test_rejected_with_its_field_and_nothing_written(
        self, any_database: Database, figure: ObservationIn, field: str, words: str
    ) -> None:
        async with any_database.sessions() as s:
            good = ObservationIn("QS-01", XINGFU, MAY[0], value=1e12)  # the bound itself is accepted
            with pytest.raises(InvalidInput) as caught:
                await observation_store.write_observations(s, [good, figure], source="a", actor="t", today=TODAY)
            [problem] = caught.value.details
            assert (problem.row, problem.field) == (1, field) and words in problem.message
            assert (await s.execute(text("SELECT count(*) FROM observations"))).scalar_one() == 0
            # A collector (partial) rejects the row and writes the rest.
            result = await chunked(s, "export", [good, figure])
            assert result.inserted == 1
            assert (await s.execute(text("SELECT count(*) FROM observations"))).scalar_one() == 1
            await assert_in_step(s)

    async def test_two_large_counts_in_a_month_cannot_overflow(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            rows = [ObservationIn("QS-01", org, MAY[0], value=1e308) for org in (FUQIANG, XINGFU)]
            with pytest.raises(InvalidInput) as caught:
                await observation_store.write_observations(s, rows, source="a", actor="t", today=TODAY)
            assert [p.row for p in caught.value.details] == [0, 1]

    async def test_the_global_bound_and_an_indicators_own(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await s.execute(text("UPDATE indicators SET max_figure = 100 WHERE code = 'QS-01'"))
            over = [ObservationIn("QS-01", FUQIANG, MAY[0], value=101), fig(FUQIANG, MAY[0], 260, 100, "QS-11")]
            with pytest.raises(InvalidInput) as caught:
                await observation_store.write_observations(s, over, source="a", actor="t", today=TODAY,
                                                           max_figure=200)
            assert [(p.row, p.field, p.message) for p in caught.value.details] == [
                (0, "value", "value 101 is above the largest figure accepted for 'QS-01' (100)"),
                (1, "numerator", "numerator 260 is above the largest figure accepted for 'QS-11' (200)"),
            ]
            ok = [ObservationIn("QS-01", FUQIANG, MAY[0], value=100), fig(FUQIANG, MAY[0], 200, 100, "QS-11")]
            written = await observation_store.write_observations(s, ok, source="a", actor="t", today=TODAY,
                                                                 max_figure=200)
            assert written.inserted == 2
