"""Faults of a collector run (issue 9, "Prove it"): killed with SIGKILL mid-ingest, a platform that hangs, answers
500, sends a truncated file or changes its columns, and two collectors on one source at once.

(HTTP 503 with retries, a database that is down and a held source lock are in test_run.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services.api.deps import Database
from services.collector.run import LocalFile, ingest_once
from services.collector.sources import SourceConfig, parse_sources
from shared.core.settings import Settings
from shared.ingest.models import IngestRun
from shared.observations.models import Observation
from shared.org_units import store as org_store
from tests.collector.exports import SAMPLES, shipped, source

REPO = Path(__file__).resolve().parents[2]
DAY = date(2022, 5, 31)
BIG_SOURCE = """\
sources:
  - id: big
    url: http://127.0.0.1:9/big/{date}.csv
    format: csv
    schedule: "30 6 * * *"
    scope: "150200000000"
    unit: {code_column: 区划代码}
    date: {column: 统计日期}
    figures:
      - {indicator: QS-07, numerator: 全程网办事项数, denominator: 事项总数}
"""


async def figures(database: Database, source_id: str) -> int:
    async with database.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Observation)
                                  .where(Observation.source == source_id)) or 0)


async def runs(database: Database, source_id: str) -> list[tuple[int, str]]:
    async with database.sessions() as s:
        found = await s.execute(select(IngestRun.id, IngestRun.status).where(IngestRun.source_id == source_id)
                                .order_by(IngestRun.id))
        return [tuple(r) for r in found.all()]  # type: ignore[misc]


async def big_export(database: Database, path: Path, days: int) -> int:
    """Every 包头 region and township for `days` days: one figure per row."""
    async with database.sessions() as s:
        codes = [u.code for u in await org_store.list_units(s, subtree="150200000000")
                 if len(u.code) == 12 and u.code.isdigit()]
    with path.open("w", encoding="utf-8") as out:
        out.write("统计日期,区划代码,事项总数,全程网办事项数\n")
        for d in range(days):
            day = (DAY - timedelta(days=d)).isoformat()
            out.writelines(f"{day},{code},{1000 + d % 7},{900 + d % 5}\n" for code in codes)
    return len(codes) * days


class TestKilledMidIngest:
    async def test_sigkill_keeps_no_figure_leaves_a_trace_and_the_rerun_is_exact(
        self, committed_database: Database, pg_url: str, tmp_path: Path
    ) -> None:
        database = committed_database
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(BIG_SOURCE, encoding="utf-8")
        export = tmp_path / "big.csv"
        rows = await big_export(database, export, 1_000)
        assert rows > 2 * 50_000  # several chunks: the kill lands after one was written in the open transaction
        env = {**os.environ, "SCORECARD_DB__URL": pg_url, "SCORECARD_COLLECTOR__SOURCES_FILE": str(sources_file)}
        child = subprocess.Popen(
            [sys.executable, "-m", "services.collector", "run", "big", "--file", str(export), "--date", str(DAY)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stderr is not None
            deadline = time.monotonic() + 120
            for line in child.stderr:
                if "figures written so far" in line:
                    break
                assert time.monotonic() < deadline, "the child never wrote a chunk"
            else:
                pytest.fail(f"the child ended before writing a chunk (exit {child.wait()})")
            assert await runs(database, "big") == [(runs_id := (await runs(database, "big"))[0][0], "running")]
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL
        assert await figures(database, "big") == 0
        assert await runs(database, "big") == [(runs_id, "running")]  # the trace of the killed run

        [big] = parse_sources(BIG_SOURCE)
        settings = Settings()
        async with httpx.AsyncClient() as http:
            for _ in range(50):  # PostgreSQL ends the dead client's session (and lock) as soon as it notices
                run = await ingest_once(database.sessions, big, day=DAY, settings=settings, client=http,
                                        local=LocalFile(export, export.name))
                if run.status != "busy":
                    break
                await asyncio.sleep(0.2)
        assert run.status == "succeeded", run.message
        assert (run.inserted, run.rows_accepted, run.rows_rejected) == (rows, rows, 0)
        assert await figures(database, "big") == rows
        # Tries made while PostgreSQL had not yet ended the dead session are recorded `busy` (its lock still held).
        recorded = [r for r in await runs(database, "big") if r[1] != "busy"]
        assert recorded == [(runs_id, "abandoned"), (run.id, "succeeded")]


class _Platform:
    """A misbehaving platform on the loopback interface: /hang never answers, /stall sends headers and stops,
    /truncated closes after part of the body it announced, /drip sends its body a byte at a time, /endless
    sends a body without end."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\r\n\r\n")).decode()
        path = request.split(" ", 2)[1]
        body = (SAMPLES / "wangban_stats_2022-05-31.xlsx").read_bytes()
        with contextlib.suppress(ConnectionError):
            if path.startswith("/truncated"):
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:1000])
                await writer.drain()
            elif path.startswith("/drip"):  # a byte every 0.05 s: no single read ever waits long
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
                for byte in body:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.05)
            elif path.startswith("/endless"):  # a chunked body that never ends
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"%x\r\n%s\r\n" % (1 << 16, b"x" * (1 << 16))
                while True:
                    writer.write(chunk)
                    await writer.drain()
            elif path.startswith("/stall"):
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
                await writer.drain()
                await asyncio.sleep(30)
            else:
                await asyncio.sleep(30)
            writer.close()

    async def __aenter__(self) -> _Platform:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 1)


