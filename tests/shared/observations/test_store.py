"""write_observations and the roll-up SQL hold on both backends (PostgreSQL and SQLite)."""

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from services.api.deps import Database
from shared.core.errors import InvalidInput
from shared.core.periods import parse_period
from shared.indicators import store as indicator_store
from shared.observations import preaggregate
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.org_units import store as org_store
from shared.values import rollup
from tests.builders import FUQIANG, QINGSHAN, XINGFU
from tests.plans import statements

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


async def current(s, org: str, day: date) -> tuple[float | None, float | None] | None:
    ind = await indicator_store.get_by_code(s, "QS-07")
    unit = await org_store.get_by_code(s, org)
    found = await s.execute(
        text("SELECT numerator, denominator FROM observations "
             "WHERE indicator_id = :i AND org_id = :o AND obs_date = :d"),
        {"i": ind.id, "o": unit.id, "d": day},
    )
    row = found.one_or_none()
    return None if row is None else (row[0], row[1])


async def month_total(s, org: str) -> tuple[float, float, int]:
    ind = await indicator_store.get_by_code(s, "QS-07")
    root = await org_store.get_by_code(s, org)
    found = await rollup.rollup(s, indicator_id=ind.id, time_aggregation="last", rollup_rule="sum",
                                root_ids=[root.id], period=parse_period("2022-05"))
    basis = found.get(root.id)
    return (0, 0, 0) if basis is None else (basis.numerator, basis.denominator, basis.units_reporting)


class TestChunkedWriter:
    """A collector writes an export in chunks; a key repeated in a later chunk is an in-file duplicate."""

    async def write_chunks(self, s, *chunks: list[tuple[ObservationIn, int]]) -> observation_store.WriteResult:
        writer = await observation_store.FigureWriter.open(
            s, source="export", actor="collector:t", today=TODAY, partial=True, chunked=True, indicators=["QS-07"]
        )
        rejected = []
        for chunk in chunks:
            rejected += await writer.write(writer.prepare([item for item, _ in chunk], [row for _, row in chunk]))
        result = await writer.finish()
        result.rejected = sorted(rejected, key=lambda p: p.row)  # a chunked write returns them chunk by chunk
        return result

    async def test_exact_repeat_in_a_later_chunk_is_skipped(self, any_database: Database) -> None:
        day = date(2022, 5, 31)
        async with any_database.sessions() as s:
            fuqiang = ObservationIn("QS-07", FUQIANG, day, 80, 100)
            result = await self.write_chunks(
                s, [(fuqiang, 3), (ObservationIn("QS-07", XINGFU, day, 9, 10), 4)], [(fuqiang, 9)]
            )
            assert (result.inserted, result.updated, result.unchanged, result.duplicates) == (2, 0, 0, 1)
            assert result.duplicate_rows == {9} and result.rejected == []
            assert await month_total(s, QINGSHAN) == (89, 110, 2)

    async def test_conflicting_rows_in_two_chunks_are_both_rejected_and_the_earlier_withdrawn(
        self, any_database: Database
    ) -> None:
        day = date(2022, 5, 31)
        async with any_database.sessions() as s:
            before = await observation_store.write_observations(
                s, [ObservationIn("QS-07", FUQIANG, day, 50, 100)], source="earlier", actor="t", today=TODAY
            )
            assert before.inserted == 1
            result = await self.write_chunks(
                s,
                [(ObservationIn("QS-07", FUQIANG, day, 80, 100), 3), (ObservationIn("QS-07", XINGFU, day, 9, 10), 4)],
                [(ObservationIn("QS-07", FUQIANG, day, 85, 100), 7)],
                [(ObservationIn("QS-07", FUQIANG, day, 80, 100), 12)],  # a third row cannot revive it
            )
            assert [(p.row, p.message) for p in result.rejected] == [
                (3, "conflicts with row 7: same indicator, unit and date, different values; both rows rejected"),
                (7, "conflicts with row 3: same indicator, unit and date, different values; both rows rejected"),
                (12, "conflicts with row 7: same indicator, unit and date, different values; rejected"),
            ]
            # 富强路 keeps the figure it had before this write; only 幸福路's new figure was written.
            assert (result.inserted, result.updated, result.duplicates) == (1, 0, 0)
            assert await current(s, FUQIANG, day) == (50, 100)
            assert await observation_store.history_of(s, indicator_id=(await indicator_store.get_by_code(
                s, "QS-07")).id, org_id=(await org_store.get_by_code(s, FUQIANG)).id, day=day) == []
            assert await month_total(s, QINGSHAN) == (59, 110, 2)

    async def test_a_conflict_on_a_new_key_leaves_no_figure(self, any_database: Database) -> None:
        day = date(2022, 5, 30)
        async with any_database.sessions() as s:
            result = await self.write_chunks(
                s, [(ObservationIn("QS-07", FUQIANG, day, 80, 100), 2)],
                [(ObservationIn("QS-07", FUQIANG, day, 81, 100), 5)],
            )
            assert (result.inserted, result.updated) == (0, 0) and [p.row for p in result.rejected] == [2, 5]
            assert await current(s, FUQIANG, day) is None
            assert await month_total(s, FUQIANG) == (0, 0, 0)


