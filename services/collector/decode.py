"""Export bytes → text: UTF-8 with or without BOM, GBK/GB18030, UTF-16 (a BOM or not), or the codec a source names.

Reading the text as a table lives in readers.py.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

import charset_normalizer

from shared.core.errors import InvalidInput, Problem

# GB18030 is a superset of GBK and GB2312, so decoding with it never loses a character they encode.
_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz", "euc_cn"}
# What the detector may propose when strict UTF-8 and GB18030 both failed.
_DETECTOR_CANDIDATES = ["utf_16", "utf_32", "big5", "gb18030"]


PROBE = 1 << 20  # bytes read to choose the codec of a streamed export
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def decode(content: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Return (text, encoding used); raise InvalidInput when the bytes are not text in any expected codec."""
    blocks, used = open_text(io.BytesIO(content), encoding)
    return "".join(blocks), used


def open_text(stream: BinaryIO, encoding: str = "auto") -> tuple[Iterator[str], str]:
    """Text blocks of a binary stream, decoded strictly, and the codec chosen from its first megabyte.

    A byte the codec cannot decode further on raises InvalidInput naming its offset (the run then fails whole).
    """
    head = stream.read(PROBE)
    sample, complete = head, len(head) < PROBE
    if encoding == "auto" and head.isascii() and b"\x00" not in head and not complete and stream.seekable():
        # Plain ASCII so far says nothing about the codec: judge by the first text that is not ASCII.
        sample, complete = _first_non_ascii(stream)
        stream.seek(len(head))
    name = choose_codec(sample, encoding, complete=complete)
    return _blocks(head, stream, name), name


def _first_non_ascii(stream: BinaryIO) -> tuple[bytes, bool]:
    """PROBE bytes from the first non-ASCII byte on (a character boundary in UTF-8 and GB18030 alike, as every
    byte before it is a whole character), and whether that is the end of the stream."""
    while block := stream.read(PROBE):
        if found := _NON_ASCII.search(block):
            start = found.start()
            sample = block[start:] + stream.read(start)
            return sample, len(sample) < PROBE
    return b"", True


def choose_codec(head: bytes, encoding: str = "auto", *, complete: bool = True) -> str:
    """The codec of an export whose first bytes are `head` (all of it when `complete`)."""
    if encoding != "auto":
        name = _canonical(encoding)
        return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    if head.startswith(codecs.BOM_UTF8):
        return _checked(head, "utf-8-sig", complete)
    if (wide := _utf16_without_bom(head)) is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return _checked(head, wide, complete)
    # Strict attempts first: detectors guess badly on the short GBK files small districts send.
    gb_error = None
    for name in ("utf-8", "gb18030"):
        try:
            return _checked(head, name, complete)
        except UnicodeDecodeError as exc:
            gb_error = exc
    match = charset_normalizer.from_bytes(head, cp_isolation=_DETECTOR_CANDIDATES).best()
    if match is not None:
        name = _canonical(match.encoding)
        try:
            return _checked(head, name, complete)
        except UnicodeDecodeError as exc:
            raise _undecodable(name, exc.start) from None
    assert gb_error is not None
    where = _where(head, gb_error.start)
    message = f"not UTF-8 or GB18030 (the first byte GB18030 cannot read: {where}); set encoding: in sources.yaml"
    raise InvalidInput(f"cannot decode the export: {message}", [Problem(message, field="encoding")])


def _where(head: bytes, offset: int) -> str:
    line = head.count(b"\n", 0, offset) + 1
    return f"offset {offset}, line {line}"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without its BOM: the zero high bytes of ASCII (digits, commas, codes) on one side of each pair, and
    on the other side only the few zero low bytes of characters like 一 (U+4E00). UTF-8 and GB18030 text holds no
    zero byte at all."""
    sample = head[:4096]
    pairs = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if pairs < 4:
        return None
    if odd >= pairs / 4 and even * 10 < odd:
        return "utf-16-le"
    if even >= pairs / 4 and odd * 10 < even:
        return "utf-16-be"
    return None


def _blocks(head: bytes, stream: BinaryIO, name: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(name)(errors="strict")
    offset, data = 0, head
    while True:
        pending = len(decoder.getstate()[0])
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise _undecodable(name, offset - pending + exc.start) from None
        if text:
            yield text
        if not data:
            return
        offset += len(data)
        data = stream.read(PROBE)


def _canonical(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        message = f"unknown encoding {encoding!r}; use auto, utf-8, gb18030 or another Python codec name"
        raise InvalidInput(message, [Problem(message, field="encoding")]) from None
    return "gb18030" if name in _GB_FAMILY else name


def _undecodable(name: str, offset: int) -> InvalidInput:
    message = f"cannot decode the export as {name}: invalid byte at offset {offset}"
    return InvalidInput(message, [Problem(message, field="encoding")])


def _checked(head: bytes, name: str, complete: bool) -> str:
    """`name` if `head` decodes with it (a character cut at the end of an incomplete head is fine); raises
    UnicodeDecodeError otherwise. NUL characters mean binary data (a spreadsheet, an archive) that happened to
    decode."""
    text = codecs.getincrementaldecoder(name)(errors="strict").decode(head, final=complete)
    if "\x00" in text:
        message = "cannot decode the export: it contains binary data, not text; check format: in sources.yaml"
        raise InvalidInput(message, [Problem(message, field="format")])
    return name
