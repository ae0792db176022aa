"""Push throughput: the same 10k-row batches written three ways into identical copies of the loaded database.

* bare: psycopg COPY (binary) into a temporary staging table + one INSERT … ON CONFLICT DO UPDATE into
  observations, one transaction per batch — the physical floor of an idempotent merge;
* write_observations in-process (the product's one write path, no HTTP) — with a per-step breakdown;
* POST /v1/observations with an admin key to a real uvicorn process (JSON bodies of 10k rows).

Each runs two phases over the push window: new rows (keys not there yet), then the same keys again with every
figure changed (history + update). Bodies are built before the clock starts; only the write is timed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.common import (
    BARE_STAGE,
    BODY_ROWS,
    Context,
    Row,
    StatementProfile,
    bare_copy_merge,
    batched,
    create_database,
    drop_database,
    figures,
    libpq,
    log,
)

PHASES = (("new rows", 0), ("every row changed", 1))
# How write_observations' statements are named in the breakdown.
STORE_LABELS = (
    ("WITH old AS MATERIALIZED", "_merge: stage ⟕ observations → history, upsert, monthly rows"),
    ("INSERT INTO rollup_months", "refresh: region months (⋈ paths ⋈ observation_months)"),
    ("DELETE FROM rollup_months", "refresh: DELETE region months"),
    ("INSERT INTO _obs_touched_up", "refresh: touched ancestors (⋈ org_unit_paths)"),
    ("INSERT INTO indicator_levels", "refresh: indicator_levels"),
    ("ANALYZE _obs_stage", "_stage: ANALYZE _obs_stage"),
    ("CREATE TEMP TABLE IF NOT EXISTS _obs_stage", "_stage: CREATE TEMP TABLE IF NOT EXISTS"),
    ("DELETE FROM _obs_stage", "_stage: DELETE FROM _obs_stage"),
    ("SELECT count(*) FROM _obs_stage s JOIN", "_merge: count(*) staged ⋈ observations"),
    ("SELECT count(*) FROM _obs_stage", "_merge: count(*) staged"),
    ("INSERT INTO observation_history", "_merge: INSERT history (staged ⋈ observations, changed)"),
    ("INSERT INTO observations", "_merge: INSERT … ON CONFLICT DO UPDATE"),
    ("CREATE TEMP TABLE IF NOT EXISTS _obs_touched", "_refresh_months: CREATE TEMP TABLE"),
    ("DELETE FROM _obs_touched", "_refresh_months: DELETE FROM _obs_touched"),
    ("INSERT INTO _obs_touched", "_refresh_months: INSERT touched (ind, org, month)"),
    ("DELETE FROM observation_months", "_refresh_months: DELETE touched months"),
    ("INSERT INTO observation_months", "_refresh_months: re-aggregate touched months from raw"),
    ("SELECT indicators.code", "catalogue_maps: indicators"),
    ("SELECT org_units.code", "catalogue_maps: org units"),
    ("INSERT INTO audit_entries", "audit.record: INSERT audit_entries"),
)


@dataclass
class Timing:
    rows: int = 0
    seconds: float = 0.0
    bodies: int = 0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _batches(ctx: Context, variant: int) -> Iterator[list[Any]]:
    return batched(figures(ctx.cat, ctx.plan.push_window, variant), BODY_ROWS)


def _expect(variant: int, n: int, inserted: int, updated: int) -> None:
    want = (n, 0) if variant == 0 else (0, n)
    if (inserted, updated) != want:
        raise RuntimeError(f"expected inserted/updated {want}, got {(inserted, updated)}")


# ---------------------------------------------------------------- bare


def _bare_phase(url: str, ctx: Context, variant: int) -> Timing:
    t = Timing()
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(BARE_STAGE)
        conn.commit()
        for chunk in _batches(ctx, variant):
            rows = [(f[2], f[3], f[4], f[5], f[6], f[7]) for f in chunk]
            started = time.perf_counter()
            merged = bare_copy_merge(conn, rows)
            conn.commit()
            t.seconds += time.perf_counter() - started
            t.rows, t.bodies = t.rows + len(rows), t.bodies + 1
            if merged != len(rows):
                raise RuntimeError(f"bare merge wrote {merged} of {len(rows)} rows")
    return t


def bench_bare(ctx: Context) -> dict[str, Timing]:
    name = "scorecard_bench_bare"
    url = create_database(ctx.server_url, name, template=_db_name(ctx.main_url))
    try:
        out = {}
        for phase, variant in PHASES:
            out[phase] = _bare_phase(url, ctx, variant)
            log(f"  bare COPY-merge, {phase}: {out[phase].rows:,} rows in {out[phase].seconds:.1f} s")
        return out
    finally:
        drop_database(ctx.server_url, name)


def _db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


# ---------------------------------------------------------------- write_observations in-process


@contextmanager
def _timed_steps(profile: StatementProfile) -> Iterator[None]:
    """Wrap the steps of write_observations (module attributes looked up at call time) to time each one.
    The product modules are not changed on disk; the wrappers live only in this process, for this run."""
    from shared.access import audit
    from shared.observations import preaggregate, store, validate

    def wrap(module: Any, name: str, label: str) -> tuple[Any, str, Any]:
        original = getattr(module, name)

        async def timed_async(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*a, **kw)
            finally:
                profile.add(label, time.perf_counter() - started)

        def timed_sync(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                profile.add(label, time.perf_counter() - started)

        setattr(module, name, timed_async if inspect.iscoroutinefunction(original) else timed_sync)
        return module, name, original

    saved = [wrap(store, "catalogue_maps", "step catalogue_maps"),
             wrap(validate, "check_figures", "step validate.check_figures (Python)"),
             wrap(store, "_stage", "step _stage (temp table + COPY of the rows)"),
             wrap(store, "_merge", "step _merge"),
             wrap(preaggregate, "refresh", "step preaggregate.refresh (was store._refresh_months)"),
             wrap(audit, "record", "step audit.record")]
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


async def _store_phase(url: str, ctx: Context, variant: int, profile: StatementProfile | None) -> Timing:
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.settings import DatabaseSettings
    from shared.observations.store import write_observations
    from shared.observations.types import ObservationIn

    engine = make_engine(DatabaseSettings(url=url), "scorecard-bench")
    if profile is not None:
        profile.attach(engine.sync_engine)
    sessions = make_sessionmaker(engine)
    t = Timing()
    try:
        for chunk in _batches(ctx, variant):
            items = [ObservationIn(f[0], f[1], f[4], f[5], f[6]) for f in chunk]
            started = time.perf_counter()
            async with sessions() as session, session.begin():
                result = await write_observations(session, items, source="bench:store", actor="bench")
            t.seconds += time.perf_counter() - started
            t.rows, t.bodies = t.rows + len(items), t.bodies + 1
            _expect(variant, len(items), result.inserted, result.updated)
    finally:
        await engine.dispose()
    return t


def bench_store(ctx: Context) -> tuple[dict[str, Timing], dict[str, StatementProfile]]:
    name = "scorecard_bench_store"
    url = create_database(ctx.server_url, name, template=_db_name(ctx.main_url))
    out, profiles = {}, {}
    try:
        for phase, variant in PHASES:
            profiles[phase] = StatementProfile(STORE_LABELS)
            with _timed_steps(profiles[phase]):
                out[phase] = asyncio.run(_store_phase(url, ctx, variant, profiles[phase]))
            log(f"  write_observations in-process, {phase}: {out[phase].rows:,} rows in {out[phase].seconds:.1f} s")
        return out, profiles
    finally:
        drop_database(ctx.server_url, name)


# ---------------------------------------------------------------- POST /v1/observations


def _body(chunk: list[Any]) -> bytes:
    return json.dumps({"observations": [
        {"indicator": f[0], "org": f[1], "date": f[4].isoformat(), "numerator": f[5], "denominator": f[6]}
        for f in chunk]}, separators=(",", ":")).encode()


def _api_phase(ctx: Context, variant: int) -> Timing:
    t = Timing()
    headers = {"Authorization": f"Bearer {ctx.key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=ctx.api_base_url, headers=headers, timeout=600) as client:
        for chunk in _batches(ctx, variant):
            body = _body(chunk)
            started = time.perf_counter()
            response = client.post("/v1/observations", content=body)
            t.seconds += time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"POST /v1/observations → {response.status_code}: {response.text[:2000]}")
            got = response.json()
            _expect(variant, len(chunk), got["inserted"], got["updated"])
            t.rows, t.bodies = t.rows + len(chunk), t.bodies + 1
    return t


def bench_api(ctx: Context) -> dict[str, Timing]:
    out = {}
    for phase, variant in PHASES:
        out[phase] = _api_phase(ctx, variant)
        log(f"  POST /v1/observations, {phase}: {out[phase].rows:,} rows in {out[phase].seconds:.1f} s "
            f"({out[phase].bodies} bodies)")
    return out


# ---------------------------------------------------------------- results


def rows(bare: dict[str, Timing], store: dict[str, Timing], api: dict[str, Timing]) -> list[Row]:
    out: list[Row] = []
    for phase, _ in PHASES:
        b = bare[phase].rate
        measure = f"push, {phase}"
        out.append(Row(measure, "bare: COPY → stage → INSERT ON CONFLICT",
                       f"{bare[phase].rows:,}", f"{b:,.0f} rows/s", "1.00×", "reference"))
        out.append(Row("", "write_observations, in-process", f"{store[phase].rows:,}",
                       f"{store[phase].rate:,.0f} rows/s", f"{store[phase].rate / b:.2f}×", ""))
        ratio = api[phase].rate / b
        out.append(Row("", f"POST /v1/observations ({BODY_ROWS // 1000}k bodies)",
                       f"{api[phase].rows:,}", f"{api[phase].rate:,.0f} rows/s", f"{ratio:.2f}×",
                       verdict_at_least(ratio, 0.5)))
    return out


def verdict_at_least(ratio: float, target: float) -> str:
    if ratio >= target:
        return f"≥ {target:.2f}×: MET"
    return f"≥ {target:.2f}×: MISSED by {100 * (1 - ratio / target):.0f} % (needs {target / ratio:.1f}× faster)"


def print_breakdown(store: dict[str, Timing], profiles: dict[str, StatementProfile]) -> None:
    """Where write_observations spends its time: steps, then the SQL statements inside them."""
    for phase, profile in profiles.items():
        total = store[phase].seconds
        print(f"\nwrite_observations breakdown, {phase} ({store[phase].rows:,} rows, {store[phase].bodies} "
              f"calls, {total:.2f} s):")
        steps = {k: v for k, v in profile.seconds.items() if k.startswith("step ")}
        statements = {k: v for k, v in profile.seconds.items() if not k.startswith("step ")}
        rest = total - sum(steps.values())
        for label, secs in [*sorted(steps.items(), key=lambda kv: -kv[1]), ("rest (commit, session)", rest)]:
            print(f"  {label:<62} {secs:7.2f} s {100 * secs / total:5.1f} %")
        print("  SQL statements (inside the steps above):")
        for label, secs in sorted(statements.items(), key=lambda kv: -kv[1])[:12]:
            print(f"    {label:<60} {secs:7.2f} s {100 * secs / total:5.1f} %  ×{profile.calls[label]}")

