"""Deterministic fake exports of 青山区's platforms: 网办 XLSX, 一窗 CSV and 好差评 CSV, for any date.

Each file is seeded by random.Random(f"{family}:{period}"), so one period always yields the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.writer.excel import ExcelWriter

SHANGHAI = ZoneInfo("Asia/Shanghai")
DISTRICT_CODE = "150204000000"
DISTRICT_HALL = "青山区政务服务中心"  # only the 一窗 export carries the district itself
UNITS: tuple[tuple[str, str], ...] = (
    ("150204004000", "富强路街道"),
    ("150204002000", "幸福路街道"),
    ("150204007000", "自由路街道"),
    ("150204003000", "万青路街道"),
    ("150204005000", "科学路街道"),
    ("150204001000", "先锋道街道"),
    ("150204006000", "青山路街道"),
    ("150204008000", "乌素图街道"),
    ("150204100000", "青福镇"),
    ("150204101000", "兴胜镇"),
)
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

WANGBAN_GROUP = ("统计日期", "区划代码", "区划名称", "事项情况", None, None, "比率", None)
WANGBAN_COLUMNS = ("事项总数", "网上可办事项数", "全程网办事项数", "网上可办率", "全程网办率")
WANGBAN_MERGES = ("A1:H1", "A2:A3", "B2:B3", "C2:C3", "D2:F2", "G2:H2")
YICHUANG_HEADER = (
    "统计月份", "大厅名称", "区划代码", "依申请政务服务事项总数", "纳入综合窗口办理事项数", "一窗综合受理率",
)
HAOCHAPING_HEADER = (
    "序号", "评价编号", "办件编号", "事项编码", "事项名称", "实施部门", "区划代码", "区划名称",
    "评价渠道", "评价等级", "评价时间", "评价人", "联系电话", "是否实名", "评价内容",
)
ITEMS = (
    ("11150204MB7654321Y4000111300000", "城乡居民养老保险参保登记", "区人社局"),
    ("11150204MB7654321Y4000111310000", "失业保险金申领", "区人社局"),
    ("11150204MB1357924W4000113500000", "生育登记", "区卫健委"),
    ("11150204MB1234567X4000117010000", "个体工商户设立登记", "区市场监管局"),
    ("11150204MB1234567X4000117020000", "食品经营许可", "区市场监管局"),
    ("11150204MB2468135Z4000112100000", "不动产登记资料查询", "区自然资源分局"),
    ("11150204MB3692580K4000118200000", "最低生活保障对象认定", "区民政局"),
)
CHANNELS = ("窗口评价器", "网站", "移动端", "12345热线", "自助终端", "短信")
ON_SITE = ("窗口评价器", "自助终端")  # only rated while the hall is open
LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
LEVEL_WEIGHTS = (62, 25, 7, 5, 1)
BAD_LEVELS = ("不满意", "非常不满意")
BAD_COMMENTS = (
    "等待时间太长", "系统反复登录失败", "材料要求反复变更", "网上申报页面打不开", "办理进度查询不到",
)
GOOD_COMMENTS = ("办事效率高", "工作人员很热情", "一次办好")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"
PHONE_PREFIXES = ("130", "132", "135", "138", "147", "151", "159", "166", "173", "181", "186", "199")


def rate_text(numerator: int, denominator: int) -> str:
    """The printed rate, as the platforms print it: "95.20%" (half-up, two decimals)."""
    if denominator == 0:
        return "0.00%"
    pct = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{pct}%"


def parse_month(month: str) -> date:
    """First day of a "YYYY-MM" month; ValueError for anything else."""
    if not MONTH_RE.match(month):
        raise ValueError(f"bad month {month!r}: expected YYYY-MM")
    return date(int(month[:4]), int(month[5:]), 1)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# ---------------------------------------------------------------- 网办 (一体化政务服务平台), daily XLSX


def wangban_counts(day: date) -> list[tuple[str, str, int, int, int]]:
    """(code, name, 事项总数, 网上可办事项数, 全程网办事项数) per 街道/镇.

    A stable base per unit (seeded by its code) plus daily jitter, so a unit's series looks plausible.
    """
    rng = random.Random(f"wangban:{day.isoformat()}")
    rows = []
    for code, name in UNITS:
        base = random.Random(f"wangban:{code}")
        total = int(_clamp(base.randint(860, 1340) + rng.randint(-20, 20), 800, 1400))
        online = round(total * _clamp(base.uniform(0.87, 0.97) + rng.uniform(-0.01, 0.01), 0.855, 0.985))
        full = min(online, round(online * _clamp(base.uniform(0.82, 0.97) + rng.uniform(-0.01, 0.01), 0, 1)))
        rows.append((code, name, total, online, full))
    return rows


def _make_messy(rng: random.Random, grid: list[list[object]]) -> None:
    """Some days: a count in full-width digits, a count as text "1,281", a name with trailing spaces."""
    if rng.random() < 0.35:
        row, col = rng.randrange(len(grid)), rng.choice((3, 4, 5))
        grid[row][col] = str(grid[row][col]).translate(FULL_WIDTH)
    if rng.random() < 0.35:
        big = [(r, c) for r in range(len(grid)) for c in (3, 4, 5)
               if isinstance(value := grid[r][c], int) and value >= 1000]
        if big:
            row, col = rng.choice(big)
            grid[row][col] = f"{grid[row][col]:,}"
    if rng.random() < 0.35:
        row = rng.randrange(len(grid))
        grid[row][2] = f"{grid[row][2]}{' ' * rng.randint(1, 3)}"


class _StableZip(ZipFile):
    """A ZipFile whose entries all carry one fixed timestamp, so the same workbook gives the same bytes."""

    stamp: tuple[int, int, int, int, int, int] = (2020, 1, 1, 0, 0, 0)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # type: ignore[no-untyped-def]
        if not isinstance(zinfo_or_arcname, ZipInfo):
            info = ZipInfo(zinfo_or_arcname, date_time=self.stamp)
            info.compress_type = ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # type: ignore[no-untyped-def]
        # openpyxl writes worksheets from a temporary file, whose mtime would leak into the entry.
        with open(filename, "rb") as source:
            self.writestr(arcname or filename, source.read())  # type: ignore[no-untyped-call]


def wangban_xlsx(day: date) -> bytes:
    """青山区政务服务事项网办情况统计表 for one day, laid out like the platform's export."""
    rng = random.Random(f"wangban:{day.isoformat()}")
    counts = wangban_counts(day)
    grid: list[list[object]] = [
        [day.isoformat(), code, name, total, online, full, rate_text(online, total), rate_text(full, total)]
        for code, name, total, online, full in counts
    ]
    _make_messy(rng, grid)
    total, online, full = (sum(r[2] for r in counts), sum(r[3] for r in counts), sum(r[4] for r in counts))
    wb = Workbook()
    ws = wb.active
    ws.title = "网办情况统计"
    ws.append([f"青山区政务服务事项网办情况统计表（{day.isoformat()}）"])
    ws.append(list(WANGBAN_GROUP))
    ws.append([None, None, None, *WANGBAN_COLUMNS])
    for row in grid:
        ws.append(row)
    ws.append(["合计", None, None, total, online, full, rate_text(online, total), rate_text(full, total)])
    for cell_range in WANGBAN_MERGES:
        ws.merge_cells(cell_range)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    stamp = datetime.combine(day, time(1, 0))
    wb.properties.creator = "一体化政务服务平台"
    wb.properties.created = wb.properties.modified = stamp
    buffer = io.BytesIO()
    archive = _StableZip(buffer, "w", ZIP_DEFLATED)
    archive.stamp = (max(day.year, 1980), day.month, day.day, 1, 0, 0)
    ExcelWriter(wb, archive).save()
    return buffer.getvalue()


