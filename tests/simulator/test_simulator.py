"""The platform simulator: encodings and layouts per family, determinism, ETag/304, 404 future, 400 garbage."""

from __future__ import annotations

import ast
import csv
import io
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from services.simulator import exports
from services.simulator.__main__ import parse_args
from services.simulator.app import create_app

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 15, 10, 30, tzinfo=SHANGHAI)
TODAY, PAST, FUTURE = "2024-06-15", "2024-06-14", "2024-06-16"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNIT_NAMES = {code: name for code, name in exports.UNITS}
HAOCHAPING_HEADER = ["序号", "评价编号", "办件编号", "事项编码", "事项名称", "实施部门", "区划代码", "区划名称",
                     "评价渠道", "评价等级", "评价时间", "评价人", "联系电话", "是否实名", "评价内容"]


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def sim_client_for(clock: Clock) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(clock)), base_url="http://sim")


@pytest.fixture
async def sim():
    async with sim_client_for(Clock(NOW)) as c:
        yield c


def as_int(value: object) -> int:
    """Undo the export's messiness: full-width digits and "1,281"."""
    return value if isinstance(value, int) else int(unicodedata.normalize("NFKC", str(value)).replace(",", ""))


def pct(numerator: int, denominator: int) -> Decimal:
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"))


def check_rate(printed: object, numerator: int, denominator: int) -> None:
    assert isinstance(printed, str) and re.fullmatch(r"\d{1,3}\.\d{2}%", printed), printed
    assert abs(Decimal(printed[:-1]) - pct(numerator, denominator)) <= Decimal("0.01")


def wangban_rows(body: bytes) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    return list(ws.iter_rows(values_only=True))


def haochaping_lines(body: bytes) -> list[str]:
    text = body.decode("gb18030")
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    return text.split("\r\n")


async def test_index_lists_families_and_url_patterns(sim):
    response = await sim.get("/")
    assert response.status_code == 200
    data = response.json()
    assert data["today"] == TODAY and data["timezone"] == "Asia/Shanghai"
    urls = {family["family"]: family["url"] for family in data["families"]}
    assert urls == {
        "wangban": "/exports/wangban/{day}.xlsx",
        "yichuang": "/exports/yichuang/{month}.csv",
        "haochaping": "/exports/haochaping/{day}.csv",
    }
    examples = [family["example"] for family in data["families"]]
    assert "/exports/haochaping/2024-06-15.csv" in examples and "/exports/yichuang/2024-06.csv" in examples


