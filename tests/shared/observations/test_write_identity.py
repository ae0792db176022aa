"""A write recognises its own rows by its id, never by the clock (issue 9.11), and a repeated key in a later
chunk is a conflict even when its first row equalled the stored figure (issue 9.2). Both backends."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from services.api.deps import Database
from shared.core import clock
from shared.indicators import store as indicator_store
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.org_units import store as org_store
from tests.builders import FUQIANG, XINGFU
from tests.shared.observations.test_preaggregates import assert_in_step, chunked

TODAY = date(2022, 6, 30)
DAY = date(2022, 5, 31)
FROZEN = datetime(2022, 6, 30, 12, 0, tzinfo=clock.SHANGHAI)


async def current(s, org: str) -> tuple[float, float, int | None] | None:  # type: ignore[no-untyped-def]
    ind = await indicator_store.get_by_code(s, "QS-07")
    unit = await org_store.get_by_code(s, org)
    row = (await s.execute(
        text("SELECT numerator, denominator, write_id FROM observations "
             "WHERE indicator_id = :i AND org_id = :o AND obs_date = :d"),
        {"i": ind.id, "o": unit.id, "d": DAY},
    )).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


class TestWriteIdentity:
    @pytest.fixture(autouse=True)
    def frozen_clock(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(clock, "now", lambda: FROZEN)

    async def test_two_pushes_from_one_source_at_the_same_instant(self, any_database: Database) -> None:
        write = observation_store.write_observations
        async with any_database.sessions() as s:
            first = await write(s, [ObservationIn("QS-07", FUQIANG, DAY, 50, 100)], source="push:p", actor="p",
                                today=TODAY)
            second = await write(s, [ObservationIn("QS-07", FUQIANG, DAY, 60, 100)], source="push:p", actor="p",
                                 today=TODAY)
            assert (first.inserted, second.updated, second.duplicates) == (1, 1, 0)
            now = await current(s, FUQIANG)
            assert now is not None and now[:2] == (60, 100)
            history = (await s.execute(text("SELECT numerator, write_id, replaced_write_id FROM "
                                            "observation_history"))).all()
            assert len(history) == 1 and history[0][0] == 50 and history[0][2] == now[2] != history[0][1]
            await assert_in_step(s)

    async def test_two_collector_runs_at_the_same_instant(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await chunked(s, "export", [ObservationIn("QS-07", FUQIANG, DAY, 50, 100)])
            # The second run's first chunk corrects the first run's figure; its second chunk repeats it.
            again = await chunked(s, "export", [ObservationIn("QS-07", FUQIANG, DAY, 70, 100)],
                                  [ObservationIn("QS-07", FUQIANG, DAY, 70, 100)])
            assert (again.inserted, again.updated, again.duplicates) == (0, 1, 1)
            assert (await current(s, FUQIANG) or ())[:2] == (70, 100)
            await assert_in_step(s)


class TestConflictingRepeat:
    async def test_first_row_equal_to_the_stored_figure_later_row_different(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await observation_store.write_observations(s, [ObservationIn("QS-07", FUQIANG, DAY, 50, 100)],
                                                       source="earlier", actor="t", today=TODAY)
            stored = await current(s, FUQIANG)
            writer = await observation_store.FigureWriter.open(s, source="export", actor="t", today=TODAY,
                                                               partial=True, chunked=True)
            rejected = await writer.write(writer.prepare(
                [ObservationIn("QS-07", FUQIANG, DAY, 50, 100), ObservationIn("QS-07", XINGFU, DAY, 9, 10)], [3, 4]))
            rejected += await writer.write(writer.prepare([ObservationIn("QS-07", FUQIANG, DAY, 85, 100)], [9]))
            rejected += await writer.write(writer.prepare([ObservationIn("QS-07", FUQIANG, DAY, 50, 100)], [12]))
            result = await writer.finish()
            assert sorted((p.row, p.message) for p in rejected) == [
                (3, "conflicts with row 9: same indicator, unit and date, different values; both rows rejected"),
                (9, "conflicts with row 3: same indicator, unit and date, different values; both rows rejected"),
                (12, "conflicts with row 9: same indicator, unit and date, different values; rejected"),
            ]
            # 富强路 keeps the stored figure, untouched; only 幸福路's new figure was written.
            assert (result.inserted, result.updated, result.unchanged, result.duplicates) == (1, 0, 0, 0)
            assert await current(s, FUQIANG) == stored
            assert (await s.execute(text("SELECT count(*) FROM observation_history"))).scalar_one() == 0
            await assert_in_step(s)

    async def test_an_exact_repeat_of_a_stored_figure_is_a_duplicate(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await observation_store.write_observations(s, [ObservationIn("QS-07", FUQIANG, DAY, 50, 100)],
                                                       source="earlier", actor="t", today=TODAY)
            result = await chunked(s, "export", [ObservationIn("QS-07", FUQIANG, DAY, 50, 100)],
                                   [ObservationIn("QS-07", FUQIANG, DAY, 50, 100)])
            assert (result.inserted, result.updated, result.unchanged, result.duplicates) == (0, 0, 1, 1)
            await assert_in_step(s)

    async def test_a_figure_written_beside_a_repeat_is_still_known_to_later_chunks(
        self, any_database: Database
    ) -> None:
        # Chunk 2 holds an exact repeat (settled after the merge) and a new figure: dropping the repeat from the
        # staged rows must not drop the new figure too, or chunk 3's conflicting row for it vanished unreported
        # (and, on SQLite, its month went stale).
        async with any_database.sessions() as s:
            writer = await observation_store.FigureWriter.open(s, source="export", actor="t", today=TODAY,
                                                               partial=True, chunked=True)
            rejected = await writer.write(writer.prepare([ObservationIn("QS-07", FUQIANG, DAY, 50, 100)], [1]))
            rejected += await writer.write(writer.prepare(
                [ObservationIn("QS-07", FUQIANG, DAY, 50, 100), ObservationIn("QS-07", XINGFU, DAY, 9, 10)], [2, 3]))
            rejected += await writer.write(writer.prepare([ObservationIn("QS-07", XINGFU, DAY, 8, 10)], [4]))
            result = await writer.finish()
            assert sorted((p.row, p.message) for p in rejected) == [
                (3, "conflicts with row 4: same indicator, unit and date, different values; both rows rejected"),
                (4, "conflicts with row 3: same indicator, unit and date, different values; both rows rejected"),
            ]
            assert (result.inserted, result.updated, result.unchanged, result.duplicates) == (1, 0, 0, 1)
            assert await current(s, XINGFU) is None  # withdrawn: it was new
            await assert_in_step(s)
