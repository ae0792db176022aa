"""12-digit statistical division codes (行政区划代码): 2 province + 2 city + 2 county + 3 township + 3 village."""

from __future__ import annotations

import re

_CODE = re.compile(r"^\d{12}$")


def is_division_code(code: str) -> bool:
    return bool(_CODE.match(code))


def level_of(code: str) -> str:
    """The level a division code denotes, read from which segments are zero."""
    if not is_division_code(code):
        raise ValueError(f"'{code}' is not a 12-digit division code")
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "city"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"
