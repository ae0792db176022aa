"""sources.yaml: the models of one configured export source, and loading the file with precise errors.

Only the configuration lives here; fetching and parsing use it elsewhere. `env` fields name variables, never secrets.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)

from shared.core.errors import InvalidInput, Problem

DEFAULT_PATH = Path(__file__).with_name("sources.yaml")
RATING_PII = ["评价人", "联系电话", "身份证号", "证件号码", "手机号", "联系方式", "评价人姓名"]


def _matching(pattern: str, hint: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"{value!r} {hint}")
        return value

    return AfterValidator(check)


def _valid(test: Callable[[str], object], message: str) -> AfterValidator:
    """Run test(value); whatever it raises becomes the operator-facing message (with {value} and {reason}).
    Own messages instead of pydantic's: they tell the operator what to write."""
    def check(value: str) -> str:
        try:
            test(value)
        except Exception as exc:  # cron, zoneinfo and codecs each raise their own types
            raise ValueError(message.format(value=value, reason=exc)) from None
        return value

    return AfterValidator(check)


def _header_row(v: Any) -> Any:
    if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
        return v
    raise ValueError(f"header_row {v!r}: use auto or a row number counted from 1 (the file's first line)")


def _url(url: str) -> str:
    if not url.startswith(("http://", "https://", "file://")):
        raise ValueError(f"{url!r}: the URL must start with http://, https:// or file://")
    bad = [p for p in re.findall(r"\{([^{}]*)\}", url) if p not in ("date", "month")]
    if bad:
        raise ValueError(f"unknown placeholder {{{bad[0]}}}; use {{date}} (YYYY-MM-DD) or {{month}} (YYYY-MM)")
    return url


Slug = Annotated[str, _matching(r"[a-z0-9][a-z0-9_-]{0,62}", "is not a slug; use a-z, 0-9, - and _")]
Code = Annotated[str, BeforeValidator(str), _matching(r"[0-9]{12}", "is not a 12-digit division code")]
DateFrom = Annotated[str, _valid(("filename", "title").index, "unknown date source {value!r}; use filename or title")]
Kind = Annotated[str, _valid(("figures", "ratings").index, "unknown kind {value!r}; use figures or ratings")]
EnvName = Annotated[str, _matching(r"[A-Z_][A-Z0-9_]*", "is not a variable name; put the NAME here, not the secret")]


