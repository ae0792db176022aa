"""Collector end to end: one large CSV export through services.collector.run.ingest_once, against the bare
COPY-merge of the same figures, on two copies of the same loaded database (PERFORMANCE.md: a 1 M-row CSV
≥ 0.8× bare; the same export again ≤ 1 % of the first ingest; a 200 MB export under 300 MB resident).

The export is written like the 一体化政务服务平台 (wangban) exports, as CSV: GB18030, a title line, the header
区划代码, 单位名称, 统计日期, 事项总数, 网上可办事项数, 网上可办率, 全程网办事项数, 全程网办率, one row per generated
township per day (day-major, days ending 31 Dec of the year before the loaded one, so every figure is new), and
a 合计 row at the end. Two figure pairs feed QS-05 and QS-07 (sharing the denominator 事项总数, as the real
wangban source), so N CSV rows = 2·N figures. The printed rates agree with the counts (no warnings).

* bare: psycopg binary COPY of the same 2·N figure rows (same order as the collector stages them) into a
  temporary table + one INSERT … ON CONFLICT DO UPDATE into observations, one transaction (the collector
  writes an export in one transaction too); rows built before the clock starts.
* collector: ingest_once(…, local=LocalFile(path, name)) in a fresh child process (`python -m
  bench.bench_collector CHILD-SPEC`), so its peak resident memory (VmHWM, reset before each run) is the
  collector's own and not the benchmark's; the collector streams the file from its path; the pool is warmed.
  Then the same file again: the run must be "skipped" (same content hash). Each step of the collector is
  timed by wrappers that live only in the child (product modules are not changed on disk), and each SQL
  statement by SQLAlchemy cursor events; garbage-collector pauses are timed by gc.callbacks.
* memory: a second export of ≥ --memory-mb MB (default 200), new days before the first export's, written line by
  line straight to a file (never whole in memory), ingested once more by the same child: its peak RSS is the
  memory target's figure (no extrapolation). Skipped, and said why, when its days would start before the
  generated units' validity (2000-01-01) with the townships of --scale.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import psycopg

from bench.bench_push import verdict_at_least
from bench.common import (
    BARE_STAGE,
    REPO_ROOT,
    YEAR,
    Context,
    Row,
    StatementProfile,
    bare_copy,
    bare_merge,
    create_database,
    drop_database,
    libpq,
    log,
    make_plan,
    org_tree,
)

FULL_ROWS = 1_000_000
SOURCE_ID = "bench-wangban"
INDICATORS = ("QS-05", "QS-07")
ENCODING = "gb18030"
HEADER = ("区划代码", "单位名称", "统计日期", "事项总数", "网上可办事项数", "网上可办率", "全程网办事项数",
          "全程网办率")
SOURCE_YAML = f"""
sources:
  - id: {SOURCE_ID}
    url: http://127.0.0.1:9/exports/bench/{{date}}.csv
    format: csv
    schedule: "30 6 * * *"
    kind: figures
    scope: "150000000000"  # 内蒙古: every generated unit (15CC…) is under it
    unit: {{code_column: 区划代码}}
    date: {{column: 统计日期, grain: day}}
    figures:
      - {{indicator: QS-05, numerator: 网上可办事项数, denominator: 事项总数, printed_rate: 网上可办率}}
      - {{indicator: QS-07, numerator: 全程网办事项数, denominator: 事项总数, printed_rate: 全程网办率}}
