"""sources.yaml: the shipped file loads, and every kind of mistake is reported with its path and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.collector.sources import DEFAULT_PATH, RATING_PII, load_sources, parse_sources
from shared.core.errors import InvalidInput, Problem

GOOD = """\
sources:
  - id: wangban
    url: http://127.0.0.1:8100/exports/wangban/{date}.xlsx
    format: xlsx
    schedule: "*/5 * * * *"
    unit: {code_column: 区划代码}
    date: {column: 统计日期}
    figures:
      - {indicator: QS-05, numerator: 网上可办事项数, denominator: 事项总数}
    scope: "150204000000"
"""


def problems(text: str) -> list[Problem]:
    with pytest.raises(InvalidInput) as caught:
        parse_sources(text)
    return list(caught.value.details)


def one_problem(text: str) -> Problem:
    [problem] = problems(text)
    return problem


class TestShipped:
    def test_three_sample_families(self) -> None:
        sources = {s.id: s for s in load_sources()}
        assert list(sources) == ["wangban", "yichuang", "haochaping"]
        wangban, yichuang, haochaping = sources.values()
        assert (wangban.format, wangban.daily, wangban.schedule) == ("xlsx", True, "*/5 * * * *")
        assert [(f.indicator, f.numerator, f.denominator, f.printed_rate) for f in wangban.figures] == [
            ("QS-05", "网上可办事项数", "事项总数", "网上可办率"),
            ("QS-07", "全程网办事项数", "事项总数", "全程网办率")]
        assert (yichuang.date.grain if yichuang.date else None) == "month"
        assert yichuang.url_for(date(2022, 5, 31)) == "http://127.0.0.1:8100/exports/yichuang/2022-05.csv"
        assert haochaping.kind == "ratings" and haochaping.date is None
        assert {"评价人", "联系电话", "评价内容"} <= set(haochaping.pii_columns or [])

    def test_defaults(self) -> None:
        [source] = parse_sources(GOOD)
        assert (source.timezone, source.encoding, source.header_row, source.kind) == ("Asia/Shanghai", "auto", "auto",
                                                                                     "figures")
        assert (source.timeout_seconds, source.retries, source.auth, source.daily) == (30, 3, None, False)
        assert (source.download_seconds, source.max_mb) == (900, 1024)
        assert source.total_markers == ["合计", "总计", "小计"] and source.pii_columns == []
        assert source.url_for(date(2022, 5, 31)) == "http://127.0.0.1:8100/exports/wangban/2022-05-31.xlsx"

    def test_ratings_default_pii(self) -> None:
        text = GOOD.replace("    date: {column: 统计日期}\n", "").replace(
            "    figures:\n      - {indicator: QS-05, numerator: 网上可办事项数, denominator: 事项总数}\n",
            "    kind: ratings\n    ratings: {id: 评价编号, level: 评价等级, time: 评价时间, channel: 评价渠道,"
            " item: 事项名称}\n")
        [source] = parse_sources(text)
        assert source.pii_columns == RATING_PII

    def test_bare_list_and_auth(self) -> None:
        text = GOOD.replace("sources:\n", "").replace("    format", "    auth: {env: SCORECARD_SOURCE_TOKEN_X, "
                                                       'prefix: "Bearer "}\n    format')
        [source] = parse_sources(text.replace("\n  ", "\n").removeprefix("  "))
        assert source.auth is not None and source.auth.env == "SCORECARD_SOURCE_TOKEN_X"
        assert source.auth.header == "Authorization"


class TestMistakes:
    def test_unknown_format(self) -> None:
        text = GOOD + GOOD.removeprefix("sources:\n").replace("id: wangban", "id: wangban2").replace("xlsx\n", "xls\n")
        assert one_problem(text) == Problem("unknown format 'xls'; use csv, xlsx or json", row=13,
                                            field="sources[1].format")

    def test_misspelt_column_key(self) -> None:
        text = GOOD.replace("denominator: 事项总数", "denomnator: 事项总数")
        found = problems(text)
        assert Problem("unknown setting 'denomnator' (check the spelling)", 9,
                       "sources[0].figures[0].denomnator") in found

    def test_column_name_must_be_text(self) -> None:
        problem = one_problem(GOOD.replace("numerator: 网上可办事项数", "numerator: [a, b]"))
        assert problem.field == "sources[0].figures[0].numerator" and problem.row == 9

    def test_numerator_without_denominator(self) -> None:
        problem = one_problem(GOOD.replace(", denominator: 事项总数", ""))
        assert problem.message == "numerator and denominator go together; set both or neither"
        assert problem.field == "sources[0].figures[0]"

    @pytest.mark.parametrize(
        ("old", "new", "field", "message"),
        [
            ("id: wangban", "id: Wang Ban", "sources[0].id", "'Wang Ban' is not a slug; use a-z, 0-9, - and _"),
            ("url: http://", "url: ftp://", "sources[0].url", "must start with http://, https:// or file://"),
            ("{date}.xlsx", "{day}.xlsx", "sources[0].url", "unknown placeholder {day}; use {date} (YYYY-MM-DD)"),
            ('"*/5 * * * *"', '"61 * * * *"', "sources[0].schedule", "'61 * * * *' is not a 5-field cron"),
            ('"*/5 * * * *"', '"* * *"', "sources[0].schedule", "Wrong number of fields"),
            ("format: xlsx", "format: xlsx\n    encoding: klingon", "sources[0].encoding", "unknown encoding"),
            ("format: xlsx", "format: xlsx\n    timezone: Mars/Base", "sources[0].timezone", "unknown time zone"),
            ("format: xlsx", "format: xlsx\n    header_row: 0", "sources[0].header_row", "header_row 0: use auto"),
            ("format: xlsx", "format: xlsx\n    kind: table", "sources[0].kind", "unknown kind 'table'"),
            ("{column: 统计日期}", "{column: 统计日期, grain: week}", "sources[0].date.grain", "unknown grain 'week'"),
            ("{column: 统计日期}", "{from: body}", "sources[0].date.from", "unknown date source 'body'"),
            ("{column: 统计日期}", "{column: 统计日期, from: filename}", "sources[0].date", "set exactly one of"),
            ("{code_column: 区划代码}", "{name_column: 大厅名称, names: {青山区: 150204}}",
             "sources[0].unit.names.青山区", "'150204' is not a 12-digit division code"),
            ("{code_column: 区划代码}", "{}", "sources[0].unit", "set exactly one of code_column"),
            ("format: xlsx", "format: xlsx\n    auth: {env: Bearer abc123}", "sources[0].auth.env",
             "put the NAME here, not the secret"),
            ("format: xlsx", "format: xlsx\n    auth: {env: X, token: abc}", "sources[0].auth.token",
             "unknown setting"),
            ("format: xlsx", "format: xlsx\n    pii_columns: [事项总数]", "sources[0]",
             "column '事项总数' is listed in pii_columns and cannot be mapped"),
            ("format: xlsx", "format: xlsx\n    timeout_seconds: 0", "sources[0].timeout_seconds", "greater than 0"),
            ("format: xlsx", "format: xlsx\n    download_seconds: -1", "sources[0].download_seconds", "greater than 0"),
            ("format: xlsx", "format: xlsx\n    max_mb: 0", "sources[0].max_mb", "greater than 0"),
        ],
    )
    def test_field_errors(self, old: str, new: str, field: str, message: str) -> None:
        problem = one_problem(GOOD.replace(old, new, 1))
        assert problem.field == field
        assert message in problem.message
        assert problem.row is not None and 2 <= problem.row <= 10

    def test_missing_required_setting(self) -> None:
        assert one_problem(GOOD.replace("    format: xlsx\n", "")) == Problem("required setting 'format' is missing", 2,
                                                                          "sources[0].format")

    def test_figures_source_without_figures_or_date(self) -> None:
        no_figures = GOOD.split("    figures:")[0] + '    scope: "150204000000"\n'
        assert "needs a non-empty figures" in one_problem(no_figures).message
        assert "needs date:" in one_problem(GOOD.replace("    date: {column: 统计日期}\n", "")).message

    def test_every_problem_at_once(self) -> None:
        text = GOOD.replace("xlsx\n", "xls\n").replace('"*/5 * * * *"', '"bad"')
        assert [p.field for p in problems(text)] == ["sources[0].format", "sources[0].schedule"]

    def test_duplicate_ids(self) -> None:
        problem = one_problem(GOOD + GOOD.removeprefix("sources:\n"))
        assert problem == Problem("source id 'wangban' is already used by sources[0]", 11, "sources[1].id")

    def test_yaml_syntax_error_has_its_line(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            parse_sources(GOOD.replace("    format: xlsx", "   format: xlsx"))
        assert caught.value.message.startswith("sources.yaml: YAML syntax error at line 4")
        assert caught.value.details[0].row == 4

    def test_not_a_mapping(self) -> None:
        assert one_problem("just text").message == "sources.yaml: expected a mapping with a sources: list"

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidInput, match="cannot read .*nope.yaml"):
            load_sources(tmp_path / "nope.yaml")

    def test_load_from_a_path(self, tmp_path: Path) -> None:
        path = tmp_path / "sources.yaml"
        path.write_text(GOOD.replace("xlsx\n", "xls\n"), encoding="utf-8")
        with pytest.raises(InvalidInput, match=r"sources.yaml: 1 problem\(s\), first sources\[0\].format"):
            load_sources(path)
        assert DEFAULT_PATH.name == "sources.yaml"

    def test_bare_list_with_a_mistake_still_has_its_line(self) -> None:
        text = GOOD.removeprefix("sources:\n").replace("\n  ", "\n").removeprefix("  ").replace("xlsx\n", "xls\n")
        assert one_problem(text) == Problem("unknown format 'xls'; use csv, xlsx or json", 3, "sources[0].format")

    def test_ratings_take_their_day_from_the_time(self) -> None:
        text = GOOD.replace(
            "    figures:\n      - {indicator: QS-05, numerator: 网上可办事项数, denominator: 事项总数}\n",
            "    kind: ratings\n    ratings: {id: 评价编号, level: 评价等级, time: 评价时间, channel: 评价渠道,"
            " item: 事项名称}\n")
        assert "remove date:" in one_problem(text).message
