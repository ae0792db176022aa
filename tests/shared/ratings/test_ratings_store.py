"""write_ratings, set_followup and overdue hold on both backends (PostgreSQL and SQLite)."""

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import Database
from shared.access.models import AuditEntry
from shared.core.clock import SHANGHAI
from shared.core.errors import InvalidInput, NotFound
from shared.core.settings import RatingSettings
from shared.indicators.models import Indicator
from shared.observations.models import Observation
from shared.org_units.models import OrgUnit
from shared.ratings import store as rating_store
from shared.ratings.models import Rating
from shared.ratings.types import RatingIn
from tests.builders import FUQIANG, QINGSHAN, XINGFU

SETTINGS = RatingSettings()  # 100/80/60/40/20 分, 15 working days
SHIGUAI = "150205000000"  # 石拐区: outside 青山区
DAY = date(2022, 6, 1)
TODAY = date(2022, 6, 30)


def rating(rating_id: str, level: int, *, org: str = FUQIANG, at: datetime | None = None) -> RatingIn:
    return RatingIn(rating_id=rating_id, org=org, service_item="居民身份证换领", channel="窗口评价器", level=level,
                    rated_at=at or datetime(2022, 6, 1, 10, 30), named=False)


async def write(s: AsyncSession, ratings: list[RatingIn], today: date = TODAY) -> rating_store.RatingWriteResult:
    return await rating_store.write_ratings(s, ratings, source="hcp-test", actor="tests", settings=SETTINGS,
                                            today=today)


async def figures(s: AsyncSession, org: str = FUQIANG, day: date = DAY) -> dict[str, tuple[float | None, ...]]:
    rows = await s.execute(
        select(Indicator.code, Observation.numerator, Observation.denominator, Observation.value)
        .join(Indicator, Indicator.id == Observation.indicator_id).join(OrgUnit, OrgUnit.id == Observation.org_id)
        .where(OrgUnit.code == org, Observation.obs_date == day))
    return {code: (n, d, v) for code, n, d, v in rows}


async def stored(s: AsyncSession, rating_id: str) -> Rating:
    return (await s.execute(select(Rating).where(Rating.rating_id == rating_id))).scalar_one()


