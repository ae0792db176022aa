"""Scores and rankings (issue 8's targets): a generated scheme of 90 items over 1,000 units assessed, every item
scored and verified, through a real uvicorn process.

* live `GET /v1/rankings?kind=county`, p50, against ONE bare SQL statement (psycopg) that sums the same verified
  points per unit and section — target p50 ≤ 3×: as served (answers are kept per process under the scheme's
  revision, which every write counts up, so a read between writes is a memory look-up), and as the first read
  after a write costs (a second API process with SCORECARD_API__ANSWER_CACHE_MB=0 computes every answer);
* a published ranking (`version=1`, served from its stored bytes), requests/s against a bare Starlette endpoint
  (bench/bare_bytes.py, its own uvicorn process) returning the same bytes — target ≥ 0.7×.

The scheme: 6 sections (25/25/20/10/10/10) × 3 groups × 5 items; groups have points, items none, so every
item's maximum is an equal share (1/5 of its group's points); 10 departments lead the items (item n by
department n mod 10), items 1–10 have a second lead unit, so those average two lead units' points. The units
assessed: 20 cities × 50 counties under a generated province. Set-up (not timed): units and the scheme through
the product (`shared.org_units.store.upsert_units`, `shared.schemes.load.load_scheme`), the 100,000 entries
COPYed straight into `assessments` as verified, the overall methods' scores too; the API's first answer is
checked against an independent sum of the same rows (totals of three units).

    .venv/bin/python -m bench.bench_scores [--units 1000] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.bench_values import _timed
from bench.common import (
    NO_CACHE,
    ApiProcess,
    Row,
    UvicornProcess,
    copy_rows,
    create_database,
    drop_database,
    libpq,
    log,
    percentile,
    print_table,
)

DB = "scorecard_bench_scores"
PROVINCE = "150000000000"
PERIOD = "2022H1"
SECTIONS = (Decimal(25), Decimal(25), Decimal(20), Decimal(10), Decimal(10), Decimal(10))
GROUP_SHARES = (Decimal("0.4"), Decimal("0.4"), Decimal("0.2"))  # of the section's points
ITEMS_PER_GROUP = 5
DEPARTMENTS = 10
TWO_LEADS = range(1, 11)  # items averaged over two lead units

BARE_SQL = """
SELECT a.org_id, g.section_id, sum(a.points)
FROM assessments a JOIN scheme_items i ON i.id = a.item_id JOIN scheme_groups g ON g.id = i.group_id
WHERE a.scheme_id = %(scheme)s AND a.period = %(period)s AND a.status = 'verified'
GROUP BY a.org_id, g.section_id
"""


def department(n: int) -> tuple[str, str]:
    return f"150000D{n + 1:03d}", f"基准部门{n + 1:02d}"


def leads_of(item: int) -> list[int]:
    first = item % DEPARTMENTS
    return [first, (first + 1) % DEPARTMENTS] if item in TWO_LEADS else [first]


def scheme_spec() -> dict[str, Any]:
    sections, number = [], 0
    for s, points in enumerate(SECTIONS):
        groups = []
        for g, share in enumerate(GROUP_SHARES):
            items = []
            for _ in range(ITEMS_PER_GROUP):
                number += 1
                items.append({
                    "number": number, "text": f"基准考评事项{number}", "points": None, "deadline": "6月底完成",
                    "lead_units": [department(d)[1] for d in leads_of(number)],
                })
            groups.append({"number": f"（{g + 1}）", "title": f"第{s + 1}部分第{g + 1}组", "points": points * share,
                           "items": items})
        sections.append({"number": str(s + 1), "title": f"第{s + 1}部分", "points": points, "groups": groups})
    return {
        "code": "BENCH2022", "name": "基准考评办法", "jurisdiction": PROVINCE, "year": 2022, "version": 1,
        "assessed": {"county": {"level": "county"}},
        "methods": [
            {"code": "monitoring", "name": "日常监测", "weight": "0.6", "kind": "items"},
            {"code": "field_survey", "name": "实地调研", "weight": "0.2", "kind": "items"},
            {"code": "public_opinion", "name": "民意调查", "weight": "0.1", "kind": "overall"},
            {"code": "third_party", "name": "第三方评估", "weight": "0.1", "kind": "overall"},
        ],
        "sections": sections,
    }


def county_codes(units: int) -> Iterator[tuple[str, str, str]]:
    """(code, name, city code) of `units` counties, 50 a city."""
    for n in range(units):
        city = f"15{10 + n // 50:02d}00000000"
        yield f"{city[:4]}{1 + n % 50:02d}000000", f"基准县{n + 1:04d}", city


def points_of(item: int, unit: int, lead: int, max_points: Fraction) -> Decimal:
    """Deterministic points in 0.05 steps of the item's maximum (0.50–1.00 of it), exact in NUMERIC(10,4)."""
    step = 10 + (item * 7 + unit * 13 + lead * 5) % 11  # 10 … 20 twentieths
    return (Decimal(max_points.numerator) / Decimal(max_points.denominator) * step / 20).quantize(Decimal("0.0001"),
                                                                                               rounding="ROUND_DOWN")


