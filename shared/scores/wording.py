"""The scores' reasons in Chinese, for the 通报 readers (the XLSX's 说明, the web view): the API's `reasons` stay
English for integrators, and each is told here from its English form (compute.py writes them)."""

from __future__ import annotations

import re
from collections.abc import Callable

HALF = {"H1": "上半年", "H2": "下半年"}  # the XLSX heads its halves' columns with these too


def period_zh(period: str) -> str:
    """2022H1 → 2022 年上半年; 2022 → 2022 年."""
    return f"{period[:4]} 年{HALF.get(period[4:], '')}" if re.fullmatch(r"\d{4}(H[12])?", period) else period


_REASONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"no verified assessment for (\S+)"), lambda m: f"{period_zh(m[1])}尚无已核实的评估"),
    (re.compile(r"(\S+) \(\w+\) has no verified (?:points|score): counted as 0"),
     lambda m: f"{m[1]}尚无已核实的分值，按 0 分计"),
    (re.compile(r"(\S+) \(\w+\): items (.+) not yet scored by every lead unit"),
     lambda m: f"{m[1]}第 {m[2]} 项尚未由全部牵头单位评分"),
    (re.compile(r"(\S+) is missing"), lambda m: f"{period_zh(m[1])}缺失"),
    (re.compile(r"(\d{4}H[12]): (.+)"), lambda m: f"{period_zh(m[1])}：{chinese(m[2])}"),  # a year's, of a half
]


def chinese(reason: str) -> str:
    """One reason in Chinese; one this does not know is given as it is (English beats a wrong translation)."""
    for pattern, say in _REASONS:
        if m := pattern.fullmatch(reason):
            return say(m)
    return reason