# ---------------------------------------------------------------- 一窗 (综合窗口 system), monthly CSV


def yichuang_rows(month: str) -> list[tuple[str, str, int, int]]:
    """(大厅名称, 区划代码, 事项总数, 纳入综合窗口办理事项数) per hall, district hall first."""
    parse_month(month)
    rng = random.Random(f"yichuang:{month}")
    halls = [(DISTRICT_HALL, DISTRICT_CODE)] + [(f"{name}便民服务中心", code) for code, name in UNITS]
    rows = []
    for hall, code in halls:
        base = random.Random(f"yichuang:{code}")
        total = base.randint(370, 660) + rng.randint(-12, 12)
        in_window = round(total * _clamp(base.uniform(0.80, 0.97) + rng.uniform(-0.015, 0.015), 0.78, 0.99))
        rows.append((hall, code, total, in_window))
    return rows


def yichuang_csv(month: str) -> bytes:
    """UTF-8 (with BOM) CSV, one row per hall; some months repeat a row exactly or carry a blank line."""
    rng = random.Random(f"yichuang:{month}")
    lines: list[list[object] | None] = [
        [month, hall, code, total, in_window, rate_text(in_window, total)]
        for hall, code, total, in_window in yichuang_rows(month)
    ]
    rng.random()  # decorrelate the messiness from the counts drawn above
    if rng.random() < 0.4:
        at = rng.randrange(len(lines))
        lines.insert(at + 1, lines[at])
    if rng.random() < 0.4:
        lines.insert(rng.randrange(1, len(lines) + 1), None)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(YICHUANG_HEADER)
    for line in lines:
        if line is None:
            out.write("\n")
        else:
            writer.writerow(line)
    return out.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- 好差评 (rating system), daily detail CSV