class TestWriteRatings:
    async def test_stores_ratings_and_derives_the_days_figures(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            result = await write(s, [rating("A1", 5), rating("A2", 5), rating("A3", 4), rating("A4", 2)])
            assert (result.inserted, result.already_known, result.rejected) == (4, 0, [])
            assert (result.figures.inserted, result.figures.updated) == (4, 0)
            # (100 + 100 + 80 + 40) / 4 = 80 分; 好评 3/4 = 75 %; 差评 1/4 = 25 %; 4 ratings.
            assert await figures(s) == {"QS-11": (320, 4, 80), "HCP-GOOD": (3, 4, 75), "HCP-BAD": (1, 4, 25),
                                        "HCP-COUNT": (None, None, 4)}
            first = await stored(s, "A1")
            assert (first.rating_date, first.level, first.source, first.followup_state) == (DAY, 5, "hcp-test",
                                                                                          None)
            # SQLite keeps no offset; PostgreSQL stores the instant.
            if (await s.connection()).dialect.name == "postgresql":
                assert first.rated_at == datetime(2022, 6, 1, 10, 30, tzinfo=SHANGHAI)
                assert first.rated_at.utcoffset() is not None

    async def test_aware_time_is_taken_in_shanghai_for_the_day(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            # 2022-05-31 20:00 UTC is 2022-06-01 04:00 in Shanghai: the rating belongs to June 1.
            await write(s, [rating("TZ", 5, at=datetime.fromisoformat("2022-05-31T20:00:00+00:00"))])
            assert (await stored(s, "TZ")).rating_date == DAY

    async def test_same_ids_again_are_already_known_and_change_nothing(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("B1", 5), rating("B2", 1)])
            before = await figures(s)
            again = await write(s, [rating("B1", 5), rating("B2", 1)])
            assert (again.inserted, again.already_known, again.rejected, again.corrected) == (0, 2, [], [])
            assert (again.figures.inserted, again.figures.updated, again.figures.unchanged) == (0, 0, 0)
            assert await figures(s) == before
            assert (await stored(s, "B1")).level == 5

    async def test_a_corrected_rating_replaces_the_stored_one_and_recounts_its_days(self, any_database) -> None:
        # A re-export where A1 went from 非常满意 to 非常不满意 (was: ignored as already known, figures stale).
        async with any_database.sessions() as s:
            await write(s, [rating("A1", 5), rating("A2", 4)])
            result = await write(s, [rating("A1", 1), rating("A2", 4)])
            assert (result.inserted, result.already_known, result.corrected) == (0, 1, [0])
            # (20 + 80) / 2 = 50 分; 好评 1/2; 差评 1/2.
            assert await figures(s) == {"QS-11": (100, 2, 50), "HCP-GOOD": (1, 2, 50), "HCP-BAD": (1, 2, 50),
                                        "HCP-COUNT": (None, None, 2)}
            a1 = await stored(s, "A1")
            assert (a1.level, a1.followup_state, a1.followup_due_date) == (1, "待核实", date(2022, 6, 23))
            # Moved to another unit and day and good again: both days recounted, the follow-up ended.
            moved = await write(s, [rating("A1", 5, org=XINGFU, at=datetime(2022, 6, 2, 9, 0))])
            assert moved.corrected == [0]
            assert (await figures(s))["QS-11"] == (80, 1, 80)
            assert (await figures(s, XINGFU, date(2022, 6, 2)))["QS-11"] == (100, 1, 100)
            a1 = await stored(s, "A1")
            assert (a1.followup_state, a1.followup_due_date, a1.rating_date) == (None, None, date(2022, 6, 2))
            entries = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "ratings")
                                       .order_by(AuditEntry.id))).scalars().all()
            assert entries[-1].after["corrected"] == [
                {"rating_id": "A1", "level": 1, "rating_date": "2022-06-01", "followup_state": "待核实"}]

    async def test_repeated_id_in_one_batch_is_stored_once(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            result = await write(s, [rating("C1", 5), rating("C1", 5)])
            assert (result.inserted, result.already_known) == (1, 1)
            assert (await figures(s))["HCP-COUNT"] == (None, None, 1)

    async def test_two_exports_for_one_day_add_up(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("D1", 5), rating("D2", 5)])
            assert (await figures(s))["QS-11"] == (200, 2, 100)
            second = await write(s, [rating("D3", 4), rating("D4", 2, at=datetime(2022, 6, 1, 17, 0))])
            assert second.figures.updated == 4
            assert await figures(s) == {"QS-11": (320, 4, 80), "HCP-GOOD": (3, 4, 75), "HCP-BAD": (1, 4, 25),
                                        "HCP-COUNT": (None, None, 4)}

    async def test_unknown_org_and_future_time_are_rejected_the_rest_stored(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            result = await write(s, [rating("E1", 5), rating("E2", 5, org="150204999000"),
                                     rating("E3", 5, at=datetime(2022, 7, 1, 9, 0)), rating("E4", 9)])
            assert [(p.row, p.field) for p in result.rejected] == [(1, "org"), (2, "rated_at"), (3, "level")]
            assert (result.inserted, result.already_known) == (1, 0)
            assert (await figures(s))["HCP-COUNT"] == (None, None, 1)
            assert await figures(s, day=date(2022, 7, 1)) == {}
            assert (await s.execute(select(Rating).where(Rating.rating_id.in_(["E2", "E3", "E4"])))).first() is None

    async def test_a_nul_character_rejects_its_rating_not_the_write(self, any_database: Database) -> None:
        # PostgreSQL text cannot hold NUL: before the check the whole write failed with a DataError (issue 9).
        async with any_database.sessions() as s:
            bad_item = RatingIn(rating_id="N2", org=FUQIANG, service_item="居民\x00身份证", channel="网站", level=5,
                                rated_at=datetime(2022, 6, 1, 10, 30), named=False)
            result = await write(s, [rating("N1", 5), rating("N\x003", 5), bad_item])
            assert [(p.row, p.field) for p in result.rejected] == [(1, "rating_id"), (2, "service_item")]
            assert all("NUL" in p.message for p in result.rejected)
            assert result.inserted == 1

    async def test_bad_rating_waits_for_verification_with_a_working_day_deadline(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("F1", 1, at=datetime(2022, 9, 30, 16, 0)), rating("F2", 3,
                        at=datetime(2022, 9, 30, 16, 0))], today=date(2022, 10, 31))
            bad, fair = await stored(s, "F1"), await stored(s, "F2")
            # 15 working days after Fri 2022-09-30 (National Day Oct 1–7 off, Sat/Sun Oct 8–9 worked):
            # Oct 8 (1), 9 (2), 10–14 (3–7), 17–21 (8–12), 24 (13), 25 (14), 26 (15).
            assert (bad.followup_state, bad.followup_due_date) == ("待核实", date(2022, 10, 26))
            assert (fair.followup_state, fair.followup_due_date) == (None, None)

    async def test_the_write_is_audited(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("G1", 5), rating("G2", 5, org="x")])
            entry = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "ratings"))).scalars().all()[-1]
            assert entry.after == {"inserted": 1, "already_known": 0, "rejected_rows": 1, "corrected": []}


