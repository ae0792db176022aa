"""Decoding exports: UTF-8 with and without BOM, GBK/GB18030 (short files too), explicit codecs, garbage."""

from __future__ import annotations

import os
import zipfile
from io import BytesIO

import pytest

from services.collector.decode import decode
from shared.core.errors import InvalidInput
from tests.collector.exports import SAMPLES

HEADER = "区划代码,大厅名称,事项总数\n150204004000,富强路街道便民服务中心,1281\n"


class TestAuto:
    def test_utf8_bom(self) -> None:
        assert decode(b"\xef\xbb\xbf" + HEADER.encode()) == (HEADER, "utf-8-sig")

    def test_plain_utf8(self) -> None:
        assert decode(HEADER.encode()) == (HEADER, "utf-8")

    def test_ascii(self) -> None:
        assert decode(b"a,b\n1,2\n") == ("a,b\n1,2\n", "utf-8")

    @pytest.mark.parametrize("text", ["区划代码", "合计", HEADER, "统计月份,大厅名称\n2022-05,青山区政务服务中心\n"])
    def test_short_gbk_is_gb18030(self, text: str) -> None:
        # A detector guesses badly on a few bytes; the strict GB18030 attempt must win.
        assert decode(text.encode("gbk")) == (text, "gb18030")

    def test_characters_only_gb18030_has(self) -> None:
        text = "事项名称,备注\n𠀀𡃁办理,€\n"
        assert decode(text.encode("gb18030")) == (text, "gb18030")

    def test_utf16_with_bom_via_the_detector(self) -> None:
        text = "区划代码,名称\n" * 50
        decoded, used = decode(text.encode("utf-16"))
        assert decoded == text and used.startswith("utf")

    @pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
    def test_utf16_without_bom(self, codec: str) -> None:
        assert decode(HEADER.encode(codec)) == (HEADER, codec)

    def test_utf16_without_bom_streamed_after_a_long_ascii_start(self, monkeypatch) -> None:
        import io

        from services.collector import decode as decoding

        monkeypatch.setattr(decoding, "PROBE", 64)  # the first 64 bytes are ASCII and NUL: no codec from them
        text = "code,day,total\n" + "150204004000,2022-05-31,1281\n" * 20 + "150204002000,幸福路街道,7\n"
        blocks, used = decoding.open_text(io.BytesIO(text.encode("utf-16-le")))
        assert used == "utf-16-le" and "".join(blocks) == text

    def test_haochaping_sample_is_gb18030(self) -> None:
        path = SAMPLES / "haochaping_detail_2022-05-31.csv"
        text, used = decode(path.read_bytes())
        assert used == "gb18030"
        assert text.startswith("政务服务“好差评”评价明细")


class TestExplicit:
    def test_gbk_reads_as_gb18030(self) -> None:
        assert decode(HEADER.encode("gbk"), "gbk") == (HEADER, "gb18030")

    def test_utf8_named_but_with_bom(self) -> None:
        assert decode(b"\xef\xbb\xbfa,b\n", "utf-8") == ("a,b\n", "utf-8-sig")

    def test_wrong_codec_names_the_offset(self) -> None:
        with pytest.raises(InvalidInput, match="cannot decode the export as utf-8: invalid byte at offset 0"):
            decode("区划".encode("gbk"), "utf-8")

    def test_unknown_codec(self) -> None:
        with pytest.raises(InvalidInput, match="unknown encoding 'klingon'"):
            decode(b"a", "klingon")


class TestGarbage:
    def test_neither_utf8_nor_gb18030_names_where(self) -> None:
        content = HEADER.encode("gbk") + "区划代码\n".encode("gbk") + b"\x80\x80,\xff\n"
        with pytest.raises(InvalidInput) as caught:
            decode(content)
        offset = len(HEADER.encode("gbk")) + len("区划代码\n".encode("gbk"))
        assert f"the first byte GB18030 cannot read: offset {offset}, line 4" in caught.value.message, caught.value


    def test_random_bytes(self) -> None:
        noise = bytes([0x80, 0xFF]) + os.urandom(4000)
        with pytest.raises(InvalidInput) as caught:
            decode(noise)
        assert caught.value.message.startswith("cannot decode")
        assert "set encoding: in sources.yaml" in caught.value.message or "binary" in caught.value.message

    def test_a_zip_is_not_text(self) -> None:
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("a.txt", "x" * 100)
        with pytest.raises(InvalidInput, match="cannot decode"):
            decode(buffer.getvalue())

    def test_nul_bytes_mean_binary(self) -> None:
        with pytest.raises(InvalidInput, match="binary data"):
            decode(b"a,b\x00\x00c\n")


class TestStreamed:
    def test_codec_judged_by_the_first_chinese_text_after_a_long_ascii_start(self, monkeypatch) -> None:
        import io

        from services.collector import decode as decoding

        monkeypatch.setattr(decoding, "PROBE", 64)
        text = "code,day,total\n" + "150204004000,2022-05-31,1281\n" * 20 + "150204002000,幸福路街道,7\n"
        for encoding, expected in (("gbk", "gb18030"), ("utf-8", "utf-8")):
            blocks, used = decoding.open_text(io.BytesIO(text.encode(encoding)))
            assert used == expected and "".join(blocks) == text
