"""Export bytes → text: UTF-8 with or without BOM, GBK/GB18030, or the codec a source names.

Reading the text as a table lives in readers.py.
"""

from __future__ import annotations

import codecs
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
    if encoding == "auto" and head.isascii() and not complete and stream.seekable():
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
    # Strict attempts first: detectors guess badly on the short GBK files small districts send.
    for name in ("utf-8", "gb18030"):
        try:
            return _checked(head, name, complete)
        except UnicodeDecodeError:
            continue
    match = charset_normalizer.from_bytes(head, cp_isolation=_DETECTOR_CANDIDATES).best()
    if match is not None:
        name = _canonical(match.encoding)
        try:
            return _checked(head, name, complete)
        except UnicodeDecodeError as exc:
            raise _undecodable(name, exc.start) from None
    raise InvalidInput(
        "cannot decode the export: not UTF-8 or GB18030; set encoding: in sources.yaml",
        [Problem("not UTF-8 or GB18030; set encoding: in sources.yaml", field="encoding")],
    )


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
