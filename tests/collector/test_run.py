"""ingest_once end to end on the sample exports: exact figures, skips, failures, locks, no personal data."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.deps import Database
from services.collector import mapping
from services.collector.run import LocalFile, ingest_once
from services.collector.sources import SourceConfig, load_sources
from shared.core.settings import Settings
from shared.ingest.models import IngestRun
from shared.observations.models import Observation, ObservationHistory
from tests.collector.exports import SAMPLES

QINGSHAN = "150204000000"


def source(source_id: str, **changes: object) -> SourceConfig:
    [found] = [s for s in load_sources(Settings().collector.sources_file) if s.id == source_id]
    return found.model_copy(update=changes) if changes else found


def sample(name: str) -> LocalFile:
    return LocalFile((SAMPLES / name).read_bytes(), name)


YICHUANG_HEADER = "统计月份,大厅名称,区划代码,依申请政务服务事项总数,纳入综合窗口办理事项数,一窗综合受理率\n"


async def ingest_local(
    database: Database, settings: Settings, client: httpx.AsyncClient, source_id: str, day: date, local: LocalFile
) -> IngestRun:
    return await ingest_once(
        database.sessions, source(source_id), day=day, settings=settings, client=client, local=local
    )


def yichuang_csv(*rows: str) -> LocalFile:
    return LocalFile((YICHUANG_HEADER + "".join(r + "\n" for r in rows)).encode("utf-8-sig"), "yichuang.csv")


@pytest.fixture
async def http() -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
        yield c


async def value(client: httpx.AsyncClient, indicator: str, org: str, period: str) -> dict:
    r = await client.get("/v1/values", params={"indicator": indicator, "org": org, "period": period})
    [v] = r.json()["values"]
    return v


class TestSamples:
    async def test_wangban_street_rate_for_the_day(self, database: Database, settings, http, client) -> None:
        run = await ingest_local(
            database, settings, http, "wangban", date(2022, 5, 31), sample("wangban_stats_2022-05-31.xlsx")
        )
        assert run.status == "succeeded", run.errors
        assert (run.rows_read, run.rows_rejected, run.inserted) == (10, 0, 20)
        v = await value(client, "QS-07", "150204004000", "2022-05-31")  # 富强路街道: 1010 / 1281
        assert (v["numerator"], v["denominator"]) == (1010, 1281)
        assert v["value"] == pytest.approx(100 * 1010 / 1281)
        total = await value(client, "QS-07", QINGSHAN, "2022-05-31")  # the 合计 row is not a unit …
        assert (total["numerator"], total["denominator"]) == (9534, 11126)  # … but the streets add up to it

    async def test_yichuang_month_rolled_up_for_qingshan(self, database, settings, http, client) -> None:
        run = await ingest_local(
            database, settings, http, "yichuang", date(2022, 5, 1), sample("yichuang_stats_2022-05.csv")
        )
        assert run.status == "succeeded", run.errors
        v = await value(client, "QS-08", QINGSHAN, "2022-05")
        num = 398 + 421 + 380 + 619 + 369 + 311
        den = 491 + 503 + 469 + 655 + 377 + 371
        assert (v["numerator"], v["denominator"]) == (num, den) and v["units_reporting"] == 6
        assert v["value"] == pytest.approx(100 * num / den)

    async def test_haochaping_average_for_a_unit(self, database, settings, http, client) -> None:
        run = await ingest_local(
            database, settings, http, "haochaping", date(2022, 5, 31), sample("haochaping_detail_2022-05-31.csv")
        )
        assert run.status == "succeeded", run.errors
        points = {"非常满意": 100, "满意": 80, "基本满意": 60, "不满意": 40, "非常不满意": 20}
        rows = list(
            csv.DictReader(
                io.StringIO(
                    (SAMPLES / "haochaping_detail_2022-05-31.csv").read_bytes().decode("gb18030").split("\n", 1)[1]
                )
            )
        )
        mine = [points[r["评价等级"]] for r in rows if r.get("区划代码") == "150204005000"]
        v = await value(client, "QS-11", "150204005000", "2022-05-31")
        assert v["denominator"] == len(mine) and v["value"] == pytest.approx(sum(mine) / len(mine))

    async def test_no_personal_data_reaches_the_database(self, database, settings, http) -> None:
        await ingest_local(
            database, settings, http, "haochaping", date(2022, 5, 31), sample("haochaping_detail_2022-05-31.csv")
        )
        text_ = (SAMPLES / "haochaping_detail_2022-05-31.csv").read_bytes().decode("gb18030")
        rows = list(csv.DictReader(io.StringIO(text_.split("\n", 1)[1])))
        personal = {r[c].strip() for r in rows for c in ("评价人", "联系电话", "评价内容") if r.get(c, "").strip()}
        assert personal
        async with database.sessions() as s:
            tables = (
                (
                    await s.execute(
                        text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                    )
                )
                .scalars()
                .all()
            )
            dump = ""
            for t in tables:
                dump += str((await s.execute(text(f'SELECT * FROM "{t}"'))).all())
        leaked = [p for p in personal if p in dump]
        assert leaked == []


class TestRunOutcomes:
    async def test_same_export_twice_is_skipped(self, database, settings, http) -> None:
        args = dict(
            day=date(2022, 5, 31), settings=settings, client=http, local=sample("wangban_stats_2022-05-31.xlsx")
        )
        first = await ingest_once(database.sessions, source("wangban"), **args)
        second = await ingest_once(database.sessions, source("wangban"), **args)
        assert first.status == "succeeded" and second.status == "skipped"
        assert f"run {first.id}" in second.message and second.inserted == second.updated == 0

    async def test_garbage_file_fails_and_writes_nothing(self, database, settings, http) -> None:
        run = await ingest_local(
            database,
            settings,
            http,
            "wangban",
            date(2022, 5, 31),
            LocalFile(b"PK\x03\x04 this is not a workbook", "x.xlsx"),
        )
        assert run.status == "failed" and run.message
        async with database.sessions() as s:
            assert (await s.execute(select(Observation))).first() is None

    async def test_a_figure_above_the_configured_bound_is_rejected(self, database, settings, http) -> None:
        from shared.core.settings import ObservationSettings

        bounded = settings.model_copy(update={"observations": ObservationSettings(max_figure=450)})
        local = yichuang_csv(
            "2022-05,青山区政务服务中心,150204000000,491,398,81.06%",
            "2022-05,青山区政务服务中心,150204001000,400,300,75.00%",
        )
        run = await ingest_local(database, bounded, http, "yichuang", date(2022, 5, 1), local)
        assert run.rows_rejected == 1 and run.inserted == 1, run.errors
        assert run.errors[0]["row"] == 2 and "450" in run.errors[0]["message"]

    async def test_a_fractional_item_count_is_rejected_others_kept(self, database, settings, http) -> None:
        local = yichuang_csv("2022-05,青山区政务服务中心,150204000000,491.5,398,80.98%",
                             "2022-05,富强路街道便民服务中心,150204004000,503,421,83.70%")
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and run.rows_rejected == 1 and run.inserted == 1, run.errors
        [err] = run.errors
        assert err["row"] == 2 and "491.5 is not a whole number" in err["message"], err

    async def test_unknown_unit_row_is_rejected_others_kept(self, database, settings, http) -> None:
        local = yichuang_csv(
            "2022-05,青山区政务服务中心,150204000000,491,398,81.06%", "2022-05,不存在的大厅,150204999000,100,50,50.00%"
        )
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and run.rows_rejected == 1 and run.inserted == 1
        [err] = run.errors
        assert err["row"] == 3 and "150204999000" in err["message"]

    async def test_source_down_retries_then_fails(self, database, settings) -> None:
        calls = []

        def down(request: httpx.Request) -> httpx.Response:
            calls.append(request.url)
            return httpx.Response(503)

        async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as client:
            run = await ingest_once(
                database.sessions,
                source("wangban", retries=2),
                day=date(2022, 5, 31),
                settings=settings,
                client=client,
                backoff_seconds=0.001,
            )
        assert run.status == "failed" and "HTTP 503 after 3 tries" in run.message and len(calls) == 3
        assert run.failure == "fetch"

    async def test_not_modified_uses_conditional_get(self, database, settings) -> None:
        body = (SAMPLES / "wangban_stats_2022-05-31.xlsx").read_bytes()
        seen_headers = []

        def platform(request: httpx.Request) -> httpx.Response:
            seen_headers.append(request.headers.get("If-None-Match"))
            if request.headers.get("If-None-Match") == '"v1"':
                return httpx.Response(304)
            return httpx.Response(200, content=body, headers={"ETag": '"v1"'})

        async with httpx.AsyncClient(transport=httpx.MockTransport(platform)) as client:
            kw = dict(day=date(2022, 5, 31), settings=settings, client=client)
            assert (await ingest_once(database.sessions, source("wangban"), **kw)).status == "succeeded"
            assert (await ingest_once(database.sessions, source("wangban"), **kw)).status == "not_modified"
        assert seen_headers == [None, '"v1"']

    async def test_two_collectors_at_once(self, database, settings, http, pg_engine: AsyncEngine) -> None:
        async with pg_engine.connect() as other:
            await other.execute(text("SELECT pg_advisory_lock(hashtextextended('ingest:wangban', 0))"))
            run = await ingest_local(
                database, settings, http, "wangban", date(2022, 5, 31), sample("wangban_stats_2022-05-31.xlsx")
            )
            await other.execute(text("SELECT pg_advisory_unlock_all()"))
        assert run.status == "busy" and run.inserted == 0


class TestCorrections:
    async def test_corrected_export_replaces_and_keeps_history(self, database, settings, http) -> None:
        first = yichuang_csv("2022-05,青山区政务服务中心,150204000000,491,398,81.06%")
        fixed = yichuang_csv("2022-05,青山区政务服务中心,150204000000,491,400,81.47%")
        for local in (first, fixed):
            run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
            assert run.status == "succeeded", run.errors
        assert (run.inserted, run.updated) == (0, 1)
        async with database.sessions() as s:
            [old] = (await s.execute(select(ObservationHistory))).scalars().all()
            current = (await s.execute(select(Observation))).scalars().one()
        assert (old.numerator, current.numerator) == (398, 400) and old.replaced_by == "collector:yichuang"


    async def test_a_corrected_ratings_export_replaces_the_rating_and_recounts(self, database, settings, http,
                                                                              client) -> None:
        text_ = (SAMPLES / "haochaping_detail_2022-05-31.csv").read_bytes().decode("gb18030")
        title, header, *rows = text_.split("\r\n")
        cols = header.split(",")
        level, code = cols.index("评价等级"), cols.index("区划代码")
        mine = [i for i, r in enumerate(rows) if r and r.split(",")[code] == "150204005000"]
        # The platform corrects one of 科学路's ratings to 非常不满意 and exports the day again.
        changed = rows[mine[0]].split(",")
        was = changed[level]
        changed[level] = "满意" if was == "非常不满意" else "非常不满意"
        fixed = [*rows[:mine[0]], ",".join(changed), *rows[mine[0] + 1:]]
        corrected = LocalFile("\r\n".join([title, header, *fixed]).encode("gb18030"), "hcp.csv")
        day = date(2022, 5, 31)
        await ingest_local(database, settings, http, "haochaping", day, sample("haochaping_detail_2022-05-31.csv"))
        run = await ingest_local(database, settings, http, "haochaping", day, corrected)
        assert run.status == "succeeded" and run.errors == []
        assert [w["row"] for w in run.warnings if "replaces the rating" in w["message"]] == [mine[0] + 3]
        points = {"非常满意": 100, "满意": 80, "基本满意": 60, "不满意": 40, "非常不满意": 20}
        now = [points[r.split(",")[level]] for r in fixed if r and r.split(",")[code] == "150204005000"]
        v = await value(client, "QS-11", "150204005000", "2022-05-31")
        assert (v["numerator"], v["denominator"]) == (sum(now), len(now)) and run.updated >= 1


class TestSubtotalRows:
    async def test_a_district_row_adding_up_its_streets_is_not_stored_as_its_own(
        self, database, settings, http, client
    ) -> None:
        # 青山区's row is 富强路 + 幸福路 (972 = 503 + 469, 801 = 421 + 380): stored, the district would count twice.
        local = yichuang_csv("2022-05,青山区,150204000000,972,801,82.41%",
                             "2022-05,富强路街道便民服务中心,150204004000,503,421,83.70%",
                             "2022-05,幸福路街道便民服务中心,150204002000,469,380,81.02%")
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and (run.rows_read, run.rows_skipped, run.inserted) == (2, 1, 2), run.errors
        [warning] = run.warnings
        assert warning["row"] == 2 and "read as a subtotal" in warning["message"] and "2 units" in warning["message"]
        v = await value(client, "QS-08", QINGSHAN, "2022-05")
        assert (v["numerator"], v["denominator"], v["units_reporting"]) == (801, 972, 2)

    async def test_a_district_hall_with_figures_of_its_own_is_stored(self, database, settings, http, client) -> None:
        local = yichuang_csv("2022-05,青山区政务服务中心,150204000000,491,398,81.06%",
                             "2022-05,富强路街道便民服务中心,150204004000,0,0,",
                             "2022-05,幸福路街道便民服务中心,150204002000,491,398,81.06%")
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and run.inserted == 3 and run.warnings == [], run.warnings
        # Nothing counted in the district and its streets alike is not a subtotal either.
        zeros = yichuang_csv("2022-06,青山区政务服务中心,150204000000,0,0,", "2022-06,富强路街道,150204004000,0,0,",
                             "2022-06,幸福路街道,150204002000,0,0,")
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 6, 1), zeros)
        assert run.status == "succeeded" and run.inserted == 3, run.errors
        v = await value(client, "QS-08", QINGSHAN, "2022-05")
        assert (v["numerator"], v["denominator"], v["units_reporting"]) == (796, 982, 3)


class TestSqliteConcurrency:
    async def test_two_sources_at_once_do_not_deadlock(self, tmp_path, settings) -> None:
        from shared.core import migrations
        from shared.core.db import make_engine, make_sessionmaker
        from shared.core.settings import DatabaseSettings
        from shared.seeds import load as seed_load

        url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
        await asyncio.to_thread(migrations.upgrade, url)
        engine = make_engine(DatabaseSettings(url=url), "t")
        sessions = make_sessionmaker(engine)
        async with sessions() as s, s.begin():
            await seed_load.load_all(s)
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as http:
            runs = await asyncio.gather(
                *[
                    ingest_once(sessions, source(sid), day=day, settings=settings, client=http, local=sample(name))
                    for sid, day, name in (
                        ("wangban", date(2022, 5, 31), "wangban_stats_2022-05-31.xlsx"),
                        ("yichuang", date(2022, 5, 1), "yichuang_stats_2022-05.csv"),
                        ("haochaping", date(2022, 5, 31), "haochaping_detail_2022-05-31.csv"),
                    )
                ]
            )
        await engine.dispose()
        assert [r.status for r in runs] == ["succeeded"] * 3, [r.message for r in runs]


class TestDatabaseDown:
    async def test_run_fails_cleanly_when_the_database_is_unreachable(self, settings, http) -> None:
        from shared.core.db import make_engine, make_sessionmaker
        from shared.core.settings import DatabaseSettings

        engine = make_engine(DatabaseSettings(url="postgresql+psycopg://nobody@127.0.0.1:1/none"), "t")
        try:
            run = await ingest_once(
                make_sessionmaker(engine),
                source("wangban"),
                day=date(2022, 5, 31),
                settings=settings,
                client=http,
                local=sample("wangban_stats_2022-05-31.xlsx"),
            )
        finally:
            await engine.dispose()
        assert run.status == "failed" and run.id is None and run.failure == "database"
        assert run.message.startswith("the database is unreachable") and "Error" not in run.message


class TestChunkedWrites:
    async def test_rejected_rows_keep_their_file_row_numbers_across_chunks(
        self, database, settings, http, monkeypatch
    ) -> None:
        monkeypatch.setattr(mapping, "CHUNK_ROWS", 1)
        local = yichuang_csv(
            "2022-05,青山区政务服务中心,150204000000,491,398,81.06%",
            "2022-05,富强路街道便民服务中心,150204004000,503,421,83.70%",
            "2022-05,不存在的大厅,150204999000,100,50,50.00%",
        )
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and (run.inserted, run.rows_accepted, run.rows_rejected) == (2, 2, 1)
        assert [e["row"] for e in run.errors] == [4]

    async def test_a_row_repeated_in_a_later_chunk_is_skipped(self, database, settings, http, monkeypatch) -> None:
        monkeypatch.setattr(mapping, "CHUNK_ROWS", 2)
        repeated = "2022-05,富强路街道便民服务中心,150204004000,503,421,83.70%"
        local = yichuang_csv("2022-05,青山区政务服务中心,150204000000,491,398,81.06%", repeated, repeated)
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and run.errors == []
        assert (run.rows_read, run.rows_accepted, run.rows_skipped, run.inserted, run.unchanged) == (3, 2, 1, 2, 0)

    async def test_conflicting_rows_in_two_chunks_are_both_rejected(
        self, database, settings, http, monkeypatch
    ) -> None:
        earlier = yichuang_csv("2022-05,富强路街道便民服务中心,150204004000,503,400,79.52%")
        assert (await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), earlier)).inserted == 1
        monkeypatch.setattr(mapping, "CHUNK_ROWS", 2)
        local = yichuang_csv(
            "2022-05,青山区政务服务中心,150204000000,491,398,81.06%",
            "2022-05,富强路街道便民服务中心,150204004000,503,421,83.70%",
            "2022-05,富强路街道便民服务中心,150204004000,503,430,85.49%",
        )
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and [e["row"] for e in run.errors] == [3, 4]
        assert "conflicts with row 4" in run.errors[0]["message"]
        assert (run.rows_accepted, run.rows_rejected, run.inserted, run.updated) == (1, 2, 1, 0)
        async with database.sessions() as s:
            kept = await s.scalar(select(Observation.numerator).where(Observation.source == "yichuang",
                                                                      Observation.obs_date == date(2022, 5, 1),
                                                                      Observation.numerator.in_([400, 421, 430])))
            assert kept == 400  # 富强路 keeps the figure of the earlier export

    async def test_undecodable_bytes_far_into_the_file_fail_the_run_and_write_nothing(
        self, database, settings, http
    ) -> None:
        good = "2022-05,青山区政务服务中心,150204000000,491,398,81.06%\n" * 30_000  # past the codec probe
        content = (YICHUANG_HEADER + good).encode("utf-8") + b"2022-05,\xff\xfe\n"
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), LocalFile(content, "y.csv"))
        assert run.status == "failed" and "invalid byte at offset" in run.message and run.failure == "export"
        async with database.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Observation)) == 0

    async def test_a_run_lists_the_first_problems_and_counts_them_all(
        self, database, settings, http, monkeypatch
    ) -> None:
        from services.collector import record

        monkeypatch.setattr(record, "PROBLEMS_KEPT", 2)
        local = yichuang_csv(
            "2022-05,青山区政务服务中心,150204000000,491,398,81.06%",
            *(f"2022-05,不存在的大厅{i},15020499{i}000,100,50,50.00%" for i in range(3)),
        )
        run = await ingest_local(database, settings, http, "yichuang", date(2022, 5, 1), local)
        assert run.status == "succeeded" and (run.rows_accepted, run.rows_rejected, run.inserted) == (1, 3, 1)
        assert [e["row"] for e in run.errors] == [3, 4, None]
        assert run.errors[-1]["message"] == "… and 1 more not listed (the first 2 are)"
