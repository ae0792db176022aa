"""Shared pieces of the benchmark: the data plan, the generated org tree and figures, databases, the API process,
the bare psycopg path and the result table. Nothing here is product code; the product is only called."""

from __future__ import annotations

import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from sqlalchemy import create_engine, text

from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings
from shared.observations import preaggregate

REPO_ROOT = Path(__file__).resolve().parents[1]
PROVINCE = "150000000000"  # 内蒙古自治区 (seeded)
YEAR = 2021
FULL_UNITS = (12, 10, 16)  # cities × counties per city × townships per county: 1,920 reporting townships
FULL_INDICATORS = 20
# QS/NC ratio indicators of the seed catalogue with rollup 'sum'. Ordered so that any prefix of two or more
# holds both time aggregations: QS-07 is 'last', QS-11 is 'sum' (so are NC-06, NC-16, NC-18).
INDICATORS = (
    "QS-07", "QS-11", "QS-02", "NC-06", "QS-03", "QS-05", "NC-16", "QS-08", "QS-12", "NC-18",
    "QS-13", "QS-14", "QS-15", "NC-02", "NC-03", "NC-04", "NC-05", "NC-07", "NC-09", "NC-10",
)
BODY_ROWS = 10_000
SEED_SOURCE = "bench:seed"
SEED_ACTOR = "bench"
_STARTED = time.perf_counter()
T = TypeVar("T")


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {msg}", flush=True)


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------- the data plan


@dataclass(frozen=True)
class Plan:
    """What gets generated. `scale` 1.0 = 20 indicators × 1,920 townships × 365 days ≈ 14.0 M daily rows.
    Scaling first drops indicators (keeping ≥ 2, one 'sum' and one 'last'), so at the default 0.1 the org
    tree and the per-indicator work of a roll-up are full size; below 0.1 it drops townships per county."""

    scale: float
    indicators: tuple[str, ...]
    cities: int
    counties: int
    townships: int
    push_days: int

    @property
    def units(self) -> int:
        return self.cities * self.counties * self.townships

    @property
    def tree_size(self) -> int:
        return self.cities + self.cities * self.counties + self.units

    @property
    def rows_per_day(self) -> int:
        return self.units * len(self.indicators)

    @property
    def days(self) -> list[date]:
        first = date(YEAR, 1, 1)
        return [first + timedelta(d) for d in range((date(YEAR + 1, 1, 1) - first).days)]

    @property
    def base_days(self) -> list[date]:
        return self.days[: len(self.days) - self.push_days]

    @property
    def push_window(self) -> list[date]:
        return self.days[len(self.days) - self.push_days:]

    @property
    def total_rows(self) -> int:
        return self.rows_per_day * len(self.days)

    @property
    def push_rows(self) -> int:
        return self.rows_per_day * self.push_days

    @property
    def effective_scale(self) -> float:
        full = FULL_INDICATORS * FULL_UNITS[0] * FULL_UNITS[1] * FULL_UNITS[2]
        return self.rows_per_day / full

    def describe(self) -> str:
        return (f"scale {self.scale:g} (effective {self.effective_scale:.3f}): {len(self.indicators)} indicators × "
                f"{self.units:,} townships × {len(self.days)} days = {self.total_rows:,} daily rows; org tree "
                f"{self.tree_size:,} generated units under {PROVINCE}")


def make_plan(scale: float, push_rows: int) -> Plan:
    if not 0 < scale <= 1:
        raise SystemExit("--scale must be in (0, 1]")
    n_ind = min(FULL_INDICATORS, max(2, round(FULL_INDICATORS * scale)))
    rest = scale * FULL_INDICATORS / n_ind
    townships = min(FULL_UNITS[2], max(1, round(FULL_UNITS[2] * rest)))
    cities, counties = FULL_UNITS[0], FULL_UNITS[1]
    per_day = n_ind * cities * counties * townships
    push_days = max(1, min(math.ceil(push_rows / per_day), 180))
    return Plan(scale, INDICATORS[:n_ind], cities, counties, townships, push_days)


# ---------------------------------------------------------------- org tree and figures


@dataclass(frozen=True)
class UnitCode:
    code: str
    name: str
    level: str
    parent: str


def org_tree(plan: Plan) -> list[UnitCode]:
    """12-digit codes 15CCKKTTT000 with cities CC = 10.., which the seeded 1502xx (包头) never uses."""
    out: list[UnitCode] = []
    for c in range(plan.cities):
        cc = f"15{10 + c:02d}"
        city = f"{cc}00000000"
        out.append(UnitCode(city, f"基准{10 + c}市", "city", PROVINCE))
        for k in range(1, plan.counties + 1):
            county = f"{cc}{k:02d}000000"
            out.append(UnitCode(county, f"基准{10 + c}市{k}县", "county", city))
            out.extend(UnitCode(f"{cc}{k:02d}{t:03d}000", f"基准{10 + c}市{k}县{t}镇", "township", county)
                       for t in range(1, plan.townships + 1))
    return out