async def test_wangban_xlsx_layout_counts_and_rates(sim):
    response = await sim.get(f"/exports/wangban/{PAST}.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["etag"].startswith('"') and response.headers["last-modified"]
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    merged = {str(cell_range) for cell_range in ws.merged_cells.ranges}
    assert {"A1:H1", "A2:A3", "B2:B3", "C2:C3", "D2:F2", "G2:H2"} <= merged
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == f"青山区政务服务事项网办情况统计表（{PAST}）"
    assert rows[1][:4] == ("统计日期", "区划代码", "区划名称", "事项情况") and rows[1][6] == "比率"
    assert rows[2][3:] == ("事项总数", "网上可办事项数", "全程网办事项数", "网上可办率", "全程网办率")
    body, total_row = rows[3:-1], rows[-1]
    assert [row[1] for row in body] == list(UNIT_NAMES)
    sums = [0, 0, 0]
    for day_text, code, name, *counts, online_rate, full_rate in body:
        total, online, full = (as_int(value) for value in counts)
        assert day_text == PAST and name.strip() == UNIT_NAMES[code]
        assert 800 <= total <= 1400 and full <= online <= total
        assert 85 <= pct(online, total) <= 99
        check_rate(online_rate, online, total)
        check_rate(full_rate, full, total)
        sums = [sums[0] + total, sums[1] + online, sums[2] + full]
    assert total_row[0] == "合计" and list(total_row[3:6]) == sums
    check_rate(total_row[6], sums[1], sums[0])
    check_rate(total_row[7], sums[2], sums[0])


def test_wangban_messiness_shows_up_on_some_days_and_sums_stay_right():
    seen = {"full_width": 0, "thousands": 0, "trailing_space": 0}
    for offset in range(60):
        rows = wangban_rows(exports.wangban_xlsx(date(2024, 1, 1) + timedelta(days=offset)))
        cells = [value for row in rows[3:-1] for value in row[3:6]]
        seen["full_width"] += any(isinstance(v, str) and re.search("[０-９]", v) for v in cells)
        seen["thousands"] += any(isinstance(v, str) and re.fullmatch(r"\d,\d{3}", v) for v in cells)
        seen["trailing_space"] += any(row[2] != row[2].rstrip() for row in rows[3:-1])
        for column in (3, 4, 5):
            assert rows[-1][column] == sum(as_int(row[column]) for row in rows[3:-1])
    assert all(0 < count < 60 for count in seen.values()), seen  # some days, not every day


async def test_yichuang_csv_utf8_bom_and_halls(sim):
    response = await sim.get("/exports/yichuang/2024-05.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = [row for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) if row]
    assert rows[0] == ["统计月份", "大厅名称", "区划代码", "依申请政务服务事项总数", "纳入综合窗口办理事项数",
                       "一窗综合受理率"]
    halls = {(row[1], row[2]) for row in rows[1:]}
    expected = {("青山区政务服务中心", "150204000000")} | {(f"{n}便民服务中心", c) for c, n in exports.UNITS}
    assert halls == expected
    for month, _hall, _code, total, in_window, printed in rows[1:]:
        assert month == "2024-05" and 0 < int(in_window) <= int(total)
        check_rate(printed, int(in_window), int(total))


def test_yichuang_sometimes_has_blank_line_and_exact_duplicate():
    blank = duplicate = 0
    months = [f"{year}-{month:02d}" for year in (2023, 2024) for month in range(1, 13)]
    for month in months:
        lines = exports.yichuang_csv(month).decode("utf-8-sig").split("\n")
        assert lines[-1] == ""  # the file ends with a newline
        blank += "" in lines[1:-1]
        data = [line for line in lines[1:] if line]
        duplicate += len(data) != len(set(data))
        assert len(set(data)) == 1 + len(exports.UNITS)
    assert 0 < blank < len(months) and 0 < duplicate < len(months)


async def test_haochaping_csv_gb18030_layout(sim):
    response = await sim.get(f"/exports/haochaping/{PAST}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=gb18030"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    lines = haochaping_lines(response.content)
    assert lines[0] == f"政务服务“好差评”评价明细（统计日期：{PAST}）"
    assert lines[-2:] == ["", ""]  # last data line ends in CRLF, then a blank line
    rows = list(csv.reader(lines[1:-2]))
    assert rows[0] == HAOCHAPING_HEADER
    ratings = rows[1:]
    assert 30 <= len(ratings) <= 60
    assert all(len(row) == 15 for row in ratings)
    ids = [row[1] for row in ratings]
    assert ids == [f"HCP20240614{n:06d}" for n in range(1, len(ratings) + 1)] and len(set(ids)) == len(ids)
    levels = [row[9] for row in ratings]
    assert set(levels) <= {"非常满意", "满意", "基本满意", "不满意", "非常不满意"}
    assert sum(level in ("非常满意", "满意") for level in levels) > len(levels) / 2
    assert any(level == "不满意" for level in levels)
    assert {row[8] for row in ratings} <= {"窗口评价器", "网站", "移动端", "12345热线", "自助终端", "短信"}
    for row in ratings:
        assert UNIT_NAMES[row[6]] == row[7]
        assert row[10].startswith(PAST + " ") and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[10])
        if row[13] == "是":
            assert re.fullmatch(r"\w\*", row[11]) and re.fullmatch(r"1\d\d\*{4}\d{4}", row[12])
        else:
            assert row[13] == "否" and row[11] == row[12] == ""


async def test_past_days_are_deterministic_and_days_differ(sim):
    for url in (f"/exports/wangban/{PAST}.xlsx", "/exports/yichuang/2024-05.csv",
                f"/exports/haochaping/{PAST}.csv"):
        first, second = await sim.get(url), await sim.get(url)
        assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
        assert first.headers["last-modified"] == second.headers["last-modified"]
    assert exports.wangban_xlsx(date(2024, 6, 14)) == exports.wangban_xlsx(date(2024, 6, 14))
    assert exports.wangban_xlsx(date(2024, 6, 14)) != exports.wangban_xlsx(date(2024, 6, 13))
    assert exports.haochaping_csv(date(2024, 6, 14)) != exports.haochaping_csv(date(2024, 6, 13))


async def test_if_none_match_gives_304(sim):
    for url in (f"/exports/wangban/{PAST}.xlsx", "/exports/yichuang/2024-05.csv",
                f"/exports/haochaping/{PAST}.csv"):
        etag = (await sim.get(url)).headers["etag"]
        cached = await sim.get(url, headers={"If-None-Match": etag})
        assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
        weak = await sim.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        stale = await sim.get(url, headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200 and stale.content


async def test_if_modified_since_gives_304(sim):
    url = f"/exports/wangban/{PAST}.xlsx"
    modified = (await sim.get(url)).headers["last-modified"]
    assert parsedate_to_datetime(modified) == datetime(2024, 6, 15, 1, 0, tzinfo=SHANGHAI)
    assert (await sim.get(url, headers={"If-Modified-Since": modified})).status_code == 304
    earlier = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert (await sim.get(url, headers={"If-Modified-Since": earlier})).status_code == 200


async def test_future_day_or_month_is_404_with_clear_text(sim):
    for url in (f"/exports/wangban/{FUTURE}.xlsx", f"/exports/haochaping/{FUTURE}.csv",
                "/exports/yichuang/2024-07.csv"):
        response = await sim.get(url)
        assert response.status_code == 404, url
        assert "future" in response.text and TODAY in response.text
    assert (await sim.get(f"/exports/wangban/{TODAY}.xlsx")).status_code == 200
    assert (await sim.get("/exports/yichuang/2024-06.csv")).status_code == 200


@pytest.mark.parametrize("url", [
    "/exports/wangban/2024-13-01.xlsx", "/exports/wangban/yesterday.xlsx", "/exports/wangban/2024-6-1.xlsx",
    "/exports/haochaping/20240614.csv", "/exports/haochaping/2024-02-30.csv",
    "/exports/yichuang/2024-13.csv", "/exports/yichuang/2024-5.csv", "/exports/yichuang/may.csv",
])
async def test_garbage_dates_are_400(sim, url):
    response = await sim.get(url)
    assert response.status_code == 400
    assert "expected" in response.text


async def test_today_haochaping_grows_and_never_shows_the_future():
    clock = Clock(datetime(2024, 6, 15, 9, 0, tzinfo=SHANGHAI))
    url = f"/exports/haochaping/{TODAY}.csv"
    async with sim_client_for(clock) as c:
        morning = await c.get(url)
        clock.moment = datetime(2024, 6, 15, 20, 0, tzinfo=SHANGHAI)
        evening = await c.get(url)
        clock.moment = datetime(2024, 6, 16, 2, 0, tzinfo=SHANGHAI)  # the next day: yesterday is complete
        complete = await c.get(url)
    early = list(csv.reader(haochaping_lines(morning.content)[2:-2]))
    late = list(csv.reader(haochaping_lines(evening.content)[2:-2]))
    full = list(csv.reader(haochaping_lines(complete.content)[2:-2]))
    assert len(early) < len(late) <= len(full) and late == full[:len(late)] and early == late[:len(early)]
    assert all(row[10] <= "2024-06-15 09:00:00" for row in early)
    assert all(row[10] <= "2024-06-15 20:00:00" for row in late)
    assert morning.headers["etag"] != evening.headers["etag"]
    last_time = datetime.fromisoformat(late[-1][10]).replace(tzinfo=SHANGHAI)
    assert parsedate_to_datetime(evening.headers["last-modified"]) == last_time
    assert complete.content == exports.haochaping_csv(date(2024, 6, 15))


def test_simulator_imports_nothing_from_the_project():
    package = Path(exports.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] not in {"services", "shared"}, (module.name, node.module)
            elif isinstance(node, ast.Import):
                assert all(alias.name.split(".")[0] not in {"services", "shared"} for alias in node.names)


def test_cli_defaults():
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8100)
    assert parse_args(["--host", "0.0.0.0", "--port", "9000"]).port == 9000