class Rating(NamedTuple):
    at: datetime  # naive Asia/Shanghai local time
    row: tuple[str, ...]


def _rating_second(rng: random.Random, channel: str) -> int:
    if channel in ON_SITE:
        return rng.randint(8 * 3600 + 30 * 60, 17 * 3600 + 30 * 60)
    if rng.random() < 0.85:
        return rng.randint(7 * 3600, 22 * 3600)
    return rng.randint(0, 24 * 3600 - 1)


def haochaping_ratings(day: date) -> list[Rating]:
    """The whole day's ratings in time order; 评价编号 HCP{yyyymmdd}{n:06d} follows that order."""
    rng = random.Random(f"haochaping:{day.isoformat()}")
    count = rng.randint(30, 60)
    levels = rng.choices(LEVELS, weights=LEVEL_WEIGHTS, k=count)
    if not any(level in BAD_LEVELS for level in levels):
        levels[rng.randrange(count)] = "不满意"
    drafts = []
    for level in levels:
        channel = rng.choice(CHANNELS)
        named = rng.random() < 0.75
        person = f"{rng.choice(SURNAMES)}*" if named else ""
        phone = f"{rng.choice(PHONE_PREFIXES)}****{rng.randint(0, 9999):04d}" if named else ""
        if level in BAD_LEVELS:
            comment = rng.choice(BAD_COMMENTS)
        else:
            comment = rng.choice(GOOD_COMMENTS) if rng.random() < 0.15 else ""
        named_text = "是" if named else "否"
        extra = (rng.choice(ITEMS), rng.choice(UNITS), channel, level, person, phone, named_text, comment)
        drafts.append((_rating_second(rng, channel), rng.randint(100000, 999999), extra))
    drafts.sort(key=lambda draft: draft[0])
    ymd = day.strftime("%Y%m%d")
    ratings = []
    for n, (second, case_no, extra) in enumerate(drafts, start=1):
        (item_code, item, dept), (code, name), channel, level, person, phone, named_text, comment = extra
        at = datetime.combine(day, time()) + timedelta(seconds=second)
        row = (str(n), f"HCP{ymd}{n:06d}", f"BJ{ymd}{case_no}", item_code, item, dept, code, name, channel,
               level, at.strftime("%Y-%m-%d %H:%M:%S"), person, phone, named_text, comment)
        ratings.append(Rating(at, row))
    return ratings


def _local_naive(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI).replace(tzinfo=None) if moment.tzinfo else moment


def haochaping_visible(day: date, until: datetime | None = None) -> list[Rating]:
    """The day's ratings made at or before `until` (all of them when until is None)."""
    ratings = haochaping_ratings(day)
    if until is None:
        return ratings
    limit = _local_naive(until)
    return [rating for rating in ratings if rating.at <= limit]


def haochaping_csv(day: date, until: datetime | None = None) -> bytes:
    """GB18030 CSV with CRLF, a title line, the 15 columns and a blank last line; only ratings ≤ until."""
    out = io.StringIO()
    out.write(f"政务服务“好差评”评价明细（统计日期：{day.isoformat()}）\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HAOCHAPING_HEADER)
    writer.writerows(rating.row for rating in haochaping_visible(day, until))
    out.write("\r\n")
    return out.getvalue().encode("gb18030")