@dataclass
class SourceMisconfigured(InvalidInput):
    """A source's settings in sources.yaml do not fit the database (a run fails with failure `config`)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class UnitConfig(_Model):
    """How a row names its unit: a 12-digit division code column, or a name column mapped to codes."""

    code_column: str | None = None
    name_column: str | None = None
    names: dict[str, Code] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way(self) -> UnitConfig:
        if (self.code_column is None) == (self.name_column is None):
            raise ValueError("set exactly one of code_column (区划代码) or name_column (e.g. 大厅名称)")
        if self.code_column is not None and self.names:
            raise ValueError("names: applies only with name_column")
        return self


class DateConfig(_Model):
    """Which day a row belongs to: a column, or a date found in the file name or title lines."""

    column: str | None = None
    from_: DateFrom | None = Field(default=None, alias="from")
    grain: Annotated[str, _valid(("day", "month").index, "unknown grain {value!r}; use day or month")] = "day"

    @model_validator(mode="after")
    def _one_way(self) -> DateConfig:
        if (self.column is None) == (self.from_ is None):
            raise ValueError("set exactly one of column (e.g. 统计日期) or from (filename or title)")
        return self


class FigureConfig(_Model):
    """One indicator fed by a column pair (numerator/denominator) or by a value column."""

    indicator: str = Field(min_length=1)
    numerator: str | None = None
    denominator: str | None = None
    printed_rate: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _columns(self) -> FigureConfig:
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("numerator and denominator go together; set both or neither")
        if self.numerator is None and self.value is None:
            raise ValueError("set numerator and denominator, or value")
        if self.printed_rate is not None and self.numerator is None:
            raise ValueError("printed_rate needs numerator and denominator to be checked against")
        return self

    def columns(self) -> list[str]:
        return [c for c in (self.numerator, self.denominator, self.value) if c is not None]


class RatingsConfig(_Model):
    """Header names of a 好差评 detail export."""

    id: str
    level: str
    time: str
    channel: str
    item: str
    item_code: str | None = None
    department: str | None = None
    named: str | None = None

    def columns(self) -> list[str]:
        """The columns every export must have (the three optional ones are read when there)."""
        return [self.id, self.level, self.time, self.channel, self.item]

    def optional_columns(self) -> list[str]:
        return [c for c in (self.item_code, self.department, self.named) if c is not None]


class AuthConfig(_Model):
    """An auth header whose value is read from the environment variable named by env at fetch time."""

    header: str = "Authorization"
    env: EnvName
    prefix: str = ""


class SourceConfig(_Model):
    """One export the collector pulls: where, when, how to read it, and what each column feeds."""

    id: Slug
    url: Annotated[str, AfterValidator(_url)]
    format: Annotated[str, _valid(("csv", "xlsx", "json").index, "unknown format {value!r}; use csv, xlsx or json")]
    schedule: Annotated[str, _valid(lambda v: CronTrigger.from_crontab(v, timezone="Asia/Shanghai"),
                                    '{value!r} is not a 5-field cron expression ({reason}); e.g. "30 6 * * *"')]
    timezone: Annotated[str, _valid(ZoneInfo, "unknown time zone {value!r}; e.g. Asia/Shanghai")] = "Asia/Shanghai"
    daily: bool = False
    encoding: Annotated[str, _valid(lambda v: v == "auto" or codecs.lookup(v),
                                    "unknown encoding {value!r}; use auto, utf-8, utf-8-sig or gb18030")] = "auto"
    header_row: Annotated[int | str, PlainValidator(_header_row)] = "auto"
    kind: Kind = "figures"
    # The subtree this source may write for: the unit with this division code and the units under it. A row for
    # any other unit is rejected, so a district's export cannot write another district's (or city's) figures.
    scope: Code
    unit: UnitConfig
    date: DateConfig | None = None
    figures: list[FigureConfig] = Field(default_factory=list)
    ratings: RatingsConfig | None = None
    pii_columns: list[str] | None = None
    total_markers: list[str] = Field(default_factory=lambda: ["合计", "总计", "小计"])
    auth: AuthConfig | None = None
    timeout_seconds: float = Field(default=30, gt=0, le=3600)  # each wait for the platform (connect, each read)
    download_seconds: float = Field(default=900, gt=0, le=86400)  # the whole download, however it trickles in
    max_mb: float = Field(default=1024, gt=0, le=65536)  # the largest export downloaded (MB of 10⁶ bytes)
    retries: int = Field(default=3, ge=0, le=20)

    @model_validator(mode="after")
    def _by_kind(self) -> SourceConfig:
        if self.kind == "figures":
            if not self.figures or self.ratings is not None:
                raise ValueError("kind figures needs a non-empty figures: list and no ratings:")
            if self.date is None:
                raise ValueError("kind figures needs date: (column, or from filename/title)")
        elif self.ratings is None or self.figures:
            raise ValueError("kind ratings needs ratings: column names and no figures:")
        elif self.date is not None:
            raise ValueError("kind ratings takes each rating's day from its time column; remove date:")
        if self.pii_columns is None:
            object.__setattr__(self, "pii_columns", list(RATING_PII) if self.kind == "ratings" else [])
        exposed = [c for c in self.mapped_columns() if c in (self.pii_columns or [])]
        if exposed:
            raise ValueError(f"column {exposed[0]!r} is listed in pii_columns and cannot be mapped")
        indicators = [f.indicator for f in self.figures]
        dup = next((i for i in indicators if indicators.count(i) > 1), None)
        if dup:
            raise ValueError(f"indicator {dup!r} appears twice in figures")
        return self

    def mapped_columns(self) -> list[str]:
        """Every header this source reads (never a PII column)."""
        cols = [self.unit.code_column or self.unit.name_column or ""]
        if self.date is not None and self.date.column is not None:
            cols.append(self.date.column)
        for f in self.figures:
            cols += f.columns()
        if self.ratings is not None:
            cols += self.ratings.columns() + self.ratings.optional_columns()
        return cols

    def url_for(self, day: dt.date) -> str:
        """The URL with {date} (YYYY-MM-DD) and {month} (YYYY-MM) filled for one day."""
        return self.url.replace("{date}", day.isoformat()).replace("{month}", day.strftime("%Y-%m"))


class SourcesFile(_Model):
    sources: list[SourceConfig]


def load_sources(path: Path = DEFAULT_PATH) -> list[SourceConfig]:
    """Read and validate sources.yaml; every problem is reported at once as InvalidInput details."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        raise InvalidInput(message, [Problem(message, field="sources")]) from None
    return parse_sources(text, path.name)


def parse_sources(text: str, origin: str = "sources.yaml") -> list[SourceConfig]:
    try:
        doc = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        message = f"{origin}: YAML syntax error{where}: {reason}"
        raise InvalidInput(message, [Problem(message, row=line, field="sources")]) from None
    if isinstance(doc, list):
        doc = {"sources": doc}
        root = yaml.MappingNode("tag:yaml.org,2002:map", [(yaml.ScalarNode("", "sources"), root)])
    if not isinstance(doc, dict):
        message = f"{origin}: expected a mapping with a sources: list"
        raise InvalidInput(message, [Problem(message, row=1, field="sources")])
    try:
        sources = list(SourcesFile.model_validate(doc).sources)
    except ValidationError as exc:
        problems = [_problem(e, root) for e in exc.errors()]
        first = f"{problems[0].field}: {problems[0].message}"
        raise InvalidInput(f"{origin}: {len(problems)} problem(s), first {first}", problems) from None
    _check_unique(sources, root, origin)
    return sources


def _check_unique(sources: list[SourceConfig], root: Any, origin: str) -> None:
    first: dict[str, int] = {}
    problems = []
    for i, s in enumerate(sources):
        if s.id in first:
            loc = ("sources", i, "id")
            message = f"source id {s.id!r} is already used by sources[{first[s.id]}]"
            problems.append(Problem(message, row=_line(root, loc), field=_path(loc)))
        first.setdefault(s.id, i)
    if problems:
        raise InvalidInput(f"{origin}: {problems[0].field}: {problems[0].message}", problems)


def _problem(error: Any, root: Any) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        message = f"required setting {loc[-1]!r} is missing"
    elif kind == "extra_forbidden":
        message = f"unknown setting {loc[-1]!r} (check the spelling)"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return Problem(message, row=_line(root, loc), field=_path(loc))


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at loc, or of the closest parent that exists (a missing key)."""
    line = node.start_mark.line + 1 if getattr(node, "start_mark", None) else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line

