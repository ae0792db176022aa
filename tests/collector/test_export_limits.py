"""Export limits (issue 9, item 5): an XLSX export that unpacks to far more than it weighs, or has too many rows, and
a JSON export too large to read whole, are refused with a precise run error before they can take the collector's
memory."""

from __future__ import annotations

import io
import json
import resource
import time
import zipfile
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from services.collector.readers import ExportLimits, iter_rows
from services.collector.run import LocalFile, ingest_once
from shared.core.errors import InvalidInput
from shared.core.settings import CollectorSettings, Settings
from shared.observations.models import Observation
from shared.ratings.models import Rating
from tests.collector.exports import SAMPLES, YICHUANG_COLUMNS, shipped, source, wangban_xlsx

ROW = ("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")
SHEET = "xl/worksheets/sheet1.xml"


def repacked(content: bytes, sheet_padding: int) -> bytes:
    """The workbook with `sheet_padding` bytes of blanks inside its sheet's XML, streamed so the test stays small."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != SHEET:
                target.writestr(info.filename, data)
                continue
            head, tail = data.split(b"<sheetData>", 1)
            with target.open(SHEET, "w", force_zip64=True) as member:
                member.write(head + b"<sheetData>")
                block = b" " * (1 << 20)
                for _ in range(sheet_padding >> 20):
                    member.write(block)
                member.write(tail)
    return out.getvalue()


def rows_of(content: bytes, limits: ExportLimits) -> list[tuple[int, list[str]]]:
    rows, _ = iter_rows(io.BytesIO(content), "xlsx", limits=limits)
    return list(rows)


@pytest.fixture
async def http() -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
        yield c


class TestLimits:
    def test_a_normal_sheet_passes(self) -> None:
        assert len(rows_of(wangban_xlsx([ROW] * 3), ExportLimits())) > 3

    def test_unpacked_size_over_the_limit(self) -> None:
        bomb = repacked(wangban_xlsx([ROW]), 3 << 20)
        with pytest.raises(InvalidInput, match=r"unpacks to 3 MB, more than the 2 MB .*XLSX_MAX_UNPACKED_MB"):
            rows_of(bomb, ExportLimits(max_unpacked_mb=2, max_ratio=10_000))

    def test_packing_ratio_over_the_limit(self) -> None:
        bomb = repacked(wangban_xlsx([ROW]), 8 << 20)
        with pytest.raises(InvalidInput, match=rf"{SHEET} unpacks \d+× its packed size, .*XLSX_MAX_RATIO"):
            rows_of(bomb, ExportLimits())

    def test_rows_over_the_limit(self) -> None:
        content = wangban_xlsx([ROW] * 20)
        assert len(rows_of(content, ExportLimits(max_rows=30))) == 23
        with pytest.raises(InvalidInput, match=r"more than 10 rows .*XLSX_MAX_ROWS"):
            rows_of(content, ExportLimits(max_rows=10))


class TestRun:
    async def test_a_gigabyte_bomb_fails_fast_and_small(self, database, settings: Settings, http) -> None:
        bomb = repacked(wangban_xlsx([ROW]), 1 << 30)
        assert len(bomb) < 2 << 20
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        run = await ingest_once(database.sessions, shipped("wangban"), day=date(2022, 5, 31), settings=settings,
                                client=http, local=LocalFile(bomb, "wangban.xlsx"))
        assert run.status == "failed" and "more than the 200 MB limit" in (run.message or "")
        assert run.failure == "export"
        assert time.monotonic() - started < 5
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100_000  # KiB: not a gigabyte
        async with database.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Observation)) == 0

    async def test_the_row_limit_is_a_setting(self, database, http, pg_url: str) -> None:
        from shared.core.settings import DatabaseSettings

        settings = Settings(db=DatabaseSettings(url=pg_url), collector=CollectorSettings(xlsx_max_rows=5))
        run = await ingest_once(database.sessions, shipped("wangban"), day=date(2022, 5, 31), settings=settings,
                                client=http, local=LocalFile(wangban_xlsx([ROW] * 10), "wangban.xlsx"))
        assert run.status == "failed" and "more than 5 rows" in (run.message or "")


class TestJsonLimit:
    """A JSON document is read whole (about 4× its size in memory): one over SCORECARD_COLLECTOR__JSON_MAX_MB fails
    before any of it is read."""

    HALL = ["2022-05", "青山区政务服务中心", "150204000000", 491, 398, "81.06%"]

    def export(self, rows: int) -> bytes:
        records = [dict(zip(YICHUANG_COLUMNS, self.HALL, strict=True))] * rows
        return json.dumps({"data": records}, ensure_ascii=False).encode()

    async def ingest(self, database, http, pg_url: str, content: bytes, json_max_mb: int):  # type: ignore[no-untyped-def]
        from shared.core.settings import DatabaseSettings

        settings = Settings(db=DatabaseSettings(url=pg_url), collector=CollectorSettings(json_max_mb=json_max_mb))
        return await ingest_once(database.sessions, source("yichuang", format="json"), day=date(2022, 5, 1),
                                 settings=settings, client=http, local=LocalFile(content, "yichuang.json"))

    async def test_within_the_limit_it_is_read(self, database, http, pg_url: str) -> None:
        run = await self.ingest(database, http, pg_url, self.export(1), json_max_mb=1)
        assert (run.status, run.rows_accepted, run.inserted) == ("succeeded", 1, 1), run.message

    async def test_over_the_limit_it_fails_unread(self, database, http, pg_url: str) -> None:
        content = self.export(15_000)  # ~3.4 MB
        assert 2 << 20 < len(content) < 4 << 20
        run = await self.ingest(database, http, pg_url, content, json_max_mb=2)
        assert (run.status, run.failure, run.rows_read) == ("failed", "export", 0)
        assert "more than the 2 MB limit for JSON exports" in (run.message or "")
        assert "SCORECARD_COLLECTOR__JSON_MAX_MB" in (run.message or "")
        async with database.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Observation)) == 0


    async def test_a_malformed_document_fails_as_an_export_fault(self, database, http, pg_url: str) -> None:
        # A 5001-digit number raised Python's ValueError inside json.loads: the run failed as 'internal'.
        content = self.export(1).replace(b"491", b"1" * 5001)
        run = await self.ingest(database, http, pg_url, content, json_max_mb=1)
        assert (run.status, run.failure) == ("failed", "export"), run.message
        assert "thousands of digits" in (run.message or "")


class TestRatingsLimit:
    """A ratings export is held whole to count the day's figures: one over SCORECARD_COLLECTOR__RATINGS_MAX_ROWS
    fails unwritten."""

    async def ingest(self, database, http, pg_url: str, ratings_max_rows: int):  # type: ignore[no-untyped-def]
        from shared.core.settings import DatabaseSettings

        limits = CollectorSettings(ratings_max_rows=ratings_max_rows)
        settings = Settings(db=DatabaseSettings(url=pg_url), collector=limits)
        content = (SAMPLES / "haochaping_detail_2022-05-31.csv").read_bytes()
        return await ingest_once(database.sessions, shipped("haochaping"), day=date(2022, 5, 31), settings=settings,
                                 client=http, local=LocalFile(content, "haochaping_detail_2022-05-31.csv"))

    async def test_within_the_limit_it_is_written(self, database, http, pg_url: str) -> None:
        run = await self.ingest(database, http, pg_url, ratings_max_rows=100)
        assert run.status == "succeeded" and run.rows_read > 5, run.message

    async def test_over_the_limit_it_fails_unwritten(self, database, http, pg_url: str) -> None:
        run = await self.ingest(database, http, pg_url, ratings_max_rows=5)
        assert (run.status, run.failure) == ("failed", "export")
        assert "more than 5 rows" in (run.message or "") and "SCORECARD_COLLECTOR__RATINGS_MAX_ROWS" in run.message
        async with database.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Rating)) == 0
