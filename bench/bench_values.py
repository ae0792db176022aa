"""/v1/values province-year roll-up latency: GET through a real uvicorn process vs the bare SQL (psycopg) that
computes the same sums from the raw daily table and from the monthly pre-aggregate, on the same database.

One 'last' and one 'sum' indicator; one client, requests one after another on a kept-alive connection.
The API's answer is checked against the raw-table SQL (numerator, denominator, units reporting).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import psycopg

from bench.common import PROVINCE, YEAR, Context, Row, StatementProfile, libpq, log, percentile

_FROM_RAW = ("FROM observations o JOIN org_unit_paths p ON p.descendant_id = o.org_id WHERE p.ancestor_id = "
             "%(root)s AND o.indicator_id = %(ind)s AND o.obs_date BETWEEN %(start)s AND %(end)s")
_FROM_MONTHS = ("FROM observation_months m JOIN org_unit_paths p ON p.descendant_id = m.org_id WHERE "
                "p.ancestor_id = %(root)s AND m.indicator_id = %(ind)s AND m.month BETWEEN %(start)s AND %(end)s")
SQL = {
    ("raw", "sum"): f"SELECT sum(o.numerator), sum(o.denominator), count(DISTINCT o.org_id) {_FROM_RAW}",
    ("raw", "last"): ("SELECT sum(num), sum(den), count(*) FROM (SELECT DISTINCT ON (o.org_id) o.numerator AS num, "
                      f"o.denominator AS den {_FROM_RAW} ORDER BY o.org_id, o.obs_date DESC) latest"),
    ("months", "sum"): ("SELECT sum(m.sum_numerator), sum(m.sum_denominator), count(DISTINCT m.org_id) "
                        f"{_FROM_MONTHS}"),
    ("months", "last"): ("SELECT sum(num), sum(den), count(*) FROM (SELECT DISTINCT ON (m.org_id) "
                         f"m.last_numerator AS num, m.last_denominator AS den {_FROM_MONTHS} "
                         "ORDER BY m.org_id, m.month DESC) latest"),
}
WARMUP = 5


def _timed(call: Callable[[], Any], n: int, warmup: int = WARMUP) -> tuple[list[float], Any]:
    answer = None
    for _ in range(warmup):
        answer = call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        answer = call()
        samples.append(1000 * (time.perf_counter() - started))
    return samples, answer


def _ms(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 0.5):,.1f} / p95 {percentile(samples, 0.95):,.1f} ms"


def _agrees(api: dict[str, Any], raw: tuple[Any, ...]) -> bool:
    def close(a: float | None, b: float | None) -> bool:
        return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))

    return close(api["numerator"], raw[0]) and close(api["denominator"], raw[1]) and api["units_reporting"] == raw[2]


def _one_indicator(ctx: Context, code: str, agg: str, conn: psycopg.Connection[Any],
                   client: httpx.Client) -> list[Row]:
    ind_id = next(i for c, i, _ in ctx.cat.indicators if c == code)
    root = conn.execute("SELECT id FROM org_units WHERE code = %s", (PROVINCE,)).fetchone()
    params = {"root": root[0] if root else 0, "ind": ind_id, "start": date(YEAR, 1, 1), "end": date(YEAR, 12, 31)}

    def get() -> dict[str, Any]:
        r = client.get("/v1/values", params={"indicator": code, "org": PROVINCE, "period": str(YEAR)})
        if r.status_code != 200:
            raise RuntimeError(f"GET /v1/values → {r.status_code}: {r.text[:1000]}")
        return r.json()["values"][0]  # type: ignore[no-any-return]

    raw, raw_answer = _timed(lambda: conn.execute(SQL["raw", agg], params).fetchone(), ctx.raw_reps, warmup=1)
    months, _ = _timed(lambda: conn.execute(SQL["months", agg], params).fetchone(), ctx.requests)
    api, api_answer = _timed(get, ctx.requests)
    ok = _agrees(api_answer, raw_answer)
    log(f"  {code} ({agg}): API {_ms(api)}, raw SQL {_ms(raw)}, pre-aggregate SQL {_ms(months)}; "
        f"API answer {'agrees with' if ok else 'DIFFERS FROM'} the raw-table SQL "
        f"(num {api_answer['numerator']}, den {api_answer['denominator']}, units {api_answer['units_reporting']} "
        f"vs {raw_answer})")
    p_raw, p_months, p_api = (percentile(s, 0.5) for s in (raw, months, api))
    measure = f"values {code} ({agg})"
    missed = f"MISSED by {p_api - 10:,.1f} ms ({p_api / 10:.2f}× the target)"
    target = "p50 ≤ 10 ms: " + ("MET" if p_api <= 10 else missed)
    return [
        Row(measure, "bare SQL, raw daily table", str(len(raw)), _ms(raw), "1.00×", "reference"),
        Row("", "bare SQL, monthly pre-aggregate", str(len(months)), _ms(months),
            f"{p_months / p_raw:.4f}× raw", ""),
        Row("", "GET /v1/values via uvicorn", str(len(api)), _ms(api),
            f"{p_api / p_raw:.4f}× raw, {p_api / p_months:.1f}× pre-agg",
            target + ("" if ok else "; ANSWER DIFFERS")),
    ]


def bench_values(ctx: Context) -> list[Row]:
    """Rows for the table; the first 'last' and the first 'sum' indicator of the plan."""
    picks: dict[str, str] = {}
    for code in ctx.plan.indicators:
        picks.setdefault(ctx.cat.time_aggregation[code], code)
    headers = {"Authorization": f"Bearer {ctx.key}"}
    out: list[Row] = []
    with psycopg.connect(libpq(ctx.api_db_url), autocommit=True) as conn, \
            httpx.Client(base_url=ctx.api_base_url, headers=headers, timeout=120) as client:
        floor, _ = _timed(lambda: client.get("/healthz").raise_for_status(), ctx.requests)
        for agg in ("last", "sum"):
            if agg in picks:
                out.extend(_one_indicator(ctx, picks[agg], agg, conn, client))
    out.append(Row("HTTP floor", "GET /healthz via uvicorn (no DB)", str(len(floor)), _ms(floor), "", ""))
    return out


async def _profile_values(ctx: Context, code: str, n: int) -> StatementProfile:
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.periods import parse_period
    from shared.core.settings import DatabaseSettings, Settings
    from shared.values import query as value_query

    engine = make_engine(DatabaseSettings(url=ctx.api_db_url), "scorecard-bench")
    profile = StatementProfile()
    scoring = Settings(db=DatabaseSettings(url=ctx.api_db_url)).scoring
    try:
        async with make_sessionmaker(engine)() as session:
            for i in range(n + WARMUP):
                if i == WARMUP:
                    profile.attach(engine.sync_engine)
                started = time.perf_counter()
                await value_query.values(session, indicator_codes=[code], org=PROVINCE, children=False,
                                         periods=[parse_period(str(YEAR))], scoring=scoring)
                if i >= WARMUP:
                    profile.add("whole shared.values.query.values() call", time.perf_counter() - started)
    finally:
        await engine.dispose()
    return profile


def print_values_breakdown(ctx: Context) -> None:
    """Where an in-process values() call spends its time, per SQL statement (ms per call)."""
    n = max(10, ctx.requests // 2)
    for code in ctx.plan.indicators[:2]:
        profile = asyncio.run(_profile_values(ctx, code, n))
        agg = ctx.cat.time_aggregation[code]
        print(f"\nshared.values.query.values() breakdown, {code} ({agg}), {n} in-process calls, ms per call:")
        for label, secs in sorted(profile.seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {1000 * secs / n:8.2f} ms  ×{profile.calls[label] // n:<2} {label}")
