"""The provincial dashboard (issue 10's targets) on a copy of the loaded database: the bench's 2,052-unit tree
under 内蒙古自治区 (150000000000), its year of daily figures; the 青山区 plan (QS2022) is made the province's for
the copy, so the province's 12 cities carry its 15 key indicators (2 of them with data at the default scale).

* cached: `GET /v1/dashboard?org=150000000000&year=2021` answered from memory (the API keeps built dashboards
  under the data revision), requests/s against a bare Starlette endpoint (bench/bare_bytes.py) returning the same
  bytes — target ≥ 0.7×;
* uncached: the same request to an API process with SCORECARD_API__ANSWER_CACHE_MB=0 (every answer built: a few
  grouped statements, targets, warnings, the document), p50 against the bare statements over the pre-aggregates
  that the same answer needs (one series statement per key indicator over the 13 roots: the year, its 12 months
  and 30 days, through psycopg) — target ≤ 3×.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import psycopg

from bench.bench_scores import BareBytes, _rate
from bench.bench_values import _timed
from bench.common import (
    NO_CACHE,
    PROVINCE,
    YEAR,
    ApiProcess,
    Context,
    Row,
    create_database,
    drop_database,
    libpq,
    log,
    percentile,
)

DB = "scorecard_bench_dashboard"
PATH = f"/v1/dashboard?org={PROVINCE}&year={YEAR}"

# What the dashboard's series statement computes for one indicator (shared/dashboard/rollup.series), written out
# bare: per-unit monthly rows for the months and the year, raw figures for the days, summed over each root's
# subtree.
_SERIES = {
    "sum": """
WITH m AS (SELECT org_id, month, sum_numerator AS num, sum_denominator AS den, sum_value AS val
           FROM observation_months WHERE indicator_id = %(ind)s AND month BETWEEN %(y0)s AND %(y1)s),
f AS (SELECT 'month' AS g, month AS start, org_id, num, den, val FROM m
      UNION ALL SELECT 'year', %(y0)s, org_id, sum(num), sum(den), sum(val) FROM m GROUP BY org_id
      UNION ALL SELECT 'day', obs_date, org_id, numerator, denominator, value FROM observations
                WHERE indicator_id = %(ind)s AND obs_date BETWEEN %(d0)s AND %(d1)s)
SELECT p.ancestor_id, f.g, f.start, sum(f.num::numeric), sum(f.den::numeric), sum(f.val::numeric), count(*)
FROM f JOIN org_unit_paths p ON p.descendant_id = f.org_id WHERE p.ancestor_id = ANY(%(roots)s)
GROUP BY p.ancestor_id, f.g, f.start""",
    "last": """
WITH m AS (SELECT org_id, month, last_numerator AS num, last_denominator AS den, last_value AS val,
                  row_number() OVER (PARTITION BY org_id ORDER BY month DESC) AS rn
           FROM observation_months WHERE indicator_id = %(ind)s AND month BETWEEN %(y0)s AND %(y1)s),
f AS (SELECT 'month' AS g, month AS start, org_id, num, den, val FROM m
      UNION ALL SELECT 'year', %(y0)s, org_id, num, den, val FROM m WHERE rn = 1
      UNION ALL SELECT 'day', obs_date, org_id, numerator, denominator, value FROM observations
                WHERE indicator_id = %(ind)s AND obs_date BETWEEN %(d0)s AND %(d1)s)
SELECT p.ancestor_id, f.g, f.start, sum(f.num::numeric), sum(f.den::numeric), sum(f.val::numeric), count(*)
FROM f JOIN org_unit_paths p ON p.descendant_id = f.org_id WHERE p.ancestor_id = ANY(%(roots)s)
GROUP BY p.ancestor_id, f.g, f.start""",
}


def _prepare(url: str) -> tuple[list[tuple[int, str]], list[int]]:
    """Make QS2022 the province's plan; returns its indicators (id, time aggregation) and the 13 roots."""
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("UPDATE plans SET jurisdiction_id = (SELECT id FROM org_units WHERE code = %s) "
                     "WHERE code = 'QS2022'", (PROVINCE,))
        indicators = [(i, t) for i, t in conn.execute(
            "SELECT id, time_aggregation FROM indicators WHERE plan_code = 'QS2022' ORDER BY code")]
        roots = [r for r, in conn.execute(
            "SELECT id FROM org_units WHERE code = %s OR parent_id = (SELECT id FROM org_units WHERE code = %s)",
            (PROVINCE, PROVINCE))]
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return indicators, roots


def bench_dashboard(ctx: Context, template: str) -> list[Row]:
    url = create_database(ctx.server_url, DB, template=template)
    processes: list[Any] = []
    try:
        indicators, roots = _prepare(url)
        end = date(YEAR, 12, 31)
        params = {"y0": date(YEAR, 1, 1), "y1": end, "d0": end - timedelta(days=29), "d1": end, "roots": roots}
        building = ApiProcess(url, ctx.pepper, NO_CACHE)
        processes.append(building)
        building.start()
        with psycopg.connect(libpq(url)) as conn, httpx.Client(base_url=building.base_url, timeout=300) as client:
            def bare() -> None:
                for ind, agg in indicators:
                    conn.execute(_SERIES[agg], {**params, "ind": ind}).fetchall()

            sql, _ = _timed(bare, ctx.requests)
            built, answer = _timed(lambda: client.get(PATH), ctx.requests)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {PATH} → {answer.status_code}: {answer.text[:500]}")
        cached = ApiProcess(url, ctx.pepper)
        cached.start()
        processes.append(cached)
        with httpx.Client(base_url=cached.base_url, timeout=300) as client:
            served, body = _rate(client, PATH)
        floor_app = BareBytes(body, "application/json")
        processes.append(floor_app)
        with httpx.Client(base_url=f"http://127.0.0.1:{floor_app.port}") as client:
            floor, same = _rate(client, "/bytes")
        assert same == body
        p50_sql, p50_built = percentile(sql, 0.5), percentile(built, 0.5)
        units = len(answer.json()["units"])
        log(f"  dashboard of {PROVINCE}: {units} child units × {len(indicators)} key indicators, {len(body):,} bytes; "
            f"built p50 {p50_built:.1f} ms against bare series SQL {p50_sql:.1f} ms; cached {served:,.0f} req/s "
            f"against bare Starlette {floor:,.0f} req/s")
        return [
            Row("dashboard, built", f"bare SQL: {len(indicators)} series statements (13 roots)", str(ctx.requests),
                f"p50 {p50_sql:.1f} ms", "1.00×"),
            Row("", f"GET /v1/dashboard (province, {units} cities), cache off", str(ctx.requests),
                f"p50 {p50_built:.1f} ms / p95 {percentile(built, 0.95):.1f} ms", f"{p50_built / p50_sql:.2f}×",
                f"≤ 3×: {'met' if p50_built <= 3 * p50_sql else 'missed'}"),
            Row("dashboard, cached", f"bare Starlette, the same {len(body):,} bytes", "3 s", f"{floor:,.0f} req/s",
                "1.00×"),
            Row("", "GET /v1/dashboard, kept under the data revision", "3 s", f"{served:,.0f} req/s",
                f"{served / floor:.2f}×", f"≥ 0.7×: {'met' if served >= 0.7 * floor else 'missed'}"),
        ]
    finally:
        for p in reversed(processes):
            p.stop()
        drop_database(ctx.server_url, DB)