@dataclass
class Catalogue:
    """Codes and database ids of what the figures are for."""

    indicators: list[tuple[str, int, float]] = field(default_factory=list)  # code, id, factor
    units: list[tuple[str, int]] = field(default_factory=list)  # reporting townships: code, id
    time_aggregation: dict[str, str] = field(default_factory=dict)


# A figure: indicator code, org code, indicator id, org id, day, numerator, denominator, value.
Figure = tuple[str, str, int, int, date, float, float, float]


def figures(cat: Catalogue, days: Iterable[date], variant: int = 0) -> Iterator[Figure]:
    """Deterministic daily figures, day-major (a day's push holds every indicator × unit). `variant` v gives
    the same keys with the numerator lowered by v, so every row of a re-push is a changed figure."""
    for day in days:
        for n, (ind_code, ind_id, factor) in enumerate(cat.indicators):
            r = random.Random(day.toordinal() * 64 + n).random
            for org_code, org_id in cat.units:
                den = float(50 + int(r() * 450))
                num = den - int(r() * den * 0.2) - variant
                yield ind_code, org_code, ind_id, org_id, day, num, den, factor * num / den


# ---------------------------------------------------------------- databases


def libpq(url: str) -> str:
    """psycopg conninfo from the SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _admin(server_url: str, sql: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def create_database(server_url: str, name: str, template: str = "template0") -> str:
    """As tests/conftest.create_database, plus an optional template (a file copy of a loaded database)."""
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    strategy = " STRATEGY = FILE_COPY" if template != "template0" else ""
    _admin(server_url, f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE "{template}"{strategy}')
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: str, types: list[str],
              rows: Iterable[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(types)
        for row in rows:
            cp.write_row(row)


_STAGE_COLS = "indicator_id, org_id, obs_date, numerator, denominator, value"
_STAGE_TYPES = ["int4", "int4", "date", "float8", "float8", "float8"]
BARE_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS _bare_stage (indicator_id int4, org_id int4, obs_date date, "
              "numerator float8, denominator float8, value float8) ON COMMIT DELETE ROWS")
_BARE_MERGE = (
    f"INSERT INTO observations ({_STAGE_COLS}, source, recorded_at, recorded_by) "
    f"SELECT {_STAGE_COLS}, 'bench:bare', now(), 'bench' FROM _bare_stage "
    "ON CONFLICT (indicator_id, org_id, obs_date) DO UPDATE SET numerator = excluded.numerator, "
    "denominator = excluded.denominator, value = excluded.value, source = excluded.source, "
    "recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by")


def bare_copy(conn: psycopg.Connection[Any], rows: Iterable[tuple[Any, ...]]) -> None:
    """First half of the reference path: binary COPY into the staging table (BARE_STAGE executed before)."""
    copy_rows(conn, "_bare_stage", _STAGE_COLS, _STAGE_TYPES, rows)


def bare_merge(conn: psycopg.Connection[Any]) -> int:
    """Second half: one idempotent upsert from the staging table; the caller commits. Returns rows merged."""
    return int(conn.execute(_BARE_MERGE).rowcount)


def bare_copy_merge(conn: psycopg.Connection[Any], rows: Iterable[tuple[Any, ...]]) -> int:
    """The reference every ratio is against: COPY into a staging table, then one idempotent upsert."""
    bare_copy(conn, rows)
    return bare_merge(conn)


def load_base(url: str, plan: Plan, cat: Catalogue) -> None:
    """Every figure before the push window, COPYed straight into observations (set-up, not measured), then
    every pre-aggregate rebuilt from them by the product (preaggregate.rebuild_all)."""
    now = datetime.now().astimezone()
    total = plan.rows_per_day * len(plan.base_days)
    done = 0
    cols = "indicator_id, org_id, obs_date, numerator, denominator, value, source, recorded_at, recorded_by"
    types = ["int4", "int4", "date", "float8", "float8", "float8", "text", "timestamptz", "text"]
    with psycopg.connect(libpq(url)) as conn:
        try:  # the generated ids are valid: skip the FK triggers for the set-up load (needs a superuser)
            conn.execute("SET session_replication_role = replica")
        except psycopg.Error:
            conn.rollback()
        started = time.perf_counter()
        for chunk in batched(figures(cat, plan.base_days), 200_000):
            copy_rows(conn, "observations", cols, types,
                      ((f[2], f[3], f[4], f[5], f[6], f[7], SEED_SOURCE, now, SEED_ACTOR) for f in chunk))
            conn.commit()
            done += len(chunk)
            if done == total or done % 1_000_000 < 200_000:
                rate = done / (time.perf_counter() - started)
                log(f"  generated + loaded {done:,} / {total:,} rows ({100 * done / total:.0f} %, {rate:,.0f} rows/s)")
    asyncio.run(_rebuild_preaggregates(url))
    log("  monthly and region-level pre-aggregates built (the product's preaggregate.rebuild_all)")
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log("  VACUUM ANALYZE done")


async def _rebuild_preaggregates(url: str) -> None:
    engine = make_engine(DatabaseSettings(url=url), "scorecard-bench")
    async with make_sessionmaker(engine)() as session, session.begin():
        await preaggregate.rebuild_all(session)
    await engine.dispose()


# ---------------------------------------------------------------- the API as a real process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UvicornProcess:
    """`uvicorn APP` on 127.0.0.1 and a free port, one worker, in a session of its own (a Ctrl-C reaches only the
    bench, which stops its servers in order); `start` waits until `health` answers 200."""

    def __init__(self, app: str, env: dict[str, str], *, factory: bool = False, health: str = "/healthz") -> None:
        self.app, self.env, self.factory, self.health = app, env, factory, health
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="scorecard-bench-uvicorn-", suffix=".log")[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "uvicorn", self.app, *(["--factory"] if self.factory else []), "--host",
               "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **self.env}, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}{self.health}", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.app} did not answer {self.health} within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log_path.unlink(missing_ok=True)


NO_CACHE = {"SCORECARD_API__ANSWER_CACHE_MB": "0"}  # an API process that computes every answer


class ApiProcess(UvicornProcess):
    """The product: `uvicorn services.api.main:create_app --factory`, settings from the environment and `env`."""

    def __init__(self, db_url: str, pepper: str, env: dict[str, str] | None = None) -> None:
        super().__init__("services.api.main:create_app", {
            "SCORECARD_DB__URL": db_url, "SCORECARD_API__KEY_PEPPER": pepper, **(env or {})}, factory=True)
        self.db_url, self.pepper = db_url, pepper


# ---------------------------------------------------------------- results


@dataclass
class Row:
    measure: str
    path: str
    n: str
    result: str
    ratio: str = ""
    target: str = ""


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def print_table(title: str, rows: list[Row]) -> None:
    heads = Row("measure", "path", "n", "result", "ratio", "target / verdict")
    cols = ("measure", "path", "n", "result", "ratio", "target")
    widths = {c: max(len(getattr(r, c)) for r in [heads, *rows]) for c in cols}
    aligns = {"n": ">", "result": ">", "ratio": ">"}

    def line(r: Row) -> str:
        return "  ".join(f"{getattr(r, c):{aligns.get(c, '<')}{widths[c]}}" for c in cols).rstrip()

    rule = "-" * len(line(heads))
    print(f"\n{title}\n{rule}\n{line(heads)}\n{rule}")
    last = None
    for r in rows:
        if last is not None and r.measure and r.measure != last:
            print()
        last = r.measure or last
        print(line(r))
    print(rule, flush=True)


# ---------------------------------------------------------------- per-statement timing (diagnostics)


class StatementProfile:
    """Wall time per SQL statement (and per wrapped step) of an in-process run, via SQLAlchemy's cursor events."""

    def __init__(self, labels: tuple[tuple[str, str], ...] = ()) -> None:
        self.labels = labels
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] = self.seconds.get(label, 0.0) + seconds
        self.calls[label] = self.calls.get(label, 0) + 1

    def label(self, statement: str) -> str:
        flat = " ".join(statement.split())
        return next((name for prefix, name in self.labels if flat.startswith(prefix)), flat[:90])

    def attach(self, sync_engine: Any) -> None:
        from sqlalchemy import event

        def before(conn: Any, *_: Any) -> None:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            self.add(self.label(statement), time.perf_counter() - conn.info["bench_started"].pop())

        event.listen(sync_engine, "before_cursor_execute", before)
        event.listen(sync_engine, "after_cursor_execute", after)


@dataclass
class Context:
    server_url: str
    main_url: str
    plan: Plan
    cat: Catalogue
    key: str
    pepper: str
    requests: int
    raw_reps: int
    api_base_url: str = ""
    api_db_url: str = ""  # the copy the API writes to and /v1/values reads