class TestSetFollowup:
    async def test_moves_forward_stamps_done_and_audits(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("H1", 2)])
            await rating_store.set_followup(s, rating_id="H1", state="核实中", actor="clerk")
            assert (await stored(s, "H1")).followup_done_at is None
            done = await rating_store.set_followup(s, rating_id="H1", state="已整改", actor="clerk",
                                                   at=datetime(2022, 6, 8, 9, 0))
            assert done.followup_state == "已整改" and done.followup_done_at is not None
            entries = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "ratings",
                                                                AuditEntry.entity_key == "H1")
                                       .order_by(AuditEntry.id))).scalars().all()
            assert [(e.actor, e.before, (e.after or {})["state"]) for e in entries] == [
                ("clerk", {"state": "待核实"}, "核实中"), ("clerk", {"state": "核实中"}, "已整改")]
            assert (entries[-1].after or {})["done_at"].startswith("2022-06-08T09:00:00")

    async def test_cannot_go_back_nor_follow_up_a_good_rating(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("I1", 1), rating("I2", 4)])
            await rating_store.set_followup(s, rating_id="I1", state="已整改", actor="clerk")
            with pytest.raises(InvalidInput):
                await rating_store.set_followup(s, rating_id="I1", state="核实中", actor="clerk")
            with pytest.raises(InvalidInput):
                await rating_store.set_followup(s, rating_id="I2", state="核实中", actor="clerk")
            with pytest.raises(InvalidInput):
                await rating_store.set_followup(s, rating_id="I1", state="done", actor="clerk")
            with pytest.raises(NotFound):
                await rating_store.set_followup(s, rating_id="nope", state="核实中", actor="clerk")


class TestOverdue:
    async def test_lists_open_bad_ratings_past_their_deadline_within_a_subtree(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await write(s, [rating("J1", 1), rating("J2", 2, org=XINGFU), rating("J3", 1, org=SHIGUAI),
                            rating("J4", 1), rating("J5", 5),
                            rating("J6", 2, at=datetime(2022, 6, 2, 9, 0))])
            await rating_store.set_followup(s, rating_id="J4", state="已整改", actor="clerk")
            # 15 working days after Wed 2022-06-01 (Dragon Boat Festival Fri Jun 3 off) is Thu Jun 23;
            # J6 (Jun 2) is due Fri Jun 24.
            assert (await stored(s, "J1")).followup_due_date == date(2022, 6, 23)
            on_due_day = await rating_store.overdue(s, today=date(2022, 6, 23))
            assert [r.rating_id for r in on_due_day if r.rating_id.startswith("J")] == []
            late = await rating_store.overdue(s, today=date(2022, 6, 24))
            assert [r.rating_id for r in late if r.rating_id.startswith("J")] == ["J1", "J2", "J3"]
            district = await rating_store.overdue(s, today=date(2022, 6, 24), org=QINGSHAN)
            assert [r.rating_id for r in district if r.rating_id.startswith("J")] == ["J1", "J2"]
            street = await rating_store.overdue(s, today=date(2022, 6, 27), org=FUQIANG)
            assert [r.rating_id for r in street if r.rating_id.startswith("J")] == ["J1", "J6"]
            with pytest.raises(NotFound):
                await rating_store.overdue(s, today=TODAY, org="150204999000")


class TestNoPersonalData:
    def test_ratings_table_has_no_personal_data_column(self) -> None:
        # Whole words of the column name: `named` (是否实名, a yes/no) is not a person's name.
        personal = re.compile(r"(^|_)(评价人|姓名|电话|name|phone|mobile|tel|contact|id_?number|id_?card|email|address)"
                              r"(_|$)")
        names = [c.name.lower() for c in Rating.__table__.columns]
        assert "named" in names
        assert [n for n in names if personal.search(n)] == []
