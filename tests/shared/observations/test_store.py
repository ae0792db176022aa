"""write_observations and the roll-up SQL hold on both backends (PostgreSQL and SQLite)."""

import asyncio
from datetime import date

import pytest

from services.api.deps import Database
from shared.core.errors import InvalidInput
from shared.core.periods import parse_period
from shared.indicators import store as indicator_store
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.org_units import store as org_store
from shared.values import rollup
from tests.builders import FUQIANG, QINGSHAN, XINGFU

TODAY = date(2022, 6, 30)


class TestWriteObservations:
    async def test_merge_counts_history_and_rollup(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            rows = [
                ObservationIn("QS-07", FUQIANG, date(2022, 5, 31), 1, 2),
                ObservationIn("QS-07", XINGFU, date(2022, 5, 31), 90, 100),
            ]
            first = await observation_store.write_observations(s, rows, source="t", actor="t", today=TODAY)
            assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
            rows[0] = ObservationIn("QS-07", FUQIANG, date(2022, 5, 31), 2, 2)
            second = await observation_store.write_observations(s, rows, source="t", actor="t", today=TODAY)
            assert (second.inserted, second.updated, second.unchanged) == (0, 1, 1)
            ind = await indicator_store.get_by_code(s, "QS-07")
            root = await org_store.get_by_code(s, QINGSHAN)
            basis = (
                await rollup.rollup(
                    s,
                    indicator_id=ind.id,
                    time_aggregation="last",
                    rollup_rule="sum",
                    root_ids=[root.id],
                    period=parse_period("2022Q2"),
                )
            )[root.id]
            assert (basis.numerator, basis.denominator, basis.units_reporting) == (92, 102, 2)

    async def test_partial_writes_good_rows_and_returns_problems(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            rows = [
                ObservationIn("QS-07", FUQIANG, date(2022, 5, 31), 1, 2),
                ObservationIn("QS-07", "150204999000", date(2022, 5, 31), 1, 2),
            ]
            with pytest.raises(InvalidInput):
                await observation_store.write_observations(s, rows, source="t", actor="t", today=TODAY)
            result = await observation_store.write_observations(
                s, rows, source="t", actor="t", today=TODAY, partial=True
            )
            assert result.inserted == 1 and [p.row for p in result.rejected] == [1]


class TestConcurrentWriters:
    async def test_writers_of_one_indicator_take_turns_without_deadlock(self, committed_database: Database) -> None:
        streets = [f"150204{n:03d}000" for n in range(1, 9)]

        async def write(org: str) -> None:
            async with committed_database.sessions() as s, s.begin():
                rows = [ObservationIn("QS-07", org, date(2022, 5, d), d, 40) for d in range(1, 29)]
                await observation_store.write_observations(s, rows, source=org, actor=org, today=TODAY)

        await asyncio.gather(*[write(org) for org in streets])
        async with committed_database.sessions() as s:
            ind = await indicator_store.get_by_code(s, "QS-07")
            root = (await org_store.get_by_code(s, QINGSHAN)).id
            basis, _ = await rollup.rolled_up(
                s,
                indicator_id=ind.id,
                time_aggregation="last",
                rollup_rule="sum",
                root_ids=[root],
                period=parse_period("2022-05"),
            )
        assert (basis[root].numerator, basis[root].denominator, basis[root].units_reporting) == (28 * 8, 40 * 8, 8)