async def _prepare(url: str, units: int) -> str:
    """Units, departments, the scheme and an admin key, through the product; returns the key."""
    from shared.access import store as access_store
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.settings import DatabaseSettings, Settings
    from shared.org_units import store as org_store
    from shared.schemes import load as scheme_load

    settings = Settings(db=DatabaseSettings(url=url))
    engine = make_engine(settings.db, "scorecard-bench-scores")
    sessions = make_sessionmaker(engine)
    try:
        specs = [org_store.UnitSpec(code=PROVINCE, name="内蒙古自治区", kind="region", level="province", parent=None)]
        cities = sorted({city for _, _, city in county_codes(units)})
        specs += [org_store.UnitSpec(code=c, name=f"基准市{c[2:4]}", kind="region", level="city", parent=PROVINCE)
                  for c in cities]
        specs += [org_store.UnitSpec(code=c, name=n, kind="region", level="county", parent=city)
                  for c, n, city in county_codes(units)]
        specs += [org_store.UnitSpec(code=department(d)[0], name=department(d)[1], kind="department", level=None,
                                     parent=PROVINCE) for d in range(DEPARTMENTS)]
        async with sessions() as s, s.begin():
            await org_store.upsert_units(s, specs)
            await scheme_load.load_scheme(s, scheme_spec(), actor="bench")
            _, key = await access_store.create_key(s, name="bench-admin", role="admin", org=None,
                                                   pepper=settings.api.key_pepper, actor="bench")
        return key
    finally:
        await engine.dispose()


@dataclass
class Loaded:
    scheme_id: int
    entries: int
    expected: dict[str, Fraction]  # unit code → half-year total, computed here from the generated points


