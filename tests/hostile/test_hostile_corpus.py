"""The hostile corpus (issue 9, "Prove it"): every file and body in tests/hostile/manifest.yaml, with its outcome.

An export case runs the collector (ingest_once) on a file with a shipped source; an API case sends a raw body to a
route. Besides what the manifest names, every case must: answer no 5xx, give errors in the one shape, write nothing
for a refused request or a failed run, and leave none of the `absent` strings (fake personal data) in any stored
record, response or log line.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from services.api.deps import Database
from services.collector.__main__ import _print_run
from services.collector.run import LocalFile, ingest_once
from shared.access.models import AuditEntry
from shared.core.settings import CollectorSettings, DatabaseSettings, RatingSettings, Settings
from shared.ingest.models import IdempotencyKey, IngestRun
from shared.observations.models import Observation
from shared.ratings import store as rating_store
from shared.ratings.models import Rating
from shared.ratings.types import RatingIn
from shared.scores.models import Assessment
from shared.targets.models import Target
from tests.collector.exports import HAOCHAPING_COLUMNS, csv_bytes, haochaping_row, shipped, wangban_xlsx, yichuang_rows
from tests.conftest import MakeKey, bearer

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
MANIFEST = yaml.safe_load((HERE / "manifest.yaml").read_text(encoding="utf-8"))
# Always checked as well: nothing internal in a message.
INTERNALS = ("Traceback", "INSERT INTO", "UPDATE ", "SELECT ", "psycopg", "asyncpg", "sqlalchemy", "[SQL:")
QINGSHAN, FUQIANG, XINGFU = "150204000000", "150204004000", "150204002000"


def _zip_bomb() -> bytes:
    """A real wangban workbook whose sheet unpacks to 8 MB of blanks (a few KB packed); run with a 2 MB limit."""
    content = wangban_xlsx([("2022-05-31", FUQIANG, "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")])
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, tail = data.split(b"<sheetData>", 1)
                data = head + b"<sheetData>" + b" " * (8 << 20) + tail
            target.writestr(info.filename, data)
    return out.getvalue()


PAD = 1_300_000  # past the first megabyte the codec is chosen from (services/collector/decode.PROBE)


def _ratings_nul_after_probe() -> bytes:
    """300 good ratings padded with long comments (a dropped column) to pass 1 MB, then NULs in read cells."""
    rows = [haochaping_row(n, FUQIANG, "满意", comment="好" * (PAD // 600)) for n in range(1, 301)]
    for n, col in ((301, 4), (302, 1), (303, 5)):  # 事项名称, 评价编号, 实施部门
        row = haochaping_row(n, FUQIANG, "满意", person="欧阳测试", phone="13812345678")
        row[col] = row[col][:3] + "\x00" + row[col][3:]
        rows.append(row)
    return csv_bytes([HAOCHAPING_COLUMNS, *rows], encoding="gb18030")


def _figures_nul_after_probe() -> bytes:
    """Four halls whose long names (not stored) pass 1 MB, then NULs in a unit code and in a count."""
    halls = [("大" * (PAD // 12), code, 100, 50, "50%") for code in (FUQIANG, XINGFU, "150204007000", "150204003000")]
    halls += [("科学路", "1502040\x0005000", 371, 311, "83.83%"), ("钢铁大街", "150204001000", "3\x0071", 311, "")]
    return csv_bytes(yichuang_rows(halls), encoding="utf-8-sig")


GENERATORS: dict[str, Callable[[], bytes]] = {
    "zip_bomb": _zip_bomb,
    "ratings_nul_after_probe": _ratings_nul_after_probe,
    "figures_nul_after_probe": _figures_nul_after_probe,
}


def _cases(kind: str) -> list[Any]:
    out = []
    for case in MANIFEST[kind]:
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if case.get("xfail") else []
        out.append(pytest.param(case, id=f"{kind}:{case['id']}", marks=marks))
    return out


def _assert_clean(case: dict[str, Any], *texts: str) -> None:
    for text in texts:
        leaked = [s for s in (*case.get("absent", []), *INTERNALS) if s in text]
        assert leaked == [], f"{leaked} in {text[:2000]}"


def _assert_error_shape(body: Any) -> None:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def _count(database: Database, model: type) -> int:
    async with database.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
        yield c


@pytest.mark.parametrize("case", [*_cases("exports"), *_cases("api")])
async def test_hostile_case(
    case: dict[str, Any],
    database: Database,
    pg_url: str,
    client: httpx.AsyncClient,
    http: httpx.AsyncClient,
    make_key: MakeKey,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    if "route" in case:
        await _api_case(case, database, client, make_key, caplog)
    else:
        await _export_case(case, database, pg_url, http, caplog, capsys)


async def _export_case(
    case: dict[str, Any],
    database: Database,
    pg_url: str,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    content = GENERATORS[case["generate"]]() if "generate" in case else (FILES / case["file"]).read_bytes()
    settings = Settings(db=DatabaseSettings(url=pg_url), collector=CollectorSettings(xlsx_max_unpacked_mb=2))
    src = shipped(case["source"])
    table = Rating if src.kind == "ratings" else Observation
    before = await _count(database, table)
    run = await ingest_once(database.sessions, src, day=date.fromisoformat(str(case["day"])), settings=settings,
                            client=http, local=LocalFile(content, case.get("file", case.get("generate", "x"))))
    async with database.sessions() as s:
        stored_run = (await s.execute(select(IngestRun).where(IngestRun.id == run.id))).scalar_one()
    record = json.dumps([stored_run.status, stored_run.message, stored_run.errors, stored_run.warnings],
                        ensure_ascii=False)
    assert stored_run.status == case["status"], record
    stored = await _count(database, table) - before
    if case["status"] == "failed":
        assert stored == 0, f"a failed run left {stored} rows: {record}"
    if "stored" in case:
        assert stored == case["stored"], record
    if "accepted" in case:
        assert stored_run.rows_accepted == case["accepted"], record
    rejected = {int(k): v for k, v in (case.get("rejected") or {}).items()}
    by_row: dict[int, str] = {}
    for e in stored_run.errors:
        by_row[e.get("row")] = by_row.get(e.get("row"), "") + f" [{e.get('field')}] {e['message']}"
    if rejected or case["status"] == "succeeded":
        assert sorted(k for k in by_row if k is not None) == sorted(rejected), record
        for row, fragment in rejected.items():
            assert fragment in by_row[row], f"row {row}: {fragment!r} not in {by_row[row]!r}"
    for fragment in case.get("message", []):
        assert fragment in (stored_run.message or ""), record
    _print_run(stored_run)
    _assert_clean(case, record, caplog.text, capsys.readouterr().out)
    if src.kind == "ratings":
        async with database.sessions() as s:
            rows = (await s.execute(select(Rating))).scalars().all()
        _assert_clean(case, repr([(r.rating_id, r.service_item, r.department, r.channel) for r in rows]))


async def _a_rating(database: Database) -> str:
    async with database.sessions() as s, s.begin():
        await rating_store.write_ratings(
            s, [RatingIn("HCP-HOSTILE-1", FUQIANG, "失业保险金申领", "12345热线", 2, datetime(2022, 6, 1, 10), False)],
            source="t", actor="t", settings=RatingSettings(), today=date(2022, 6, 1))
    return "HCP-HOSTILE-1"


async def _api_case(
    case: dict[str, Any],
    database: Database,
    client: httpx.AsyncClient,
    make_key: MakeKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    method, path = case["route"].split(" ", 1)
    if "{rating}" in path:
        path = path.replace("{rating}", await _a_rating(database))
    if "{scheme}" in path:
        [scheme] = [s for s in (await client.get("/v1/schemes")).json() if s["code"] == "BT2022"]
        path = path.replace("{scheme}", str(scheme["id"]))
    role = case.get("key", "admin")
    key = await make_key(role, None if role == "admin" else QINGSHAN, name=f"hostile-{role}")
    headers = {**bearer(key), "Content-Type": "application/json"}
    if n := case.get("idempotency_key_len"):
        headers["Idempotency-Key"] = ("k" * n)[:n]
    tables = (Observation, Rating, Assessment, Target, AuditEntry, IdempotencyKey)
    before = [await _count(database, t) for t in tables]
    body = (FILES / "api" / case["body"]).read_bytes()
    r = await client.request(method, path, content=body, headers=headers)
    assert r.status_code < 500, r.text
    assert r.status_code == case["status"], r.text[:2000]
    if r.status_code >= 400:
        _assert_error_shape(r.json())
        text = json.dumps(r.json(), ensure_ascii=False)
        for fragment in case.get("error", []):
            assert fragment.lower() in text.lower(), text[:2000]
        after = [await _count(database, t) for t in tables]
        names = [t.__name__ for t in tables]
        assert after == before, f"a refused request wrote rows: {dict(zip(names, after, strict=True))}"
    _assert_clean(case, r.text, caplog.text)
