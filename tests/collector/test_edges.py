"""Collector edges (issue 9, item 8): a source's unit scope, the trace of a killed run, a header-only export, one
over-long cell."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import yaml
from sqlalchemy import func, select, text

from services.api.deps import Database
from services.collector.run import LocalFile, ingest_once
from services.collector.sources import SourceConfig, parse_sources
from shared.core import clock
from shared.core.errors import InvalidInput
from shared.ingest.models import IngestRun
from shared.observations.models import Observation
from shared.ratings.models import Rating
from tests.collector.exports import HAOCHAPING_COLUMNS, csv_bytes, shipped, source

MAY = date(2022, 5, 1)
HEADER = "统计月份,大厅名称,区划代码,依申请政务服务事项总数,纳入综合窗口办理事项数,一窗综合受理率\n"
QINGSHAN_ROW = "2022-05,青山区政务服务中心,150204000000,491,398,81.06%"


def yichuang(*rows: str) -> LocalFile:
    return LocalFile((HEADER + "".join(r + "\n" for r in rows)).encode("utf-8-sig"), "yichuang.csv")


@pytest.fixture
async def http() -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
        yield c


async def ingest(database: Database, settings, http, local: LocalFile, src: SourceConfig | None = None,
                 day: date = MAY) -> IngestRun:
    return await ingest_once(database.sessions, src or shipped("yichuang"), day=day, settings=settings,
                             client=http, local=local)


async def count(database: Database, model: type) -> int:
    async with database.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


class TestScope:
    def test_every_shipped_source_has_a_scope(self) -> None:
        assert {s.id: s.scope for s in (shipped(i) for i in ("wangban", "yichuang", "haochaping"))} == {
            "wangban": "150204000000", "yichuang": "150204000000", "haochaping": "150204000000"}

    def test_a_source_without_a_scope_is_refused(self) -> None:
        data = shipped("yichuang").model_dump(by_alias=True, exclude_none=True)
        del data["scope"]
        with pytest.raises(InvalidInput, match="scope"):
            parse_sources(yaml.safe_dump({"sources": [data]}, allow_unicode=True))

    async def test_rows_for_units_outside_the_scope_are_rejected(self, database, settings, http) -> None:
        run = await ingest(database, settings, http, yichuang(
            QINGSHAN_ROW,
            "2022-05,东河区政务服务中心,150202000000,500,400,80.00%",
            "2022-05,南昌市民中心,360100000000,600,300,50.00%"))
        assert run.status == "succeeded" and (run.inserted, run.rows_accepted, run.rows_rejected) == (1, 1, 2)
        assert [(e["row"], e["field"]) for e in run.errors] == [(3, "区划代码"), (4, "区划代码")]
        assert run.errors[0]["message"].startswith("unit 150202000000 is outside this source's scope: it may write "
                                                   "only for 150204000000 (青山区)")
        async with database.sessions() as s:
            orgs = (await s.execute(text("SELECT u.code FROM observations o JOIN org_units u ON u.id = o.org_id"))
                    ).scalars().all()
        assert orgs == ["150204000000"]

    async def test_an_unknown_code_is_still_an_unknown_unit(self, database, settings, http) -> None:
        run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW, "2022-05,无名,150204999000,1,1,100%"))
        assert run.rows_rejected == 1 and "unknown" in run.errors[0]["message"]

    async def test_a_wider_scope_takes_the_city(self, database, settings, http) -> None:
        city = source("yichuang", scope="150200000000")
        run = await ingest(database, settings, http, yichuang(
            QINGSHAN_ROW, "2022-05,东河区政务服务中心,150202000000,500,400,80.00%",
            "2022-05,南昌市民中心,360100000000,600,300,50.00%"), city)
        assert (run.inserted, run.rows_rejected) == (2, 1) and run.errors[0]["row"] == 4

    async def test_ratings_outside_the_scope_are_rejected(self, database, settings, http) -> None:
        def rating(n: int, org: str) -> list[str]:
            return [str(n), f"HCP2022053100009{n}", "", "", "食品经营许可", "区市场监管局", org, "", "网站", "满意",
                    "2022-05-31 10:00:00", "", "", "否", ""]

        content = csv_bytes([HAOCHAPING_COLUMNS, rating(1, "150204004000"), rating(2, "150202000000")])
        run = await ingest(database, settings, http, LocalFile(content, "h.csv"), shipped("haochaping"),
                           date(2022, 5, 31))
        assert run.status == "succeeded" and [e["row"] for e in run.errors] == [3]
        assert "outside this source's scope" in run.errors[0]["message"]
        assert await count(database, Rating) == 1

    async def test_a_scope_that_names_no_unit_fails_the_run(self, database, settings, http) -> None:
        run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW), source("yichuang", scope="150299000000"))
        assert run.status == "failed" and "scope 150299000000" in run.message and run.failure == "config"
        assert await count(database, Observation) == 0


class TestTraceOfAKilledRun:
    async def running(self, database: Database, source_id: str = "yichuang") -> int:
        async with database.sessions() as s, s.begin():
            trace = IngestRun(source_id=source_id, url="file:y.csv", for_date=MAY, started_at=clock.now(),
                              status="running", errors=[], warnings=[])
            s.add(trace)
            await s.flush()
            return trace.id

    async def status_of(self, database: Database, run_id: int) -> tuple[str, str | None]:
        async with database.sessions() as s:
            found = await s.get(IngestRun, run_id)
            assert found is not None
            return found.status, found.message

    async def test_a_run_left_running_is_marked_abandoned_by_the_next_one(self, database, settings, http) -> None:
        killed = await self.running(database)
        run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW))
        assert run.status == "succeeded" and run.id != killed
        status, message = await self.status_of(database, killed)
        assert status == "abandoned" and message is not None and "nothing it read was kept" in message

    async def test_a_failed_run_marks_it_too(self, database, settings, http) -> None:
        killed = await self.running(database)
        run = await ingest(database, settings, http, LocalFile(b"\x00garbage", "y.csv"))
        assert run.status == "failed"
        assert (await self.status_of(database, killed))[0] == "abandoned"

    async def test_another_sources_trace_is_left_alone(self, database, settings, http) -> None:
        other = await self.running(database, "wangban")
        await ingest(database, settings, http, yichuang(QINGSHAN_ROW))
        assert (await self.status_of(database, other))[0] == "running"

    async def test_a_busy_run_leaves_the_live_runs_trace_alone(self, database, settings, http, pg_engine) -> None:
        live = await self.running(database)
        async with pg_engine.connect() as other:
            await other.execute(text("SELECT pg_advisory_lock(hashtextextended('ingest:yichuang', 0))"))
            run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW))
            await other.execute(text("SELECT pg_advisory_unlock_all()"))
        assert run.status == "busy" and (await self.status_of(database, live))[0] == "running"

    async def test_the_run_record_is_one_row_updated_in_place(self, database, settings, http) -> None:
        run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW))
        async with database.sessions() as s:
            runs = (await s.execute(select(IngestRun.id, IngestRun.status))).all()
        assert [tuple(r) for r in runs] == [(run.id, "succeeded")]


class TestHeaderOnly:
    @pytest.mark.parametrize("body", ["", "\n\n", "合计,,,0,0,\n"])
    async def test_a_header_without_rows_is_empty_not_succeeded(self, database, settings, http, body) -> None:
        run = await ingest(database, settings, http, LocalFile((HEADER + body).encode(), "y.csv"))
        assert run.status == "empty" and "no data rows" in (run.message or "")
        assert (run.inserted, run.rows_read) == (0, 0)

    @pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"])
    async def test_a_file_without_even_a_header_fails_saying_so(self, database, settings, http, content) -> None:
        # It read "no header row found: none of the first 100 rows names …" for a file of no rows (issue 9).
        run = await ingest(database, settings, http, LocalFile(content, "y.csv"))
        assert run.status == "failed" and "the export is empty: no rows at all" in (run.message or "")

    async def test_the_real_export_after_an_empty_one_is_ingested(self, database, settings, http) -> None:
        assert (await ingest(database, settings, http, LocalFile(HEADER.encode(), "y.csv"))).status == "empty"
        run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW))
        assert run.status == "succeeded" and run.inserted == 1

    async def test_an_empty_ratings_export_too(self, database, settings, http) -> None:
        run = await ingest(database, settings, http, LocalFile(csv_bytes([HAOCHAPING_COLUMNS]), "h.csv"),
                           shipped("haochaping"), date(2022, 5, 31))
        assert run.status == "empty"


class TestOverLongCell:
    async def test_one_huge_cell_rejects_its_row_not_the_run(self, database, settings, http) -> None:
        huge = "2022-05,富强路街道便民服务中心" + "长" * 200_000 + ",150204004000,503,421,83.70%"
        run = await ingest(database, settings, http, yichuang(QINGSHAN_ROW, huge,
                                                              "2022-05,幸福路街道便民服务中心,150204002000,10,5,50%"))
        assert run.status == "succeeded" and (run.inserted, run.rows_rejected) == (2, 1)
        assert [e["row"] for e in run.errors] == [3] and "longer than 131,072 characters" in run.errors[0]["message"]
        assert len(str(run.errors)) < 1_000

    async def test_a_long_ratings_cell_rejects_its_row(self, database, settings, http) -> None:
        def rating(n: int, item: str) -> list[str]:
            return [str(n), f"HCP2022053100008{n}", "", "", item, "区市场监管局", "150204004000", "", "网站", "满意",
                    "2022-05-31 10:00:00", "", "", "否", ""]

        content = csv_bytes([HAOCHAPING_COLUMNS, rating(1, "食品经营许可"), rating(2, "许" * 5_000),
                             rating(3, "长" * 200_000)])
        run = await ingest(database, settings, http, LocalFile(content, "h.csv"), shipped("haochaping"),
                           date(2022, 5, 31))
        assert run.status == "succeeded" and [e["row"] for e in run.errors] == [3, 4]
        assert await count(database, Rating) == 1