@pytest.fixture
async def platform() -> AsyncIterator[_Platform]:
    async with _Platform() as p:
        yield p


def at(platform: _Platform, path: str) -> SourceConfig:
    return source("wangban", url=f"http://127.0.0.1:{platform.port}/{path}/{{date}}.xlsx", timeout_seconds=0.3,
                  retries=1)


class TestMisbehavingPlatform:
    @pytest.mark.parametrize("path", ["hang", "stall"])
    async def test_a_platform_that_hangs_times_out(self, database, settings, platform, path: str) -> None:
        started = time.monotonic()
        async with httpx.AsyncClient() as http:
            run = await ingest_once(database.sessions, at(platform, path), day=DAY, settings=settings, client=http,
                                    backoff_seconds=0.01)
        assert run.status == "failed" and "no answer within timeout_seconds (0.3 s) (2 tries)" in (run.message or "")
        assert run.failure == "fetch"
        assert time.monotonic() - started < 5
        assert "Error" not in (run.message or "") and await figures(database, "wangban") == 0

    async def test_a_download_that_trickles_in_gives_up_at_its_deadline(self, database, settings, platform) -> None:
        started = time.monotonic()
        slow = at(platform, "drip").model_copy(update={"download_seconds": 1.0})
        async with httpx.AsyncClient() as http:
            run = await ingest_once(database.sessions, slow, day=DAY, settings=settings, client=http,
                                    backoff_seconds=0.01)
        assert run.status == "failed" and run.failure == "fetch", run.message
        assert "did not arrive whole within download_seconds (1 s)" in (run.message or "")
        assert time.monotonic() - started < 5  # one try: a second would trickle in as slowly
        assert await figures(database, "wangban") == 0

    async def test_a_download_without_end_stops_at_max_mb(self, database, settings, platform) -> None:
        capped = at(platform, "endless").model_copy(update={"max_mb": 2})
        async with httpx.AsyncClient() as http:
            run = await ingest_once(database.sessions, capped, day=DAY, settings=settings, client=http,
                                    backoff_seconds=0.01)
        assert run.status == "failed" and "larger than max_mb (2 MB)" in (run.message or ""), run.message
        assert run.failure == "fetch"
        assert await figures(database, "wangban") == 0

    async def test_a_truncated_download_fails_and_says_so(self, database, settings, platform) -> None:
        async with httpx.AsyncClient() as http:
            run = await ingest_once(database.sessions, at(platform, "truncated"), day=DAY, settings=settings,
                                    client=http, backoff_seconds=0.01)
        assert run.status == "failed" and "before the whole export arrived (truncated)" in (run.message or "")
        assert run.failure == "fetch"
        assert await figures(database, "wangban") == 0

    async def test_a_truncated_file_served_whole_fails_unread(self, database, settings) -> None:
        body = (SAMPLES / "wangban_stats_2022-05-31.xlsx").read_bytes()[:3000]
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))) as c:
            run = await ingest_once(database.sessions, shipped("wangban"), day=DAY, settings=settings, client=c)
        assert run.status == "failed" and "not a readable workbook" in (run.message or "")
        assert run.failure == "export"
        assert await figures(database, "wangban") == 0

    async def test_http_500_is_retried_then_fails(self, database, settings) -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as c:
            run = await ingest_once(database.sessions, source("wangban", retries=1), day=DAY, settings=settings,
                                    client=c, backoff_seconds=0.001)
        assert run.status == "failed" and "answered HTTP 500 after 2 tries" in (run.message or "")
        assert run.failure == "fetch"

    async def test_changed_columns_fail_the_run_and_name_them(self, database, settings) -> None:
        renamed = (REPO / "tests" / "samples" / "yichuang_stats_2022-05.csv").read_bytes().decode("utf-8-sig")
        renamed = renamed.replace("纳入综合窗口办理事项数", "综合窗口事项数")
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
            run = await ingest_once(database.sessions, shipped("yichuang"), day=date(2022, 5, 1), settings=settings,
                                    client=c, local=LocalFile(renamed.encode("utf-8-sig"), "y.csv"))
        assert run.status == "failed" and "missing columns 纳入综合窗口办理事项数" in (run.message or "")
        assert run.failure == "export"
        assert await figures(database, "yichuang") == 0


