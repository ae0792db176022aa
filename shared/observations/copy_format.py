"""A chunk's staged rows as PostgreSQL binary COPY data, built in the collector's parse thread: the event loop
then sends one block of bytes instead of formatting 100 k rows itself — on the database's critical path, and
sharing the interpreter with that thread. The format is PostgreSQL's (docs: COPY, "Binary Format"): a signature,
then per row its field count and each field as its byte length (-1: NULL) and its bytes in network order, then
a trailer. Only the staging table's layout: int4, int4, date, three float8 that may be NULL, int4."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import date

from shared.observations.validate import CheckedFigure

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # + flags, header extension
TRAILER = b"\xff\xff"
_FIELDS = 7
_POSTGRES_EPOCH = date(2000, 1, 1).toordinal()  # a date is its days since 2000-01-01
# One layout per NULL pattern of the three numbers: a number is its length 8 and the double, a NULL length -1.
_ROW = {
    nulls: struct.Struct("!h" + "ii" * 3 + "".join("i" if null else "id" for null in nulls) + "ii")
    for nulls in ((n, d, v) for n in (False, True) for d in (False, True) for v in (False, True))
}


def staged_rows(rows: Iterable[CheckedFigure]) -> bytearray:
    """The rows (indicator_id, org_id, obs_date, numerator, denominator, value, row) as one COPY FROM STDIN
    (FORMAT BINARY) payload, signature and trailer included."""
    out = bytearray(SIGNATURE)
    full = _ROW[False, False, False].pack
    for indicator_id, org_id, day, numerator, denominator, value, row in rows:
        days = day.toordinal() - _POSTGRES_EPOCH
        if numerator is not None and denominator is not None and value is not None:  # the usual ratio: no list
            out += full(_FIELDS, 4, indicator_id, 4, org_id, 4, days, 8, numerator, 8, denominator, 8, value, 4, row)
            continue
        fields: list[int | float] = [_FIELDS, 4, indicator_id, 4, org_id, 4, days]
        for number in (numerator, denominator, value):
            fields += (-1,) if number is None else (8, number)
        fields += (4, row)
        out += _ROW[numerator is None, denominator is None, value is None].pack(*fields)
    out += TRAILER
    return out