def _load_entries(url: str, units: int) -> Loaded:
    """Every item of every unit scored by each of its lead units for monitoring (verified), overall scores."""
    with psycopg.connect(libpq(url)) as conn:
        scheme_id, = conn.execute("SELECT id FROM schemes WHERE code = 'BENCH2022'").fetchone() or (0,)
        methods: dict[str, int] = dict(
            conn.execute("SELECT code, id FROM scheme_methods WHERE scheme_id = %s", (scheme_id,)))
        items = {n: i for n, i in conn.execute("SELECT number, id FROM scheme_items WHERE scheme_id = %s",
                                                   (scheme_id,))}
        orgs: dict[str, int] = dict(conn.execute("SELECT code, id FROM org_units"))
        now = datetime.now(UTC)
        maxima = {}
        number = 0
        for points in SECTIONS:
            for share in GROUP_SHARES:
                for _ in range(ITEMS_PER_GROUP):
                    number += 1
                    maxima[number] = Fraction(points * share) / ITEMS_PER_GROUP
        rows: list[tuple[Any, ...]] = []
        expected: dict[str, Fraction] = {}
        for u, (code, _, _) in enumerate(county_codes(units)):
            monitoring = Fraction(0)
            for n, max_points in maxima.items():
                given = [points_of(n, u, d, max_points) for d in leads_of(n)]
                monitoring += sum((Fraction(p) for p in given), Fraction(0)) / len(given)
                rows += [(scheme_id, methods["monitoring"], items[n], orgs[code], PERIOD, p, None,
                          orgs[department(d)[0]], "verified", False, "bench", now, "bench", now)
                         for d, p in zip(leads_of(n), given, strict=True)]
            opinion, third = Decimal(60 + u % 40), Decimal(70 + u % 30)
            rows += [(scheme_id, methods[m], None, orgs[code], PERIOD, None, score, None, "verified", False, "bench",
                      now, "bench", now) for m, score in (("public_opinion", opinion), ("third_party", third))]
            # field_survey has no entries: it counts 0 (every item not assessed)
            expected[code] = (Fraction(6, 10) * monitoring + Fraction(1, 10) * Fraction(opinion)
                              + Fraction(1, 10) * Fraction(third))
        copy_rows(conn, "assessments",
                  "scheme_id, method_id, item_id, org_id, period, points, score, lead_org_id, status, automatic, "
                  "entered_by, entered_at, verified_by, verified_at",
                  ["int4", "int4", "int4", "int4", "varchar", "numeric", "numeric", "int4", "varchar", "bool",
                   "varchar", "timestamptz", "varchar", "timestamptz"], rows)
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Loaded(scheme_id, len(rows), expected)


def _rate(client: httpx.Client, path: str, seconds: float = 3.0) -> tuple[float, bytes]:
    """Requests/s of one client, one request after the other on a kept-alive connection."""
    body = client.get(path).content
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        r = client.get(path)
        if r.status_code != 200 or r.content != body:
            raise RuntimeError(f"GET {path} → {r.status_code}, or a different body")
        done += 1
    return done / (time.perf_counter() - started), body


class BareBytes(UvicornProcess):
    """bench/bare_bytes.py (a bare Starlette endpoint returning a file's bytes), started at once."""

    def __init__(self, body: bytes, media_type: str) -> None:
        fd, name = tempfile.mkstemp(prefix="scorecard-bench-bytes-")
        os.write(fd, body)
        os.close(fd)
        self.path = Path(name)
        super().__init__("bench.bare_bytes:app", {"BENCH_BYTES_FILE": name, "BENCH_BYTES_TYPE": media_type},
                         health="/bytes")
        self.start()

    def stop(self) -> None:
        super().stop()
        self.path.unlink(missing_ok=True)


def _computed(url: str, loaded: Loaded, path: str, requests: int) -> tuple[list[float], list[float], Any]:
    """The bare statement's and the computed ranking's timings (an API process that caches nothing)."""
    computing = ApiProcess(url, "", NO_CACHE)
    try:
        computing.start()
        with psycopg.connect(libpq(url)) as conn, httpx.Client(base_url=computing.base_url, timeout=300) as client:
            params = {"scheme": loaded.scheme_id, "period": PERIOD}
            sql, _ = _timed(lambda: conn.execute(BARE_SQL, params).fetchall(), requests)
            computed, answer = _timed(lambda: client.get(path).json(), requests)
    finally:
        computing.stop()
    return sql, computed, answer


def _check(answer: dict[str, Any], loaded: Loaded) -> str:
    rows = answer["rows"]
    if len(rows) != len(loaded.expected):
        return f"DIFFERS: {len(rows)} rows for {len(loaded.expected)} units"
    from shared.scores.compute import shown

    wrong = [r["org"] for r in rows if Decimal(str(r["total"])) != shown(loaded.expected[r["org"]])]
    if wrong:
        return f"DIFFERS for {len(wrong)} units (first {wrong[0]})"
    return "agrees with the totals computed here"


