"""The floor for `GET /v1/values` under concurrency (bench/bench_load.py): a bare FastAPI endpoint that runs the
statements the product's values read runs for one indicator × one unit × one period, over a raw psycopg 3 pool
(psycopg_pool.AsyncConnectionPool), and returns the numbers as a plain dict.

    BENCH_BARE_DB="postgresql://…/scorecard_bench_api" uvicorn bench.bare_values:create_app --factory

The SQL is shared/values/rollup.py's, written out for one root (`= %(root)s` for `IN :roots`):
`units_expected`, then the region-level pre-aggregate (`rollup_months`), then — for a root whose region row
cannot be proven exact, or has none — the per-unit roll-up over `observation_months` (over `observations` for a
day). The two look-ups by code are one statement here. What the bare path does not do: ancestor chains, targets,
achievement, status, the explanation text, pydantic response models — that is part of what the ratio measures.
Nothing here is product code; only `parse_period` (pure) is shared, so both read the same dates.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from psycopg_pool import AsyncConnectionPool

from shared.core.periods import parse_period

LOOKUP = ("SELECT i.id, i.time_aggregation, i.rollup, u.id FROM indicators i, org_units u "
          "WHERE i.code = %(ind_code)s AND u.code = %(org_code)s")
EXPECTED = (
    "SELECT count(*) FROM org_unit_paths p JOIN org_units u ON u.id = p.descendant_id "
    "WHERE p.ancestor_id = %(root)s {own_only} AND u.valid_from <= %(end)s "
    "AND (u.valid_to IS NULL OR u.valid_to >= %(start)s) AND u.level IN ("
    "SELECT level FROM indicator_levels WHERE indicator_id = %(ind)s)")


def _latest_month(table: str, columns: str, where: str = "") -> str:
    return (f"SELECT org_id, {columns} FROM (SELECT *, row_number() OVER (PARTITION BY org_id ORDER BY month DESC) "
            f"AS rn FROM {table} WHERE indicator_id = %(ind)s {where} AND month BETWEEN %(start)s AND %(end)s) "
            "latest WHERE rn = 1")


REGION = {
    "sum": ("SELECT sum(sum_numerator), sum(sum_denominator), sum(sum_value), max(units), count(*) "
            "FROM rollup_months WHERE indicator_id = %(ind)s AND org_id = %(root)s "
            "AND month BETWEEN %(start)s AND %(end)s GROUP BY org_id"),
    "last": ("SELECT last_numerator, last_denominator, last_value, units, 1 FROM (" + _latest_month(
        "rollup_months", "last_numerator, last_denominator, last_value, units", "AND org_id = %(root)s") + ") r"),
}
_SOURCE = {
    "day": ("SELECT org_id, numerator AS num, denominator AS den, value AS val FROM observations "
            "WHERE indicator_id = %(ind)s AND obs_date = %(start)s"),
    "sum": ("SELECT org_id, sum(sum_numerator) AS num, sum(sum_denominator) AS den, sum(sum_value) AS val "
            "FROM observation_months WHERE indicator_id = %(ind)s AND month BETWEEN %(start)s AND %(end)s "
            "GROUP BY org_id"),
    "last": _latest_month("observation_months", "last_numerator AS num, last_denominator AS den, last_value AS val"),
}
ROLLUP = ("SELECT sum(CAST(f.num AS NUMERIC)), sum(CAST(f.den AS NUMERIC)), sum(CAST(f.val AS NUMERIC)), count(*) "
          "FROM ({source}) f JOIN org_unit_paths p ON p.descendant_id = f.org_id WHERE p.ancestor_id = %(root)s "
          "{own_only}")


def _number(x: Decimal | float | None) -> float | None:
    return None if x is None else float(x)


async def read(pool: AsyncConnectionPool[Any], indicator: str, org: str, period: str) -> dict[str, Any] | None:
    """The numbers of one indicator × unit × period, or None when the code or the unit is unknown."""
    p = parse_period(period)
    async with pool.connection() as conn:
        found = await (await conn.execute(LOOKUP, {"ind_code": indicator, "org_code": org})).fetchone()
        if found is None:
            return None
        ind, time_aggregation, rollup_rule, root = found
        params = {"ind": ind, "root": root, "start": p.start, "end": p.end}
        own_only = "AND p.depth = 0" if rollup_rule == "none" else ""
        expected_row = await (await conn.execute(EXPECTED.format(own_only=own_only), params)).fetchone()
        expected = int(expected_row[0]) if expected_row else 0
        basis = None
        if rollup_rule != "none" and p.granularity != "day":
            region = await (await conn.execute(REGION[time_aggregation], params)).fetchone()
            if region is not None:
                num, den, val, units, months = region
                if months == 1 and time_aggregation == "sum" or units >= expected:
                    basis = (num, den, val, units)
        if basis is None:
            source = _SOURCE["day" if p.granularity == "day" else time_aggregation]
            basis = await (await conn.execute(ROLLUP.format(source=source, own_only=own_only), params)).fetchone()
    num, den, val, units = basis if basis is not None else (None, None, None, 0)
    units = int(units or 0)
    return {"indicator": indicator, "org": org, "period": p.label, "numerator": _number(num),
            "denominator": _number(den), "value_sum": _number(val), "units_reporting": units,
            "units_expected": expected}


def create_app() -> FastAPI:
    conninfo = os.environ["BENCH_BARE_DB"]
    size = int(os.environ.get("BENCH_BARE_POOL_MIN", "10"))
    most = int(os.environ.get("BENCH_BARE_POOL_MAX", "20"))
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(conninfo, min_size=size, max_size=most, open=False,
                                                         kwargs={"application_name": "scorecard-bench-bare"})

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/values")
    async def values(indicator: str = Query(), org: str = Query(), period: str = Query()) -> dict[str, Any]:
        try:
            answer = await read(pool, indicator, org, period)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        if answer is None:
            raise HTTPException(404, "unknown indicator or unit")
        return {"values": [answer]}

    return app