class TestManyConflicts:
    """Conflicting repeats are settled as a set: an export with thousands of them costs what one costs (each was
    settled by itself, with three look-ups in observation_history that read the whole table: 500 conflicts over a
    1 M-row history took 67 s)."""

    DAYS = [date(2021, 1, 1) + timedelta(days=n) for n in range(300)]

    async def conflicting_export(self, s, conflicts: int) -> observation_store.WriteResult:
        """Keys stored before (the first third), and new ones; the export sends each twice, differently."""
        await observation_store.write_observations(
            s, [ObservationIn("QS-07", FUQIANG, d, 40, 100) for d in self.DAYS[: conflicts // 3]],
            source="earlier", actor="t", today=TODAY)
        first = [ObservationIn("QS-07", FUQIANG, d, 50, 100) for d in self.DAYS[:conflicts]]
        later = [ObservationIn("QS-07", FUQIANG, d, 51, 100) for d in self.DAYS[:conflicts]]
        return await TestChunkedWriter().write_chunks(
            s, [(item, n) for n, item in enumerate(first)], [(item, 1000 + n) for n, item in enumerate(later)]
        )

    async def test_the_statements_do_not_grow_with_the_conflicts(self, any_database: Database) -> None:
        sent = {}
        for conflicts in (3, 300):
            async with any_database.sessions() as s:
                with statements(any_database) as seen:
                    result = await self.conflicting_export(s, conflicts)
                await s.rollback()
            sent[conflicts] = len(seen)
            assert len(result.rejected) == 2 * conflicts
            assert (result.inserted, result.updated, result.unchanged) == (0, 0, 0)
        assert sent[300] == sent[3]

    async def test_every_figure_is_as_before_and_the_months_agree(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            result = await self.conflicting_export(s, 300)
            ind = (await indicator_store.get_by_code(s, "QS-07")).id
            org = (await org_store.get_by_code(s, FUQIANG)).id
            stored = await s.execute(
                text("SELECT numerator, count(*) FROM observations WHERE indicator_id = :i AND org_id = :o "
                     "AND obs_date BETWEEN :a AND :b GROUP BY numerator"),
                {"i": ind, "o": org, "a": self.DAYS[0], "b": self.DAYS[-1]},
            )
            assert dict(stored.all()) == {40: 100}  # the figures stored before; none of the export's
            assert await observation_store.history_of(s, indicator_id=ind, org_id=org, day=self.DAYS[0]) == []
            assert [(p.row, p.message) for p in result.rejected[:2]] == [
                (0, "conflicts with row 1000: same indicator, unit and date, different values; both rows rejected"),
                (1, "conflicts with row 1001: same indicator, unit and date, different values; both rows rejected"),
            ]
            assert await preaggregate.check(s) == []


    async def test_withdrawing_looks_figures_and_history_up_by_index(self, database: Database) -> None:
        """Each statement that withdraws finds its rows by an index, in observations and observation_history
        alike (with sequential scans switched off, a statement no index can serve still shows one)."""
        async with database.sessions() as s:
            await observation_store.FigureWriter.open(s, source="e", actor="t", today=TODAY, chunked=True)
            await s.execute(text(f"INSERT INTO {observation_store.WITHDRAWING} VALUES (1, 1, '2022-05-01', 1)"))
            await s.execute(text("SET LOCAL enable_seqscan = off"))
            for statement in (observation_store._WITHDRAW_RESTORE, observation_store._WITHDRAW_HISTORY,
                              observation_store._WITHDRAW_NEW):
                plan = (await s.execute(text(f"EXPLAIN {statement}"), {"write_id": 1})).scalars().all()
                scans = [line for line in plan if "Seq Scan on observation" in line]
                assert scans == [], (statement, plan)


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


class TestRebuildBesideWriters:
    async def test_a_rollup_rebuild_waits_for_a_push_under_way(self, committed_database: Database) -> None:
        """An org-tree change rebuilds every region row while a push keeps them in step by difference: the
        rebuild waits for the push's commit (before, it deleted what it saw, then met the push's new region
        row: a duplicate key), and the rows agree with the raw figures after both."""
        async with committed_database.sessions() as s, s.begin():
            await observation_store.write_observations(
                s, [ObservationIn("QS-07", FUQIANG, date(2022, 5, 2), 1, 2)], source="a", actor="t", today=TODAY)

        async def rebuild() -> None:
            async with committed_database.sessions() as r, r.begin():
                await preaggregate.rebuild_all_rollups(r)

        async with committed_database.sessions() as s:
            await s.begin()
            # a correction (region rows the push changes) and a new month (region rows it inserts)
            await observation_store.write_observations(
                s, [ObservationIn("QS-07", FUQIANG, date(2022, 5, 2), 2, 2),
                    ObservationIn("QS-07", XINGFU, date(2022, 6, 1), 3, 4)], source="b", actor="t", today=TODAY)
            rebuilding = asyncio.create_task(rebuild())
            await asyncio.sleep(0.5)
            assert not rebuilding.done()  # waiting for the push
            await s.commit()
        await asyncio.wait_for(rebuilding, 30)
        async with committed_database.sessions() as s:
            assert await preaggregate.check(s) == []
            assert (await s.execute(text("SELECT count(*) FROM rollup_months WHERE month = '2022-06-01'"))).scalar()