def bench_scores(server_url: str, units: int, requests: int) -> list[Row]:
    url = create_database(server_url, DB)
    api: ApiProcess | None = None
    bare: BareBytes | None = None
    try:
        from shared.core import migrations

        migrations.upgrade(url)
        key = asyncio.run(_prepare(url, units))
        loaded = _load_entries(url, units)
        log(f"scores: scheme of 90 items, {units:,} units, {loaded.entries:,} verified entries loaded")
        api = ApiProcess(url, "")
        api.start()
        live_path = f"/v1/rankings?scheme={loaded.scheme_id}&period={PERIOD}&kind=county"
        sql, computed, answer = _computed(url, loaded, live_path, requests)
        verdict = _check(answer, loaded)
        with httpx.Client(base_url=api.base_url, timeout=300) as client:
            assert client.get(live_path).json() == answer
            cached, _ = _timed(lambda: client.get(live_path).content, requests)
            log(f"  live ranking p50: computed {percentile(computed, 0.5):.1f} ms, cached {percentile(cached, 0.5):.2f}"
                f" ms; bare SQL p50 {percentile(sql, 0.5):.1f} ms; the API's totals: {verdict}")
            started = time.perf_counter()
            r = client.post(f"/v1/schemes/{loaded.scheme_id}/publications", json={"period": PERIOD},
                            headers={"Authorization": f"Bearer {key}"})
            if r.status_code != 200:
                raise RuntimeError(f"publication → {r.status_code}: {r.text[:500]}")
            log(f"  published in {time.perf_counter() - started:.1f} s")
            published, body = _rate(client, f"{live_path}&version=1")
        bare = BareBytes(body, "application/json")
        with httpx.Client(base_url=f"http://127.0.0.1:{bare.port}") as client:
            floor, same = _rate(client, "/bytes")
        assert same == body
        p50_sql = percentile(sql, 0.5)
        p50_cached, p50_computed = percentile(cached, 0.5), percentile(computed, 0.5)
        return [
            Row("ranking, live", "bare SQL: Σ verified points per unit and section", str(requests),
                f"p50 {p50_sql:.1f} ms", "1.00×"),
            Row("", "GET /v1/rankings, unchanged since the last read (cached)", str(requests),
                f"p50 {p50_cached:.2f} ms", f"{p50_cached / p50_sql:.2f}×",
                f"≤ 3×: {'met' if p50_cached <= 3 * p50_sql else 'missed'}"),
            Row("", "GET /v1/rankings, first read after a write (computed)", str(requests),
                f"p50 {p50_computed:.1f} ms / p95 {percentile(computed, 0.95):.1f} ms",
                f"{p50_computed / p50_sql:.2f}×", f"≤ 3×: {'met' if p50_computed <= 3 * p50_sql else 'missed'} "
                f"({verdict})"),
            Row("ranking, published", f"bare Starlette, the same {len(body):,} bytes", "3 s", f"{floor:,.0f} req/s",
                "1.00×"),
            Row("", "GET /v1/rankings?version=1", "3 s", f"{published:,.0f} req/s", f"{published / floor:.2f}×",
                f"≥ 0.7×: {'met' if published >= 0.7 * floor else 'missed'}"),
        ]
    finally:
        if bare is not None:
            bare.stop()
        if api is not None:
            api.stop()
        drop_database(server_url, DB)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_scores", description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=1000, help="county-level units assessed (default 1000)")
    p.add_argument("--requests", type=int, default=30, help="timed requests and SQL runs (default 30)")
    args = p.parse_args(argv)
    server = None
    given = os.environ.get("SCORECARD_BENCH_DATABASE_URL")
    if given:
        server_url = given
    else:
        from tests.pg_server import PostgresServer

        server = PostgresServer()
        server_url = server.start()
    try:
        rows = bench_scores(server_url, args.units, args.requests)
    finally:
        if server is not None:
            server.stop()
    print_table(f"scores and rankings — {args.units:,} units × 90 items", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