class TestCollectorsOwnFaults:
    """A fault of the collector's machine or code fails the run with its kind and a message without data."""

    async def run_with(self, database, settings, monkeypatch, fault: BaseException) -> IngestRun:
        def broken(*args: object, **kwargs: object) -> None:
            raise fault

        monkeypatch.setattr("services.collector.run.tempfile.TemporaryFile", broken)
        body = (SAMPLES / "wangban_stats_2022-05-31.xlsx").read_bytes()
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))) as c:
            return await ingest_once(database.sessions, shipped("wangban"), day=DAY, settings=settings, client=c)

    async def test_a_full_disk(self, database, settings, monkeypatch) -> None:
        run = await self.run_with(database, settings, monkeypatch, OSError(28, "No space left on device"))
        assert (run.status, run.failure) == ("failed", "disk")
        assert run.message == ("cannot write the export to a temporary file: No space left on device; "
                               "nothing was written")

    async def test_a_bug(self, database, settings, monkeypatch) -> None:
        run = await self.run_with(database, settings, monkeypatch, RuntimeError("cell 13812345678 went wrong"))
        assert (run.status, run.failure) == ("failed", "internal")
        assert run.message == "internal error in the collector; nothing was written; the collector log has the details"
        assert await figures(database, "wangban") == 0


class TestTwoCollectorsAtOnce:
    async def test_one_ingests_the_other_is_busy_or_skips_no_row_twice(
        self, committed_database: Database, tmp_path: Path
    ) -> None:
        database = committed_database
        export = tmp_path / "big.csv"
        rows = await big_export(database, export, 300)
        [big] = parse_sources(BIG_SOURCE)
        settings = Settings()
        async with httpx.AsyncClient() as http:
            both = await asyncio.gather(*[
                ingest_once(database.sessions, big, day=DAY, settings=settings, client=http,
                            local=LocalFile(export, export.name)) for _ in range(2)])
        statuses = sorted(r.status for r in both)
        assert statuses in (["busy", "succeeded"], ["skipped", "succeeded"]), [r.message for r in both]
        assert await figures(database, "big") == rows
        assert sum(r.inserted for r in both) == rows
