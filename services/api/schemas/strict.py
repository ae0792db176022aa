"""Field types for request bodies that take JSON as written: a number is a JSON number (not `true`, not "12"; an
integer may be written 2022.0), a date is the text YYYY-MM-DD (not a Unix timestamp such as 1653955200), a flag
is true or false."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(v: Any) -> Any:
    # pydantic's lax date also takes 1653955200 and "1653955200" (seconds since 1970): a platform sending
    # those has a bug that a silent conversion would hide.
    if isinstance(v, date) or (isinstance(v, str) and _ISO_DATE.fullmatch(v)):
        return v
    raise ValueError("give the date as text YYYY-MM-DD, e.g. \"2022-05-31\"")


Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
def _integral(v: Any) -> Any:
    # JSON Schema's "integer" is any number with a zero fraction: 2022.0 is the integer 2022 (what the OpenAPI
    # document promises); 2022.5, true and "2022" stay refused by the strict int.
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


Integer = Annotated[int, BeforeValidator(_integral), Strict()]
Flag = Annotated[bool, Strict()]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