"""
MEMORY_TARGET_MB, MEMORY_EXPORT_MB = 300, 200
UNITS_VALID_FROM = date(2000, 1, 1)  # the generated org units' valid_from

# Steps of ingest_once timed in the child: (label, module, attribute, parent label). The attribute is looked up
# at call time by its caller, so replacing it in the module times every call. Parents come before children.
STEPS = (
    ("lock: locks.try_source_lock", "shared.ingest.locks", "try_source_lock", ""),
    ("ingest_store.last_succeeded", "shared.ingest.store", "last_succeeded", ""),
    ("fetch.save_local (copy to the spool file + sha256)", "services.collector.fetch", "save_local", ""),
    ("[thread] find_header", "services.collector.mapping", "find_header", ""),
    ("[thread] _data_rows (filler + total rows)", "services.collector.mapping", "_data_rows", ""),
    ("clean.total_rows", "services.collector.clean", "total_rows", "[thread] _data_rows (filler + total rows)"),
    ("[thread] _figures", "services.collector.mapping", "_figures", ""),
    ("_units (code column)", "services.collector.mapping", "_units", "[thread] _figures"),
    ("_days (date column)", "services.collector.mapping", "_days", "[thread] _figures"),
    ("clean.parse_counts (3 count columns)", "services.collector.clean", "parse_counts", "[thread] _figures"),
    ("_rate_remarks (printed rates)", "services.collector.mapping", "_rate_remarks", "[thread] _figures"),
    ("_Sheet.dedupe", "services.collector.mapping", "_Sheet.dedupe", "[thread] _figures"),
    ("[thread] FigureWriter.prepare (validation)", "shared.observations.store", "FigureWriter.prepare", ""),
    ("FigureWriter.write (per chunk)", "shared.observations.store", "FigureWriter.write", ""),
    ("_lock_indicators", "shared.observations.store", "_lock_indicators", "FigureWriter.write (per chunk)"),
    ("_stage (COPY of the chunk)", "shared.observations.store", "_stage", "FigureWriter.write (per chunk)"),
    ("_merge (one statement)", "shared.observations.store", "_merge", "FigureWriter.write (per chunk)"),
    ("preaggregate.note", "shared.observations.preaggregate", "note", "FigureWriter.write (per chunk)"),
    ("FigureWriter.finish", "shared.observations.store", "FigureWriter.finish", ""),
    ("preaggregate.refresh", "shared.observations.preaggregate", "refresh", "FigureWriter.finish"),
    ("_rebuild_rollups", "shared.observations.preaggregate", "_rebuild_rollups", "preaggregate.refresh"),
    ("audit.record", "shared.access.audit", "record", "FigureWriter.finish"),
    ("ingest_store.add_run (run record)", "shared.ingest.store", "add_run", ""),
)
REST = {"": "rest: commit, session, waiting for the parse thread; minus the overlap of the [thread] steps",
        "[thread] _figures": "rest of _figures (ObservationIn records, keys)",
        "FigureWriter.write (per chunk)": "rest of FigureWriter.write (WRITTEN keys, repeats)",
        "FigureWriter.finish": "rest of FigureWriter.finish", "preaggregate.refresh": "rest of preaggregate.refresh",
        "[thread] _data_rows (filler + total rows)": "rest of _data_rows"}

SQL_LABELS = (
    ("SELECT pg_try_advisory_xact_lock", "lock: pg_try_advisory_xact_lock"),
    ("SELECT pg_advisory_xact_lock", "_lock_indicators: pg_advisory_xact_lock"),
    ("SELECT ingest_runs", "last_succeeded: SELECT ingest_runs"),
    ("INSERT INTO ingest_runs", "add_run: INSERT ingest_runs"),
    ("SELECT indicators.code", "catalogue_maps: indicators"),
    ("SELECT org_units.code", "catalogue_maps: org units"),
    ("CREATE TEMP TABLE IF NOT EXISTS _obs_stage", "_stage: CREATE TEMP TABLE"),
    ("TRUNCATE _obs_stage", "_stage: TRUNCATE"),
    ("ANALYZE _obs_stage", "_stage: ANALYZE _obs_stage"),
    ("WITH old AS MATERIALIZED", "_merge: stage ⟕ observations → history + upsert"),
    ("CREATE TEMP TABLE IF NOT EXISTS _obs_touched_up", "refresh: CREATE TEMP TABLE _up"),
    ("TRUNCATE _obs_touched_up", "refresh: TRUNCATE _up"),
    ("INSERT INTO _obs_touched_up", "refresh: touched ancestors (⋈ org_unit_paths)"),
    ("ANALYZE _obs_touched_up", "refresh: ANALYZE _up"),
    ("CREATE TEMP TABLE IF NOT EXISTS _obs_touched", "start: CREATE TEMP TABLE _obs_touched"),
    ("TRUNCATE _obs_touched", "start: TRUNCATE _obs_touched"),
    ("INSERT INTO _obs_touched", "note: touched (indicator, org, month) per chunk"),
    ("CREATE TEMP TABLE IF NOT EXISTS _obs_written", "open: CREATE TEMP TABLE _obs_written"),
    ("TRUNCATE _obs_written", "open: TRUNCATE _obs_written"),
    ("INSERT INTO _obs_written", "write: keys and rows written (for later conflicts)"),
    ("ANALYZE _obs_touched", "refresh: ANALYZE"),
    ("DELETE FROM observation_months", "refresh: DELETE touched months"),
    ("INSERT INTO observation_months", "refresh: re-aggregate touched months from raw"),
    ("DELETE FROM rollup_months", "_rebuild_rollups: DELETE region months"),
    ("INSERT INTO rollup_months", "_rebuild_rollups: region months (⋈ paths ⋈ observation_months)"),
    ("INSERT INTO indicator_levels", "refresh: indicator_levels"),
    ("INSERT INTO audit_entries", "audit.record: INSERT audit_entries"),
    ("SELECT 1", "pool warm-up"),
)


def collector_rows(scale: float, forced: int | None) -> int:
    return forced if forced else max(1, round(FULL_ROWS * scale))


# ---------------------------------------------------------------- the export and the bare rows


@dataclass
class Export:
    content: bytes
    rows: int           # data rows (the 合计 row not counted)
    figures: list[tuple[Any, ...]]  # bare rows: indicator_id, org_id, date, numerator, denominator, value
    first_day: date
    last_day: date
    units: int

    @property
    def megabytes(self) -> float:
        return len(self.content) / 1e6


@dataclass
class FileExport:
    """An export written straight to a file (the memory run): same layout, never held in memory."""

    path: Path
    rows: int           # data rows (the 合计 row not counted)
    first_day: date
    last_day: date
    units: int
    size: int           # bytes

    @property
    def megabytes(self) -> float:
        return self.size / 1e6

    @property
    def figures(self) -> int:
        return len(INDICATORS) * self.rows


def _title(first: date, last: date) -> str:
    return f"一体化政务服务平台政务服务事项网办情况统计（{first:%Y年%m月%d日}至{last:%Y年%m月%d日}）"


def _total_line(den: int, n5: int, n7: int) -> str:
    return f",合计,,{den},{n5},{100 * n5 / den:.2f}%,{n7},{100 * n7 / den:.2f}%"


def _data_lines(units: list[tuple[str, int]], names: dict[str, str], first: date, n_days: int,
                skip: int = 0) -> Iterator[tuple[date, int, int, int, int, str]]:
    """The data rows of an export, day-major from `first`, the first `skip` rows left out: (day, org id,
    事项总数, 网上可办事项数, 全程网办事项数, CSV line without its line end). Deterministic per day."""
    k = 0
    for d in range(n_days):
        day = first + timedelta(d)
        iso = day.isoformat()
        r = random.Random(day.toordinal()).random
        for code, org_id in units:
            k += 1
            if k <= skip:
                continue
            den = 50 + int(r() * 450)
            n5 = den - int(r() * den * 0.2)
            n7 = n5 - int(r() * n5 * 0.5)
            line = f"{code},{names.get(code, code)},{iso},{den},{n5},{100 * n5 / den:.2f}%,{n7},{100 * n7 / den:.2f}%"
            yield day, org_id, den, n5, n7, line


def build_export(ctx: Context, n_rows: int) -> Export:
    """N data rows: every generated township for each day, days ending 31 Dec of YEAR − 1 (the loaded data is
    YEAR, so every key is new), the earliest day partial when N is not a multiple of the townships."""
    units = ctx.cat.units
    names = {u.code: u.name for u in org_tree(ctx.plan)}
    with psycopg.connect(libpq(ctx.main_url)) as conn:
        found = {c: (i, f) for c, i, f in conn.execute(
            "SELECT code, id, factor FROM indicators WHERE code = ANY(%s)", (list(INDICATORS),))}
    (id5, f5), (id7, f7) = found[INDICATORS[0]], found[INDICATORS[1]]
    last = date(YEAR - 1, 12, 31)
    n_days = math.ceil(n_rows / len(units))
    first = last - timedelta(n_days - 1)
    if first < UNITS_VALID_FROM:
        raise SystemExit(f"--collector-rows {n_rows:,} needs {n_days:,} days of {len(units):,} townships, before "
                         f"the generated units' validity ({UNITS_VALID_FROM}); use fewer rows or a larger --scale")
    skip = n_days * len(units) - n_rows
    lines = [_title(first, last), ",".join(HEADER)]
    q5: list[tuple[Any, ...]] = []
    q7: list[tuple[Any, ...]] = []
    tot = [0, 0, 0]
    for day, org_id, den, n5, n7, line in _data_lines(units, names, first, n_days, skip):
        lines.append(line)
        q5.append((id5, org_id, day, float(n5), float(den), f5 * n5 / den))
        q7.append((id7, org_id, day, float(n7), float(den), f7 * n7 / den))
        tot[0], tot[1], tot[2] = tot[0] + den, tot[1] + n5, tot[2] + n7
    lines.append(_total_line(*tot))
    content = ("\r\n".join(lines) + "\r\n").encode(ENCODING)
    return Export(content, n_rows, q5 + q7, first, last, len(units))


def plan_memory_export(ctx: Context, export: Export, megabytes: int) -> tuple[date, int] | str:
    """(first day, days) of an export of at least `megabytes` MB of whole days of every township, ending the day
    before `export` begins (so its keys are new too); or, in short, why it cannot be made (it would start before
    the generated units' validity; the details are logged)."""
    units = ctx.cat.units
    names = {u.code: u.name for u in org_tree(ctx.plan)}
    last = export.first_day - timedelta(1)
    # Bytes of one day (its numbers vary by a few bytes a row only); 1 % spare so the file is surely big enough.
    per_day = sum(len(line.encode(ENCODING)) + 2 for *_, line in _data_lines(units, names, last, 1))
    head = len(f"{_title(last, last)}\r\n{','.join(HEADER)}\r\n".encode(ENCODING))
    n_days = max(1, math.ceil(1.01 * (megabytes * 1e6 - head) / per_day))
    first = last - timedelta(n_days - 1)
    if first >= UNITS_VALID_FROM:
        return first, n_days
    # The smallest --scale whose township count fits both exports between UNITS_VALID_FROM and 31 Dec YEAR − 1.
    per_row = per_day / len(units)
    seeded = len(units) - ctx.plan.units  # the seeded townships report too
    span = (date(YEAR - 1, 12, 31) - UNITS_VALID_FROM).days + 1
    need = ""
    for pct in range(1, 101):
        n_units = make_plan(pct / 100, 1).units + seeded
        if math.ceil(export.rows / n_units) + math.ceil(1.01 * megabytes * 1e6 / (per_row * n_units)) <= span:
            need = f"needs --scale ≥ {pct / 100:g}"
            break
    need = need or "needs fewer --collector-rows or a smaller --memory-mb"
    log(f"  memory export: {megabytes} MB = {n_days:,} days × {len(units):,} townships before {export.first_day} "
        f"would start {first}, before the generated units' validity ({UNITS_VALID_FROM}); {need}")
    return f"not measured: {need}"


def write_memory_export(ctx: Context, first: date, n_days: int, path: Path, megabytes: int) -> FileExport:
    """Every township for each of n_days days from `first`, written line by line to `path` as generated (the
    layout, title, header, encoding and 合计 row of build_export), never held whole in memory."""
    units = ctx.cat.units
    names = {u.code: u.name for u in org_tree(ctx.plan)}
    last = first + timedelta(n_days - 1)
    den_sum = n5_sum = n7_sum = rows = 0
    block: list[str] = []
    with path.open("w", encoding=ENCODING, newline="") as f:
        f.write(f"{_title(first, last)}\r\n{','.join(HEADER)}\r\n")
        for _, _, den, n5, n7, line in _data_lines(units, names, first, n_days):
            den_sum, n5_sum, n7_sum, rows = den_sum + den, n5_sum + n5, n7_sum + n7, rows + 1
            block.append(line)
            if len(block) == 10_000:
                f.write("\r\n".join(block) + "\r\n")
                block.clear()
        block.append(_total_line(den_sum, n5_sum, n7_sum))
        f.write("\r\n".join(block) + "\r\n")
    out = FileExport(path, rows, first, last, len(units), path.stat().st_size)
    if out.megabytes < megabytes:
        raise RuntimeError(f"the memory export came out {out.megabytes:.1f} MB, under the {megabytes} MB asked for")
    return out


# ---------------------------------------------------------------- bare


def bare(url: str, export: Export) -> tuple[float, float]:
    """Seconds for COPY of every figure into a temp table + one upsert + commit, one transaction; and of
    those, the seconds of the COPY."""
    rows = export.figures
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("SELECT 1")
        started = time.perf_counter()
        conn.execute(BARE_STAGE)
        bare_copy(conn, rows)
        copied = time.perf_counter()
        merged = bare_merge(conn)
        conn.commit()
        seconds = time.perf_counter() - started
    if merged != len(rows):
        raise RuntimeError(f"bare merge wrote {merged:,} of {len(rows):,} rows")
    return seconds, copied - started


# ---------------------------------------------------------------- the child process (collector)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM (and ru_maxrss) to the current RSS (Linux ≥ 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Steps:
    """Wall time, calls, RSS at return and peak RSS so far (max over calls) of each wrapped step, per run."""

    def __init__(self) -> None:
        self.current: dict[str, list[float]] = {}
        self.missing: list[str] = []

    @contextmanager
    def installed(self) -> Iterator[None]:
        saved = []
        for label, module_name, attr, _ in STEPS:
            owner: Any = import_module(module_name)
            name = attr
            if "." in attr:
                cls, name = attr.split(".")
                owner = getattr(owner, cls, None)
            original = (owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None))
            if original is None:  # the product moved it: say so instead of failing the benchmark
                self.missing.append(f"{module_name}.{attr}")
                continue
            setattr(owner, name, self._wrap(label, original))
            saved.append((owner, name, original))
        try:
            yield
        finally:
            for owner, name, original in reversed(saved):
                setattr(owner, name, original)

    def _add(self, label: str, seconds: float) -> None:
        entry = self.current.setdefault(label, [0.0, 0, 0, 0])
        entry[0] += seconds
        entry[1] += 1
        entry[2] = max(entry[2], _status_kb("VmRSS"))
        entry[3] = max(entry[3], _status_kb("VmHWM"))

    def _wrap(self, label: str, original: Any) -> Any:
        if inspect.iscoroutinefunction(original):
            async def timed_async(*a: Any, **kw: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*a, **kw)
                finally:
                    self._add(label, time.perf_counter() - started)
            return timed_async

        def timed_sync(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                self._add(label, time.perf_counter() - started)
        return timed_sync


class _GcWatch:
    """Time spent in the cyclic garbage collector, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            g = info["generation"]
            self.seconds[g] += time.perf_counter() - self._started
            self.count[g] += 1

    def snapshot(self) -> tuple[list[float], list[int]]:
        return list(self.seconds), list(self.count)


async def _child_async(spec: dict[str, Any]) -> dict[str, Any]:
    import hashlib

    import httpx
    from sqlalchemy import text

    from services.collector.run import LocalFile, ingest_once
    from services.collector.sources import parse_sources
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.settings import DatabaseSettings, Settings

    source = parse_sources(spec["yaml"])[0]
    # A path, as `run SOURCE --file PATH` passes it: the collector streams it, so its memory is what is measured.
    local = LocalFile(Path(spec["csv"]), spec["name"])
    day = date.fromisoformat(spec["day"])
    memory = spec.get("memory")
    settings = Settings(db=DatabaseSettings(url=spec["db_url"]))
    engine = make_engine(settings.db, "scorecard-bench-collector")
    statements = StatementProfile(SQL_LABELS)
    statements.attach(engine.sync_engine)
    sessions = make_sessionmaker(engine)
    steps, gcw = _Steps(), _GcWatch()
    gc.callbacks.append(gcw)
    started = time.perf_counter()
    digest = hashlib.sha256(Path(spec["csv"]).read_bytes()).hexdigest()
    sha_seconds = time.perf_counter() - started
    out: dict[str, Any] = {"sha256_seconds": sha_seconds, "digest": digest, "runs": [], "missing": steps.missing}
    try:
        async with sessions() as s:  # a pooled connection before the clock, as the bare path connects first
            await s.execute(text("SELECT 1"))
        async with httpx.AsyncClient() as client:

            async def measured(file: LocalFile, for_day: date) -> dict[str, Any]:
                steps.current, statements.seconds, statements.calls = {}, {}, {}
                gc.collect()
                reset = _reset_peak()
                rss_before = _status_kb("VmRSS")
                gc_before = gcw.snapshot()
                started = time.perf_counter()
                run = await ingest_once(sessions, source, day=for_day, settings=settings, client=client, local=file)
                seconds = time.perf_counter() - started
                gc_after = gcw.snapshot()
                return {
                    "seconds": seconds, "status": run.status, "message": run.message,
                    "rows_read": run.rows_read, "rows_accepted": run.rows_accepted,
                    "rows_rejected": run.rows_rejected, "rows_skipped": run.rows_skipped,
                    "inserted": run.inserted, "updated": run.updated, "unchanged": run.unchanged,
                    "errors": len(run.errors or []), "first_errors": (run.errors or [])[:5],
                    "warnings": len(run.warnings or []), "first_warnings": (run.warnings or [])[:5],
                    "rss_before_kb": rss_before, "peak_kb": _status_kb("VmHWM"), "peak_reset": reset,
                    "rss_after_kb": _status_kb("VmRSS"),
                    "gc_seconds": [a - b for a, b in zip(gc_after[0], gc_before[0], strict=True)],
                    "gc_count": [a - b for a, b in zip(gc_after[1], gc_before[1], strict=True)],
                    "steps": steps.current,
                    "statements": {k: [v, statements.calls[k]] for k, v in statements.seconds.items()},
                }

            with steps.installed():
                for _ in range(2):  # the export, then the same export again (skipped)
                    out["runs"].append(await measured(local, day))
                if memory:  # the ≥ 200 MB export (new keys), streamed from its file: the memory target
                    big = LocalFile(Path(memory["csv"]), memory["name"])
                    out["runs"].append(await measured(big, date.fromisoformat(memory["day"])))
    finally:
        gc.callbacks.remove(gcw)
        await engine.dispose()
    return out


def child_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    result = asyncio.run(_child_async(spec))
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


def run_child(db_url: str, export: Export, workdir: Path, memory: FileExport | None = None) -> dict[str, Any]:
    csv_path = workdir / f"wangban_{export.last_day}.csv"
    csv_path.write_bytes(export.content)
    spec = {"yaml": SOURCE_YAML, "csv": str(csv_path), "name": csv_path.name, "day": export.last_day.isoformat(),
            "db_url": db_url, "result": str(workdir / "result.json"),
            "memory": memory and {"csv": str(memory.path), "name": memory.path.name,
                                  "day": memory.last_day.isoformat()}}
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec))
    # Same process group: a Ctrl-C reaches the child too; subprocess.run kills it if we stop for another reason.
    subprocess.run([sys.executable, "-m", "bench.bench_collector", str(spec_path)], cwd=REPO_ROOT, check=True)
    result: dict[str, Any] = json.loads((workdir / "result.json").read_text())
    return result


# ---------------------------------------------------------------- the benchmark


@dataclass
class CollectorResult:
    export: Export
    bare_seconds: float
    bare_copy_seconds: float
    child: dict[str, Any]
    memory: FileExport | None = None  # the memory export (third run), None when not measured
    memory_note: str = ""             # why not

    @property
    def first(self) -> dict[str, Any]:
        return dict(self.child["runs"][0])

    @property
    def second(self) -> dict[str, Any]:
        return dict(self.child["runs"][1])

    @property
    def third(self) -> dict[str, Any] | None:
        runs = self.child["runs"]
        return dict(runs[2]) if len(runs) > 2 else None


def _check(export: Export, child: dict[str, Any], memory: FileExport | None) -> None:
    first, second = child["runs"][:2]
    n_fig = len(export.figures)
    got = (first["status"], first["rows_read"], first["rows_accepted"], first["inserted"], first["updated"],
           first["errors"], first["warnings"])
    want = ("succeeded", export.rows, export.rows, n_fig, 0, 0, 0)
    if got != want:
        raise RuntimeError(f"first ingest: expected (status, rows_read, rows_accepted, inserted, updated, errors, "
                           f"warnings) = {want}, got {got}: {first['message']}; errors {first['first_errors']}; "
                           f"warnings {first['first_warnings']}")
    if second["status"] != "skipped":
        raise RuntimeError(f"second ingest of the same export: expected status skipped, got {second['status']}: "
                           f"{second['message']}")
    if memory is None:
        return
    if len(child["runs"]) != 3:
        raise RuntimeError(f"the child made {len(child['runs'])} runs, expected 3 (the memory export last)")
    third = child["runs"][2]
    got = (third["status"], third["rows_read"], third["rows_accepted"], third["inserted"], third["updated"],
           third["errors"], third["warnings"])
    want = ("succeeded", memory.rows, memory.rows, memory.figures, 0, 0, 0)
    if got != want:
        raise RuntimeError(f"ingest of the {memory.megabytes:.0f} MB memory export: expected (status, rows_read, "
                           f"rows_accepted, inserted, updated, errors, warnings) = {want}, got {got}: "
                           f"{third['message']}; errors {third['first_errors']}; warnings {third['first_warnings']}")


def bench_collector(ctx: Context, n_rows: int, memory_mb: int = MEMORY_EXPORT_MB) -> CollectorResult:
    """The n_rows-row export: bare against ingest_once, then again (skipped); then, unless memory_mb is 0, an
    export of ≥ memory_mb MB (new days before the first export's) ingested once for its peak RSS."""
    log(f"collector: building a {n_rows:,}-row export ({len(INDICATORS)} figure pairs → "
        f"{len(INDICATORS) * n_rows:,} figures, {ENCODING})")
    export = build_export(ctx, n_rows)
    log(f"  {export.megabytes:.1f} MB, {export.first_day} … {export.last_day} × up to {export.units:,} townships")
    planned = plan_memory_export(ctx, export, memory_mb) if memory_mb > 0 else "not measured (--memory-mb 0)"
    note = planned if isinstance(planned, str) else ""
    if note:
        log(f"  memory export: {note}")
    memory: FileExport | None = None
    main_db = ctx.main_url.rsplit("/", 1)[1]
    names = ("scorecard_bench_coll_bare", "scorecard_bench_collector")
    try:
        bare_url = create_database(ctx.server_url, names[0], template=main_db)
        seconds, copy_seconds = bare(bare_url, export)
        drop_database(ctx.server_url, names[0])
        log(f"  bare COPY-merge: {len(export.figures):,} figures in {seconds:.1f} s (one transaction; COPY "
            f"{copy_seconds:.1f} s, upsert + commit {seconds - copy_seconds:.1f} s)")
        coll_url = create_database(ctx.server_url, names[1], template=main_db)
        with tempfile.TemporaryDirectory(prefix="scorecard-bench-collector-") as tmp:
            if not isinstance(planned, str):
                started = time.perf_counter()
                first, n_days = planned
                path = Path(tmp) / f"wangban_{first + timedelta(n_days - 1)}.csv"
                memory = write_memory_export(ctx, first, n_days, path, memory_mb)
                log(f"  memory export written to a file: {memory.rows:,} rows, {memory.megabytes:.1f} MB, "
                    f"{memory.first_day} … {memory.last_day} ({time.perf_counter() - started:.1f} s)")
            child = run_child(coll_url, export, Path(tmp), memory)
        _check(export, child, memory)
        first_run, second_run = child["runs"][:2]
        log(f"  ingest_once (child process): {first_run['seconds']:.1f} s, {first_run['status']}; peak RSS "
            f"{first_run['peak_kb'] / 1024:,.0f} MB; again: {second_run['seconds'] * 1000:.0f} ms, "
            f"{second_run['status']}")
        if memory is not None:
            third = child["runs"][2]
            log(f"  ingest_once of the {memory.megabytes:.0f} MB export: {third['seconds']:.1f} s, {third['status']}; "
                f"peak RSS {third['peak_kb'] / 1024:,.0f} MB ({third['rss_before_kb'] / 1024:,.0f} MB before)")
    finally:
        for name in names:
            drop_database(ctx.server_url, name)
    return CollectorResult(export, seconds, copy_seconds, child, memory, note)


def verdict_at_most(ratio: float, target: float) -> str:
    if ratio <= target:
        return f"≤ {100 * target:g} %: MET"
    return f"≤ {100 * target:g} %: MISSED ({ratio / target:.1f}× the allowance)"


def rows(res: CollectorResult) -> list[Row]:
    ex, first, second = res.export, res.first, res.second
    n_fig = len(ex.figures)
    bare_rate = n_fig / res.bare_seconds
    rate = first["inserted"] / first["seconds"]
    ratio = rate / bare_rate
    measure = f"collector, {ex.rows:,}-row CSV ({ex.megabytes:.0f} MB)"
    out = [
        Row(measure, "bare: COPY → stage → INSERT ON CONFLICT, 1 transaction", f"{n_fig:,}",
            f"{bare_rate:,.0f} figures/s", "1.00×", "reference"),
        Row("", "ingest_once(LocalFile), new figures", f"{n_fig:,}",
            f"{rate:,.0f} figures/s ({first['seconds']:.1f} s)", f"{ratio:.2f}×", verdict_at_least(ratio, 0.8)),
        Row("", "ingest_once, same export again (skipped)", "1", f"{second['seconds'] * 1000:,.0f} ms",
            f"{100 * second['seconds'] / first['seconds']:.2f} %",
            verdict_at_most(second["seconds"] / first["seconds"], 0.01)),
        _memory_row(res),
    ]
    return out


def _memory_row(res: CollectorResult) -> Row:
    """The memory target: the peak RSS of the ≥ 200 MB run; without it, the first export's, labelled so."""
    target = f"< {MEMORY_TARGET_MB} MB for {MEMORY_EXPORT_MB} MB"
    run, mem = res.third, res.memory
    if run is not None and mem is not None:
        peak, base = run["peak_kb"] / 1024, run["rss_before_kb"] / 1024
        if peak >= MEMORY_TARGET_MB:
            verdict = f"{target}: MISSED" + ("" if mem.megabytes >= MEMORY_EXPORT_MB
                                              else f" already at {mem.megabytes:.0f} MB")
        elif mem.megabytes >= MEMORY_EXPORT_MB:
            verdict = f"{target}: MET"
        else:
            verdict = f"{target}: not judged, the export is only {mem.megabytes:.0f} MB (--memory-mb)"
        lifetime = "" if run["peak_reset"] else ", process lifetime peak"
        return Row("", f"ingest_once(LocalFile), {mem.megabytes:.0f} MB export ({mem.rows:,} rows): peak RSS",
                   f"{mem.figures:,}", f"{peak:,.0f} MB (before {base:,.0f} MB; {run['seconds']:.0f} s{lifetime})",
                   f"{100 * peak / MEMORY_TARGET_MB:.0f} % of {MEMORY_TARGET_MB} MB", verdict)
    ex, first = res.export, res.first
    peak, base = first["peak_kb"] / 1024, first["rss_before_kb"] / 1024
    if peak >= MEMORY_TARGET_MB:
        verdict = f"{target}: MISSED already at {ex.megabytes:.0f} MB"
    elif ex.megabytes >= MEMORY_EXPORT_MB:
        verdict = f"{target}: MET"
    else:
        verdict = f"{target}: {res.memory_note or 'not measured'}"
    return Row("", f"ingest_once, peak RSS of the {ex.megabytes:.0f} MB export above (no {MEMORY_EXPORT_MB} MB run)",
               "1", f"{peak:,.0f} MB (before {base:,.0f} MB)", "", verdict)


def _print_steps(steps: dict[str, list[float]], children: dict[str, list[str]], parent: str, depth: int,
                 own: float, total: float) -> None:
    kids = children.get(parent, [])
    for label in kids:
        secs, calls, rss, hwm = steps[label]
        print(f"  {'  ' * depth}{label:<{60 - 2 * depth}} {secs:8.3f} s {100 * secs / total:5.1f} %  "
              f"×{int(calls):<3} RSS {rss / 1024:5,.0f} MB, peak so far {hwm / 1024:5,.0f} MB")
        _print_steps(steps, children, label, depth + 1, secs, total)
    if kids:
        rest = own - sum(steps[k][0] for k in kids)
        print(f"  {'  ' * depth}{REST.get(parent, 'rest'):<{60 - 2 * depth}} {rest:8.3f} s "
              f"{100 * rest / total:5.1f} %")


def print_breakdown(res: CollectorResult) -> None:
    ex = res.export
    print(f"\ncollector export: {ex.rows:,} CSV rows (+ title, header, 合计) = {len(ex.figures):,} figures "
          f"(QS-05, QS-07), {ENCODING}, {ex.megabytes:.1f} MB, {ex.first_day} … {ex.last_day}; all keys new")
    print(f"bare path: {res.bare_seconds:.3f} s = binary COPY into the temp table {res.bare_copy_seconds:.3f} s + "
          f"INSERT … ON CONFLICT and commit {res.bare_seconds - res.bare_copy_seconds:.3f} s")
    for n, run in enumerate(res.child["runs"], 1):
        total = run["seconds"]
        lifetime = "" if run["peak_reset"] else " (process lifetime peak)"
        if n == 3:
            _print_memory_run(res, run, lifetime)
            continue
        print(f"\ningest_once breakdown, run {n} ({run['status']}, {total:.3f} s; RSS "
              f"{run['rss_before_kb'] / 1024:,.0f} MB before, peak {run['peak_kb'] / 1024:,.0f} MB{lifetime}, "
              f"{run['rss_after_kb'] / 1024:,.0f} MB after):")
        steps: dict[str, list[float]] = run["steps"]
        children: dict[str, list[str]] = {}
        for label, _, _, parent in STEPS:
            if label in steps:
                children.setdefault(parent, []).append(label)
        _print_steps(steps, children, "", 0, total, total)
        if res.child.get("missing"):
            print(f"  not timed (no longer in the product): {', '.join(res.child['missing'])}")
        gc_s, gc_n = run["gc_seconds"], run["gc_count"]
        print(f"  garbage-collector pauses (inside the steps above): {sum(gc_s):.3f} s "
              f"({100 * sum(gc_s) / total:.1f} %); collections gen0/1/2 = {gc_n[0]}/{gc_n[1]}/{gc_n[2]}, "
              f"gen2 {gc_s[2]:.3f} s")
        if n == 1:
            print("  SQL statements (inside the steps above; the COPY of _stage is not a cursor execute):")
        else:
            print(f"  sha256 of the export (measured separately): {res.child['sha256_seconds'] * 1000:.1f} ms")
            print("  SQL statements:")
        for label, (secs, calls) in sorted(run["statements"].items(), key=lambda kv: -kv[1][0])[:14]:
            print(f"    {label:<62} {secs:8.3f} s {100 * secs / total:5.1f} %  ×{calls}")
    if res.memory_note:
        print(f"\nmemory export ({MEMORY_EXPORT_MB} MB target): {res.memory_note}")


def _print_memory_run(res: CollectorResult, run: dict[str, Any], lifetime: str) -> None:
    """The memory run in short: what was ingested, time, memory, and its three longest top-level steps."""
    mem, total = res.memory, run["seconds"]
    if mem is not None:
        print(f"\ningest_once, run 3 (memory): a second export written straight to a file, {mem.rows:,} CSV rows = "
              f"{mem.figures:,} figures, {mem.megabytes:.1f} MB, {mem.first_day} … {mem.last_day}; all keys new")
    print(f"  {run['status']}, {total:.1f} s ({run['inserted'] / total:,.0f} figures/s); RSS "
          f"{run['rss_before_kb'] / 1024:,.0f} MB before, peak {run['peak_kb'] / 1024:,.0f} MB{lifetime}, "
          f"{run['rss_after_kb'] / 1024:,.0f} MB after; garbage-collector pauses {sum(run['gc_seconds']):.1f} s")
    top = sorted(((secs, calls, label) for label, (secs, calls, _, _) in run["steps"].items()
                  if any(label == lab and not parent for lab, _, _, parent in STEPS)), reverse=True)[:3]
    print("  longest steps: " + "; ".join(f"{label} {secs:.1f} s ×{int(calls)}" for secs, calls, label in top))


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
