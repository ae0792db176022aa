"""`make bench`: starts its own PostgreSQL (or uses SCORECARD_BENCH_DATABASE_URL, a server's maintenance-database
URL), builds a province-sized data set, and prints the product's push throughput and /v1/values latency as ratios
against the bare psycopg path measured in the same run (../shared/docs/PERFORMANCE.md, beside the repository).

    .venv/bin/python -m bench.run_all [--scale 0.1] [--push-rows 200000] [--requests 50] [--raw-reps 10]
                                      [--collector-rows N] [--memory-mb 200] [--load-seconds 20]
                                      [--only push,values,load,collector,scores,dashboard]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

import psycopg

from bench import bench_collector as bench_collector_mod
from bench import bench_dashboard, bench_load, bench_push, bench_scores, bench_values
from bench.common import (
    BODY_ROWS,
    ApiProcess,
    Catalogue,
    Context,
    Plan,
    Row,
    create_database,
    drop_database,
    libpq,
    log,
    make_plan,
    org_tree,
    print_table,
)

PARTS = ("push", "values", "load", "collector", "scores", "dashboard")
MAIN_DB = "scorecard_bench"
API_DB = "scorecard_bench_api"


def _parts(given: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in given.split(",") if p.strip())
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PARTS)}")
    return parts


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=0.1,
                   help="fraction of the full 20 indicators × 1,920 townships × 365 days (default 0.1)")
    p.add_argument("--push-rows", type=int, default=200_000,
                   help="rows pushed per phase (rounded up to whole days; default 200000)")
    p.add_argument("--requests", type=int, default=50, help="timed GET /v1/values per indicator (default 50)")
    p.add_argument("--raw-reps", type=int, default=10, help="timed runs of the raw-table SQL (default 10)")
    # PERFORMANCE.md's collector target is for a 1 M-row CSV whatever the scale of the rest.
    p.add_argument("--collector-rows", type=int, default=1_000_000,
                   help="CSV rows of the collector export (default 1000000; 2 figures a row; 0 = 1 M × --scale)")
    p.add_argument("--memory-mb", type=int, default=bench_collector_mod.MEMORY_EXPORT_MB,
                   help="size in MB of a second export (new days, written straight to a file) ingested once for the "
                        "collector's peak RSS (default 200, the PERFORMANCE.md case; 0 = skip that run)")
    p.add_argument("--scores-units", type=int, default=1000,
                   help="units assessed by the generated 90-item scheme of the scores bench (default 1000)")
    p.add_argument("--load-seconds", type=float, default=20,
                   help="load bench (bench/bench_load.py): seconds of concurrent pushes + reads, and as many again of "
                        "/v1/values under 32 connections against the bare endpoint (default 20; 0 = skip)")
    p.add_argument("--keep", action="store_true", help="keep the databases on SCORECARD_BENCH_DATABASE_URL")
    p.add_argument("--only", type=_parts, default=PARTS,
                   help=f"comma-separated parts to run, of {','.join(PARTS)} (default all; values and load run the "
                        "pushes first, on whose database they read)")
    args = p.parse_args(argv)
    if args.memory_mb < 0:
        p.error("--memory-mb must be ≥ 0")
    if args.load_seconds < 0:
        p.error("--load-seconds must be ≥ 0")
    return args


@dataclass
class Resources:
    """What this run started or created, undone in reverse at exit (also on Ctrl-C / SIGTERM)."""

    server: Any = None
    api: ApiProcess | None = None
    server_url: str = ""
    databases: list[str] = field(default_factory=list)
    keep: bool = False

    def close(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.server is not None:
            log("stopping PostgreSQL")
            self.server.stop()
            self.server = None
        elif not self.keep:
            for name in self.databases:
                try:
                    drop_database(self.server_url, name)
                except Exception as exc:  # noqa: BLE001 — best effort at exit
                    print(f"could not drop database {name}: {exc}", file=sys.stderr)
        self.databases.clear()


_INTERRUPTED: list[int] = []


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    _INTERRUPTED.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _start_server(res: Resources) -> str:
    given = os.environ.get("SCORECARD_BENCH_DATABASE_URL")
    if given:
        log("using the PostgreSQL server of SCORECARD_BENCH_DATABASE_URL")
        return given
    from tests.pg_server import PostgresServer

    res.server = PostgresServer()
    url: str = res.server.start()
    log(f"started PostgreSQL ({res.server.bindir}) on port {res.server.port} (fsync off, as the test harness)")
    return url


async def _prepare(url: str, plan: Plan) -> tuple[str, str]:
    """Seeds, the generated org tree, an admin key; returns (key, pepper)."""
    from shared.access import store as access_store
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.settings import DatabaseSettings, Settings
    from shared.org_units import store as org_store
    from shared.seeds import load as seed_load

    settings = Settings(db=DatabaseSettings(url=url))
    engine = make_engine(settings.db, "scorecard-bench")
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as s, s.begin():
            counts = await seed_load.load_all(s)
        log(f"seed catalogue loaded: {counts}")
        specs = [org_store.UnitSpec(code=u.code, name=u.name, kind="region", level=u.level, parent=u.parent)
                 for u in org_tree(plan)]
        started = time.perf_counter()
        async with sessions() as s, s.begin():
            changed = await org_store.upsert_units(s, specs)
        log(f"org tree: {changed:,} units written by org_units.store.upsert_units in "
            f"{time.perf_counter() - started:.1f} s")
        async with sessions() as s, s.begin():
            _, key = await access_store.create_key(s, name="bench-admin", role="admin", org=None,
                                                   pepper=settings.api.key_pepper, actor="bench")
        return key, settings.api.key_pepper
    finally:
        await engine.dispose()


def _catalogue(url: str, plan: Plan) -> Catalogue:
    townships = [u.code for u in org_tree(plan) if u.level == "township"]
    cat = Catalogue()
    with psycopg.connect(libpq(url)) as conn:
        found = {c: (i, f, t) for c, i, f, t in conn.execute(
            "SELECT code, id, factor, time_aggregation FROM indicators WHERE code = ANY(%s)", (list(plan.indicators),))}
        cat.indicators = [(c, found[c][0], found[c][1]) for c in plan.indicators]
        cat.time_aggregation = {c: found[c][2] for c in plan.indicators}
        # Every township of the province reports, the seeded ones (青山区's streets) too: a province where
        # some never report is a half-reported roll-up, which the product answers from the per-unit rows.
        cat.units = list(conn.execute(
            "SELECT code, id FROM org_units WHERE code = ANY(%s) OR (level = 'township' AND code LIKE '15%%') "
            "ORDER BY code", (townships,)).fetchall())
    return cat


def bench_collector(ctx: Context, n_rows: int, memory_mb: int) -> tuple[list[Row], Any]:
    """The collector targets of PERFORMANCE.md (bench/bench_collector.py): an n_rows-row CSV export through
    services.collector.run.ingest_once (in a child process, for its own peak RSS) against the bare COPY-merge of
    the same figures, each on a copy of the loaded database; then the same export again (must be skipped); then
    (unless memory_mb is 0) a second export of ≥ memory_mb MB, ingested once in the same child for its peak RSS.
    Returns the table rows and the result (for the breakdown printed after the others)."""
    result = bench_collector_mod.bench_collector(ctx, n_rows, memory_mb)
    return bench_collector_mod.rows(result), result


def _build(res: Resources, args: argparse.Namespace, plan: Plan) -> Context:
    from bench.common import load_base
    from shared.core import migrations

    res.server_url = _start_server(res)
    res.databases.append(MAIN_DB)
    main_url = create_database(res.server_url, MAIN_DB)
    migrations.upgrade(main_url)
    log("migrated to head")
    key, pepper = asyncio.run(_prepare(main_url, plan))
    cat = _catalogue(main_url, plan)
    log(f"loading {plan.rows_per_day * len(plan.base_days):,} rows before the push window "
        f"({len(plan.base_days)} days; bare COPY, set-up only)")
    load_base(main_url, plan, cat)
    return Context(res.server_url, main_url, plan, cat, key, pepper, args.requests, args.raw_reps)


def _measure(res: Resources, ctx: Context, args: argparse.Namespace) -> list[Row]:
    parts = set(args.only)
    rows: list[Row] = []
    printouts: list[Any] = []
    if parts & {"push", "values", "load"}:
        log(f"push: {ctx.plan.push_rows:,} rows per phase ({ctx.plan.push_days} days × {ctx.plan.rows_per_day:,} "
            f"rows), {BODY_ROWS:,}-row batches, each path on an identical copy of the database")
        bare = bench_push.bench_bare(ctx)
        store, profiles = bench_push.bench_store(ctx)
        res.databases.append(API_DB)
        ctx.api_db_url = create_database(ctx.server_url, API_DB, template=MAIN_DB)
        res.api = ApiProcess(ctx.api_db_url, ctx.pepper)
        res.api.start()
        ctx.api_base_url = res.api.base_url
        log(f"uvicorn (services.api.main:create_app, 1 worker) on {ctx.api_base_url}")
        api = bench_push.bench_api(ctx)
        rows += bench_push.rows(bare, store, api)
        printouts.append(lambda: bench_push.print_breakdown(store, profiles))
    if parts & {"values", "load"}:
        with psycopg.connect(libpq(ctx.api_db_url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # read in a steady state, not while autovacuum catches up on the pushes
        log("VACUUM ANALYZE of the API's database after the pushes")
    if "values" in parts:
        log(f"/v1/values: {ctx.requests} timed requests per indicator after {bench_values.WARMUP} warm-up")
        rows += bench_values.bench_values(ctx)
        printouts.append(lambda: bench_values.print_values_breakdown(ctx))
    if "load" in parts and args.load_seconds > 0 and res.api is not None:
        api_pid = res.api.proc.pid if res.api.proc else None
        rows += bench_load.bench_load(ctx, args.load_seconds, api_pid, res.api.log_path)
    if "collector" in parts:
        collector, collected = bench_collector(
            ctx, bench_collector_mod.collector_rows(args.scale, args.collector_rows), args.memory_mb)
        rows += collector
        printouts.append(lambda: bench_collector_mod.print_breakdown(collected))
    if "scores" in parts:
        log(f"scores: a generated scheme of 90 items over {args.scores_units:,} units (its own database)")
        rows += bench_scores.bench_scores(ctx.server_url, args.scores_units, ctx.requests)
    if "dashboard" in parts:
        log("dashboard: the province's, on a copy of the loaded database")
        rows += bench_dashboard.bench_dashboard(ctx, MAIN_DB)
    for printout in printouts:
        printout()
    return rows


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    plan = make_plan(args.scale, args.push_rows)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    res = Resources(keep=args.keep)
    log(f"Digital Government Scorecard benchmark — {plan.describe()}")
    started = time.perf_counter()
    try:
        ctx = _build(res, args, plan)
        rows = _measure(res, ctx, args)
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _INTERRUPTED:  # a real failure: show it
            raise
        # a Ctrl-C in a terminal also reaches the PostgreSQL server of our process group, which can make the
        # step under way fail before our own KeyboardInterrupt is raised
        print(f"\ninterrupted ({type(exc).__name__} while stopping): cleaning up", file=sys.stderr)
        return 130
    finally:
        res.close()
    title = (f"make bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}, run took {time.perf_counter() - started:.0f} s\n{plan.describe()}\n"
             f"push window: last {plan.push_days} days of {plan.days[0].year} = {plan.push_rows:,} rows per phase, "
             f"{BODY_ROWS:,}-row batches; each write path on its own copy of the same loaded database")
    print_table(title, rows)
    print("ratio: push = rows/s ÷ bare rows/s (higher is better); values = p50 ÷ bare p50 (lower is better); "
          "values under 32 connections = req/s ÷ bare req/s (higher is better).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
