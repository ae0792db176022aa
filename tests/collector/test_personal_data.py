"""No personal data and no internals in what a run leaves behind (issue 9, item 6).

A ratings row that lost or gained a cell shifts its columns: names, phone and ID numbers then sit under headers the
collector reads. Neither they nor SQL or a raw Python exception may reach ingest_runs, the log or the CLI's output.
"""

from __future__ import annotations

import json
import logging
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from services.api.deps import Database
from services.collector import run as run_module
from services.collector.__main__ import _print_run
from services.collector.run import LocalFile, ingest_once
from shared.ingest.models import IngestRun
from tests.collector.exports import csv_bytes, shipped

NAME, PHONE, ID_NUMBER = "欧阳测试", "13812345678", "150204199001011234"
PERSONAL = (NAME, PHONE, ID_NUMBER, "1990010112")  # the ID number's birth date too, should a date parser quote it
# Personal columns between the ones the collector reads, so a shifted row puts them under read headers.
HEADER = ["评价编号", "评价人", "区划代码", "联系电话", "评价等级", "身份证号", "评价时间", "是否实名", "评价渠道",
          "事项名称", "事项编码", "实施部门"]


def row(n: int) -> list[str]:
    return [f"HCP2022053100000{n}", NAME, "150204004000", PHONE, "满意", ID_NUMBER, "2022-05-31 10:00:00", "是",
            "网站", "食品经营许可", "11150204MB1234567X4000117020000", "区市场监管局"]


def shifted_export() -> bytes:
    missing_first = row(2)[1:]  # 评价编号 lost: the name is read as the id, the phone as the unit …
    extra_first = ["", *row(3)]  # an extra cell in front: the name as the unit, the phone as the level …
    missing_unit = [c for i, c in enumerate(row(4)) if i != 2]  # the phone as the unit, the level as …
    return csv_bytes([HEADER, row(1), missing_first, extra_first, missing_unit], encoding="gb18030",
                     title="政务服务“好差评”评价明细（统计日期：2022-05-31）")


def assert_clean(text: str) -> None:
    leaked = [p for p in PERSONAL if p in text]
    assert leaked == [], text


@pytest.fixture
async def http() -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
        yield c


class TestShiftedRatingRows:
    async def test_no_personal_data_in_the_run_record_log_or_output(
        self, database: Database, settings, http, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caplog.set_level(logging.DEBUG)
        run = await ingest_once(database.sessions, shipped("haochaping"), day=date(2022, 5, 31), settings=settings,
                                client=http, local=LocalFile(shifted_export(), "haochaping.csv"))
        assert run.status == "succeeded", run.message
        assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (4, 1, 3)
        assert sorted({e["row"] for e in run.errors}) == [4, 5, 6]
        async with database.sessions() as s:
            stored = (await s.execute(select(IngestRun).where(IngestRun.id == run.id))).scalar_one()
        _print_run(stored)
        record = json.dumps([stored.errors, stored.warnings, stored.message], ensure_ascii=False)
        for text in (record, caplog.text, capsys.readouterr().out):
            assert_clean(text)

    def test_a_shifted_row_is_rejected_without_quoting_any_cell(self) -> None:
        from services.collector.mapping import parse_export

        parsed = parse_export(shipped("haochaping"), shifted_export(), today=date(2022, 5, 31))
        assert [r.rating_id for r in parsed.ratings] == ["HCP20220531000001"]
        assert [(p.row, p.field) for p in parsed.errors] == [(4, None), (5, None), (6, None)]
        assert "has 11 cells where the header has 12" in parsed.errors[0].message
        assert_clean(repr(parsed))

    def test_bad_cells_of_an_aligned_row_are_named_not_quoted(self) -> None:
        from services.collector.mapping import parse_export

        bad = row(5)
        bad[2], bad[4], bad[6], bad[7] = PHONE, ID_NUMBER, NAME, NAME  # aligned, but wrong content
        parsed = parse_export(shipped("haochaping"), csv_bytes([HEADER, bad]), today=date(2022, 5, 31))
        assert {p.field for p in parsed.errors} == {"区划代码", "评价等级", "评价时间", "是否实名"}
        assert_clean(repr(parsed))


class TestInternals:
    async def test_an_unexpected_fault_is_a_product_message_and_the_log_has_no_data(
        self, database: Database, settings, http, caplog: pytest.LogCaptureFixture, monkeypatch
    ) -> None:
        async def broken(*args: object, **kwargs: object) -> None:
            raise ValueError(f"INSERT INTO ratings VALUES ('{NAME}', '{PHONE}')")

        monkeypatch.setattr(run_module.rating_store, "write_ratings", broken)
        caplog.set_level(logging.DEBUG)
        export = csv_bytes([HEADER, row(1)])
        run = await ingest_once(database.sessions, shipped("haochaping"), day=date(2022, 5, 31), settings=settings,
                                client=http, local=LocalFile(export, "haochaping.csv"))
        assert run.status == "failed"
        assert "INSERT" not in run.message and "ValueError" not in run.message
        assert "internal error" in run.message
        assert_clean(run.message + json.dumps(run.errors, ensure_ascii=False) + caplog.text)
        assert "ValueError" in caplog.text  # the operator still learns what and where, from the log
