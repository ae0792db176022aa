"""The push body's two parsers (services/api/schemas/observations.py) keep the same rules: whatever the fast one
(msgspec) accepts, the full one (pydantic) accepts with the same rows; whatever the full one refuses, the fast
one refuses too, so a bad body always reaches the parser that lists every error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from services.api.schemas import observations as schema

HOSTILE_BODIES = sorted((Path(__file__).resolve().parents[1] / "hostile" / "files" / "api").glob("*.json"))
GOOD_ROW = '"indicator":"QS-07","org":"150204001000","date":"2022-05-31"'


def _row(extra: str = "", row: str = GOOD_ROW) -> bytes:
    return ('{"observations":[{' + row + extra + "}]}").encode()


CASES: dict[str, bytes] = {
    "plain ratio": _row(',"numerator":12,"denominator":20'),
    "count": _row(',"value":3.5'),
    "nulls": _row(',"numerator":null,"denominator":null,"value":null'),
    "exponent": _row(',"numerator":1E2,"denominator":5e-324'),
    "negative zero": _row(',"numerator":-0.0'),
    "huge integer": _row(',"numerator":123456789012345678901234567890'),
    "beyond double": _row(',"numerator":1.7976931348623157e309'),
    "NaN": _row(',"numerator":NaN'),
    "Infinity": _row(',"numerator":Infinity'),
    "true": _row(',"numerator":true'),
    "string number": _row(',"numerator":"12"'),
    "leading zero": _row(',"numerator":00'),
    "unknown field": _row(',"x":1'),
    "timestamp date": _row(row='"indicator":"QS-07","org":"150204001000","date":1653955200'),
    "timestamp text": _row(row='"indicator":"QS-07","org":"150204001000","date":"1653955200"'),
    "short date": _row(row='"indicator":"QS-07","org":"150204001000","date":"2022-5-1"'),
    "datetime": _row(row='"indicator":"QS-07","org":"150204001000","date":"2022-05-31T00:00:00"'),
    "no such day": _row(row='"indicator":"QS-07","org":"150204001000","date":"2022-02-30"'),
    "year 0": _row(row='"indicator":"QS-07","org":"150204001000","date":"0000-01-01"'),
    "last day": _row(row='"indicator":"QS-07","org":"150204001000","date":"9999-12-31"'),
    "Chinese at the limit": _row(row=f'"indicator":"{"条" * 32}","org":"o","date":"2022-05-31"'),
    "Chinese over the limit": _row(row=f'"indicator":"{"条" * 33}","org":"o","date":"2022-05-31"'),
    "org at the limit": _row(row=f'"indicator":"QS-07","org":"{"1" * 24}","date":"2022-05-31"'),
    "org over the limit": _row(row=f'"indicator":"QS-07","org":"{"1" * 25}","date":"2022-05-31"'),
    "empty code": _row(row='"indicator":"","org":"o","date":"2022-05-31"'),
    "missing org": _row(row='"indicator":"QS-07","date":"2022-05-31"'),
    "emoji escape": _row(row=r'"indicator":"\ud83d\ude00","org":"o","date":"2022-05-31"'),
    "lone surrogate": _row(row=r'"indicator":"\ud800","org":"o","date":"2022-05-31"'),
    "invalid UTF-8": b'{"observations":[{"indicator":"\xff\xfe","org":"o","date":"2022-05-31"}]}',
    "empty list": b'{"observations":[]}',
    "null list": b'{"observations":null}',
    "array body": b"[]",
    "trailing bytes": _row() + b"x",
    "byte order mark": b"\xef\xbb\xbf" + _row(),
    "whitespace": b"  " + _row() + b"\n",
    **{f"hostile {p.name}": p.read_bytes() for p in HOSTILE_BODIES},
}


def _parsed(parse: Callable[[bytes], Any], raw: bytes) -> list[tuple[Any, ...]] | None:
    """The rows a parser gives for the body, as tuples of the row fields; None when it refuses the body."""
    try:
        rows = parse(raw).observations
    except (msgspec.ValidationError, msgspec.DecodeError, ValidationError):
        return None
    return [tuple(getattr(r, f) for f in schema.ObservationBody.model_fields) for r in rows]


def _fast(raw: bytes) -> list[tuple[Any, ...]] | None:
    return _parsed(schema._fast.decode, raw)


def _full(raw: bytes) -> list[tuple[Any, ...]] | None:
    return _parsed(schema.ObservationsPush.model_validate_json, raw)


@pytest.mark.parametrize("raw", CASES.values(), ids=CASES.keys())
def test_the_fast_parser_accepts_exactly_what_the_full_one_does(raw: bytes) -> None:
    fast, full = _fast(raw), _full(raw)
    if b'"observations": [], "observations"' in raw:
        # A repeated key (refused by the request guard before any parser): msgspec checks each occurrence, pydantic
        # the last one only — the safe side, the fast one refuses.
        assert fast is None and full is not None
    else:
        assert fast == full


def test_the_corpus_has_both_outcomes() -> None:
    outcomes = [_full(raw) is None for raw in CASES.values()]
    assert 10 < sum(outcomes) < len(outcomes) - 5
    assert len(HOSTILE_BODIES) >= 15  # the hostile corpus is found


def test_both_parsers_know_the_same_fields() -> None:
    assert list(schema._FastRow.__struct_fields__) == list(schema.ObservationBody.model_fields)
    assert list(schema._FastPush.__struct_fields__) == list(schema.ObservationsPush.model_fields)


def test_a_bad_body_lists_every_error() -> None:
    raw = ('{"observations":[{' + GOOD_ROW + ',"numerator":true},{' + GOOD_ROW + '},{'
           + GOOD_ROW.replace("2022-05-31", "1653955200") + ',"value":"3"}]}').encode()
    with pytest.raises(ValidationError) as caught:
        schema.parse_push(raw)
    assert sorted(e["loc"] for e in caught.value.errors()) == [
        ("observations", 0, "numerator"), ("observations", 2, "date"), ("observations", 2, "value")]


def test_a_good_body_gives_its_rows_as_sent() -> None:
    raw = ('{"observations":[{' + GOOD_ROW + ',"numerator":12,"denominator":20},{"indicator":"QS-08",'
           '"org":"150204001000","date":"2022-06-01","value":7}]}').encode()
    rows = schema.parse_push(raw)
    assert [(r.indicator, r.org, r.date.isoformat(), r.numerator, r.denominator, r.value) for r in rows] == [
        ("QS-07", "150204001000", "2022-05-31", 12.0, 20.0, None), ("QS-08", "150204001000", "2022-06-01", None,
                                                                     None, 7.0)]
