"""Export bytes → text: UTF-8 with or without BOM, GBK/GB18030, or the codec a source names.

Reading the text as a table lives in readers.py.
"""

from __future__ import annotations

import codecs

import charset_normalizer

from shared.core.errors import InvalidInput, Problem

# GB18030 is a superset of GBK and GB2312, so decoding with it never loses a character they encode.
_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz", "euc_cn"}
# What the detector may propose when strict UTF-8 and GB18030 both failed.
_DETECTOR_CANDIDATES = ["utf_16", "utf_32", "big5", "gb18030"]


def decode(content: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Return (text, encoding used); raise InvalidInput when the bytes are not text in any expected codec."""
    if encoding != "auto":
        name = _canonical(encoding)
        if name == "utf-8" and content.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        return _decode_as(content, name), name
    if content.startswith(codecs.BOM_UTF8):
        return _checked(_decode_as(content, "utf-8-sig")), "utf-8-sig"
    # Strict attempts first: detectors guess badly on the short GBK files small districts send.
    for name in ("utf-8", "gb18030"):
        try:
            return _checked(content.decode(name)), name
        except UnicodeDecodeError:
            continue
    match = charset_normalizer.from_bytes(content, cp_isolation=_DETECTOR_CANDIDATES).best()
    if match is not None:
        name = _canonical(match.encoding)
        return _checked(_decode_as(content, name)), name
    raise InvalidInput(
        "cannot decode the export: not UTF-8 or GB18030; set encoding: in sources.yaml",
        [Problem("not UTF-8 or GB18030; set encoding: in sources.yaml", field="encoding")],
    )


def _canonical(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        message = f"unknown encoding {encoding!r}; use auto, utf-8, gb18030 or another Python codec name"
        raise InvalidInput(message, [Problem(message, field="encoding")]) from None
    return "gb18030" if name in _GB_FAMILY else name


def _decode_as(content: bytes, name: str) -> str:
    try:
        return content.decode(name)
    except UnicodeDecodeError as exc:
        message = f"cannot decode the export as {name}: invalid byte at offset {exc.start}"
        raise InvalidInput(message, [Problem(message, field="encoding")]) from None


def _checked(text: str) -> str:
    # NUL characters mean binary data (a spreadsheet or an archive) that happened to decode.
    if "\x00" in text:
        message = "cannot decode the export: it contains binary data, not text; check format: in sources.yaml"
        raise InvalidInput(message, [Problem(message, field="format")])
    return text
