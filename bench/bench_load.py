"""Load, loopback only, bounded in time and count (issue 9, "Prove it": Load).

1. **Concurrent pushes and reads** against the real uvicorn process on the loaded API database: W writer clients
   POST distinct figures (1,000-row bodies, keys of the year after the loaded one, so every row is new; every
   5th request of a writer re-sends one of its earlier bodies with every numerator changed, so updates race
   with inserts too) while R reader clients GET /v1/values over several indicators × units × periods (some of
   them in the year being written). For a fixed time, or until the writers' pre-built bodies run out.
   Reported: sustained requests/s (writes and reads apart), p50 / p99 / max latency, errors (any non-2xx,
   connection error or timeout, and a write whose `inserted` / `updated` is not what its body must give), and
   **lost rows**: rows acknowledged by a 200 but missing (or holding an older figure) in `observations`
   afterwards, counted with bare SQL against a COPY of what was acknowledged. Then the product's own
   `preaggregate.check` compares the pre-aggregates with the raw rows. Pass: 0 errors and 0 lost rows.
2. **/v1/values under 32 connections**: 32 keep-alive clients for a fixed time against the product and against
   bench/bare_values.py (bare FastAPI + psycopg_pool running the same SQL) under uvicorn on another port, in
   alternating slots (product, bare, product, bare) so drift on a shared machine hits both. The answers of the
   two are compared first, for every query of step 1. Reported: requests/s, p50 / p99 and product ÷ bare.

The load generator is this process: a minimal HTTP/1.1 client on asyncio streams (uvloop), requests encoded
before the clock starts, so it costs far less than httpx. It shares the machine's cores with uvicorn and
PostgreSQL; its CPU use, the API processes' and the whole machine's are printed for each step.

    .venv/bin/python -m bench.bench_load [--scale 0.05] [--load-seconds 20]   # standalone: own server + data
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import psycopg

from bench.common import (
    PROVINCE,
    YEAR,
    Context,
    Row,
    UvicornProcess,
    batched,
    figures,
    libpq,
    log,
    percentile,
)

WRITERS = 4
READERS = 16
BODY = 1_000
CORRECT_EVERY = 5  # every 5th request of a writer re-sends its body from two requests before, every figure changed
CONNECTIONS = 32
WRITE_TIMEOUT = 120.0
READ_TIMEOUT = 60.0
MIN_ROWS_BUILT = 50_000
ROWS_PER_SECOND_BUILT = 20_000  # bodies built per second of the window (the writers stop when they run out)
WARMUP = 1.0
LOAD_YEAR = YEAR + 1  # the writers' figures: the year after the loaded one, empty before the run


# ---------------------------------------------------------------- CPU accounting (Linux /proc)


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process so far; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts) - idle) / _TICK, sum(parts) / _TICK


@dataclass
class CpuWindow:
    """CPU used between start() and stop(), in cores (1.0 = one core busy for the whole window)."""

    pids: dict[str, int | None]
    started: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def start(self) -> CpuWindow:
        self.started = {name: _proc_cpu(pid) for name, pid in self.pids.items()}
        self.started["generator"] = time.process_time()
        busy, total = _machine_cpu()
        self.started["machine busy"], self.started["machine total"] = busy, total
        self.started["wall"] = time.perf_counter()
        return self

    def stop(self) -> CpuWindow:
        self.wall = time.perf_counter() - self.started["wall"]
        for name, pid in self.pids.items():
            self.used[name] = (_proc_cpu(pid) - self.started[name]) / self.wall
        self.used["generator"] = (time.process_time() - self.started["generator"]) / self.wall
        busy, total = _machine_cpu()
        self.used["machine"] = (busy - self.started["machine busy"]) / self.wall
        self.cores = (total - self.started["machine total"]) / self.wall
        return self

    def describe(self) -> str:
        named = ", ".join(f"{name} {100 * used:.0f} %" for name, used in self.used.items() if name != "machine")
        return (f"CPU (% of one core): {named}; whole machine {100 * self.used['machine']:.0f} % of "
                f"{100 * round(self.cores)} % (PostgreSQL, other users' work and the above)")


# ---------------------------------------------------------------- a minimal keep-alive HTTP/1.1 client


class Conn:
    """One keep-alive connection; `request` sends pre-encoded bytes and returns (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = -1, False, head.startswith(b"HTTP/1.0")
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower() or (close and b"keep-alive" not in value.lower())
        body = await (self._chunked() if chunked else self.reader.readexactly(max(length, 0)))
        if close:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        out = bytearray()
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return bytes(out)
            out += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def get_request(port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n".encode()


def post_request(port: int, path: str, key: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


@dataclass
class Stats:
    """Requests of one kind: latencies (ms) of the successful ones, errors with a few samples."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(what[:500])

    @property
    def done(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        if not self.latencies:
            return f"{self.rate:,.0f} req/s, no successful request"
        p50, p99 = percentile(self.latencies, 0.5), percentile(self.latencies, 0.99)
        return f"{self.rate:,.0f} req/s, p50 {p50:,.1f} / p99 {p99:,.1f} ms"


async def timed(conn: Conn, raw: bytes, timeout: float, stats: Stats) -> tuple[int, bytes] | None:
    """One request; a connection error or a timeout counts as an error (and the connection is dropped)."""
    started = time.perf_counter()
    try:
        status, body = await asyncio.wait_for(conn.request(raw), timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        conn.close()
        stats.error(f"{type(exc).__name__}: {exc}")
        return None
    if not 200 <= status < 300:
        stats.error(f"{status}: {body[:400].decode(errors='replace')}")
        return None
    stats.latencies.append(1000 * (time.perf_counter() - started))
    return status, body


def run_async(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run on uvloop when it is there (it is with uvicorn[standard]): a cheaper load generator."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


# ---------------------------------------------------------------- the bare endpoint as a process


class BareValues(UvicornProcess):
    """`uvicorn bench.bare_values:create_app --factory` on the API's database, started at once."""

    def __init__(self, db_url: str) -> None:
        super().__init__("bench.bare_values:create_app", {"BENCH_BARE_DB": libpq(db_url)}, factory=True)
        self.start()


# ---------------------------------------------------------------- what the readers ask


def queries(ctx: Context) -> list[tuple[str, str, str]]:
    """(indicator, org, period): every level of the tree, every granularity, both time aggregations, and two
    in the year the writers write (their answers change while the load runs)."""
    picks: dict[str, str] = {}
    for code in ctx.plan.indicators:
        picks.setdefault(ctx.cat.time_aggregation[code], code)
    last, total = picks.get("last", ctx.plan.indicators[0]), picks.get("sum", ctx.plan.indicators[-1])
    city, county, township = "151000000000", "151001000000", "151001001000"
    return [
        (last, PROVINCE, str(YEAR)), (total, PROVINCE, str(YEAR)), (last, city, f"{YEAR}H2"),
        (total, city, f"{YEAR}Q3"), (last, county, f"{YEAR}-06"), (total, county, f"{YEAR}-11"),
        (total, township, f"{YEAR}-12-15"), (last, PROVINCE, f"{YEAR}-03-31"),
        (total, PROVINCE, str(LOAD_YEAR)), (last, city, f"{LOAD_YEAR}-01"),
    ]


def values_path(prefix: str, q: tuple[str, str, str]) -> str:
    return f"{prefix}?{urlencode({'indicator': q[0], 'org': q[1], 'period': q[2]})}"


# ---------------------------------------------------------------- step 1: pushes and reads at once


def _load_days() -> list[date]:
    first = date(LOAD_YEAR, 1, 1)
    return [first + timedelta(d) for d in range((date(LOAD_YEAR + 1, 1, 1) - first).days)]


def _chunks(ctx: Context, n_bodies: int) -> Iterator[list[Any]]:
    """The writers' bodies in order (deterministic, day-major): chunk i goes to writer i % writers."""
    for i, chunk in enumerate(batched(figures(ctx.cat, _load_days()), BODY)):
        if i == n_bodies:
            return
        yield chunk


def _body(chunk: list[Any], variant: int) -> bytes:
    return json.dumps({"observations": [
        {"indicator": f[0], "org": f[1], "date": f[4].isoformat(), "numerator": f[5] - variant, "denominator": f[6]}
        for f in chunk]}, separators=(",", ":")).encode()


@dataclass
class Plan1:
    """The writers' bodies, built before the clock starts, and what each acknowledged."""

    bodies: list[bytes]  # new rows, one per chunk
    corrections: dict[int, bytes]  # chunk index → the same keys, every numerator changed
    sizes: list[int]
    writers: int = WRITERS
    readers: int = READERS
    state: dict[int, int | None] = field(default_factory=dict)  # chunk → variant acknowledged last; None = unsure
    mismatches: int = 0
    acknowledged_rows: int = 0


def _order(n_bodies: int, writer: int, writers: int) -> list[tuple[int, int]]:
    """(chunk, variant) requests of one writer (chunk i is writer i % writers'): its chunks in turn; after every
    CORRECT_EVERY-th, the chunk it sent two requests before again with changed figures."""
    mine = list(range(writer, n_bodies, writers))
    out: list[tuple[int, int]] = []
    for k, chunk in enumerate(mine):
        out.append((chunk, 0))
        if k % CORRECT_EVERY == CORRECT_EVERY - 1:
            out.append((mine[k - 2], 1))
    return out


def build_writes(ctx: Context, seconds: float, writers: int, readers: int) -> Plan1:
    keys = len(_load_days()) * len(ctx.cat.indicators) * len(ctx.cat.units)
    rows = min(keys, max(MIN_ROWS_BUILT, int(ROWS_PER_SECOND_BUILT * seconds)))
    n_bodies = -(-rows // BODY)
    corrected = {c for w in range(writers) for c, v in _order(n_bodies, w, writers) if v}
    plan = Plan1([], {}, [], writers, readers)
    for i, chunk in enumerate(_chunks(ctx, n_bodies)):
        plan.bodies.append(_body(chunk, 0))
        plan.sizes.append(len(chunk))
        if i in corrected:
            plan.corrections[i] = _body(chunk, 1)
    return plan


async def _writer(port: int, key: str, plan: Plan1, writer: int, deadline: float, stats: Stats) -> None:
    conn = Conn("127.0.0.1", port)
    try:
        for chunk, variant in _order(len(plan.bodies), writer, plan.writers):
            if time.perf_counter() >= deadline:
                return
            body = plan.corrections[chunk] if variant else plan.bodies[chunk]
            raw = post_request(port, "/v1/observations", key, body)
            got = await timed(conn, raw, WRITE_TIMEOUT, stats)
            if got is None:
                plan.state[chunk] = None  # may or may not have landed
                continue
            answer = json.loads(got[1])
            n = plan.sizes[chunk]
            want = (n, 0) if variant == 0 else (0, n)
            if (answer.get("inserted"), answer.get("updated")) != want:
                plan.mismatches += 1
                stats.error(f"chunk {chunk} variant {variant}: inserted/updated "
                            f"{(answer.get('inserted'), answer.get('updated'))}, expected {want}")
            plan.acknowledged_rows += int(answer.get("inserted", 0)) + int(answer.get("updated", 0))
            if plan.state.get(chunk, 0) is not None or variant == 0:
                plan.state[chunk] = variant
    finally:
        conn.close()


async def _reader(port: int, paths: list[bytes], offset: int, until: Callable[[], bool], stats: Stats) -> None:
    conn = Conn("127.0.0.1", port)
    i = offset
    try:
        while not until():
            await timed(conn, paths[i % len(paths)], READ_TIMEOUT, stats)
            i += 1
    finally:
        conn.close()


async def _mixed(ctx: Context, port: int, plan: Plan1, seconds: float) -> tuple[Stats, Stats, float]:
    writes, reads = Stats(), Stats()
    reads_raw = [get_request(port, values_path("/v1/values", q)) for q in queries(ctx)]
    started = time.perf_counter()
    deadline = started + seconds
    writers = [asyncio.create_task(_writer(port, ctx.key, plan, w, deadline, writes)) for w in range(plan.writers)]
    # Readers go on while a writer is still busy (or until the deadline when the writers ran out early).
    readers_done = lambda: time.perf_counter() >= deadline and all(t.done() for t in writers)  # noqa: E731
    readers = [asyncio.create_task(_reader(port, reads_raw, r, readers_done, reads)) for r in range(plan.readers)]
    await asyncio.gather(*writers)
    writes.seconds = time.perf_counter() - started
    await asyncio.gather(*readers)
    reads.seconds = time.perf_counter() - started
    return writes, reads, time.perf_counter() - started


@dataclass
class Landed:
    expected: int = 0  # rows whose last figure was acknowledged
    missing: int = 0
    stale: int = 0  # present, but not the figure acknowledged last
    unsure: int = 0  # rows of requests that failed (may or may not have landed): not checked
    in_year: int = 0  # rows of LOAD_YEAR in observations afterwards
    before: int = 0  # … and before the run (must be 0)


def count_lost(ctx: Context, plan: Plan1, landed: Landed) -> Landed:
    """Bare SQL: COPY what was acknowledged into a temporary table, join it with observations."""
    with psycopg.connect(libpq(ctx.api_db_url)) as conn:
        conn.execute("CREATE TEMP TABLE _load_expected (indicator_id int4, org_id int4, obs_date date, "
                     "numerator float8, denominator float8)")
        last = max(plan.state, default=-1)
        with conn.cursor() as cur, cur.copy("COPY _load_expected FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "int4", "date", "float8", "float8"])
            for i, chunk in enumerate(_chunks(ctx, last + 1)):
                if i not in plan.state:
                    continue
                variant = plan.state[i]
                if variant is None:
                    landed.unsure += len(chunk)
                    continue
                landed.expected += len(chunk)
                for f in chunk:
                    cp.write_row((f[2], f[3], f[4], f[5] - variant, f[6]))
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE o.indicator_id IS NULL), count(*) FILTER (WHERE o.indicator_id IS NOT NULL "
            "AND (CAST(o.numerator AS float8) IS DISTINCT FROM e.numerator "
            "OR CAST(o.denominator AS float8) IS DISTINCT FROM e.denominator)) FROM _load_expected e "
            "LEFT JOIN observations o ON o.indicator_id = e.indicator_id AND o.org_id = e.org_id "
            "AND o.obs_date = e.obs_date").fetchone()
        landed.missing, landed.stale = (int(row[0]), int(row[1])) if row else (0, 0)
        landed.in_year = _rows_in_year(conn)
    return landed


def _rows_in_year(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM observations WHERE obs_date BETWEEN %s AND %s",
                       (date(LOAD_YEAR, 1, 1), date(LOAD_YEAR, 12, 31))).fetchone()
    return int(row[0]) if row else 0


async def _check_preaggregates(db_url: str) -> list[Any]:
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.settings import DatabaseSettings
    from shared.observations import preaggregate

    engine = make_engine(DatabaseSettings(url=db_url), "scorecard-bench")
    try:
        async with make_sessionmaker(engine)() as session:
            return await preaggregate.check(session)
    finally:
        await engine.dispose()


def _server_errors(log_path: Path, offset: int) -> list[str]:
    """Lines of the API's log written since `offset` that look like failures."""
    try:
        text = log_path.read_bytes()[offset:].decode(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line or "Error" in line][:10]


@dataclass
class Step1:
    writes: Stats
    reads: Stats
    cpu: CpuWindow
    plan: Plan1
    landed: Landed
    differences: int
    log_lines: list[str]
    writers_ran_out: bool
    n_queries: int


def step1(ctx: Context, api_pid: int | None, api_log: Path | None, seconds: float, writers: int = WRITERS,
          readers: int = READERS) -> Step1:
    with psycopg.connect(libpq(ctx.api_db_url)) as conn:
        before = _rows_in_year(conn)
    if before:
        raise RuntimeError(f"{before} rows of {LOAD_YEAR} in the API's database before the load: keys not new")
    plan = build_writes(ctx, seconds, writers, readers)
    log(f"load 1: {writers} writers × {BODY:,}-row bodies ({len(plan.bodies)} bodies built, "
        f"{sum(plan.sizes):,} rows of {LOAD_YEAR}, every {CORRECT_EVERY}th request a correction) + {readers} "
        f"readers of /v1/values ({len(queries(ctx))} queries), {seconds:g} s")
    port = int(urlsplit(ctx.api_base_url).port or 80)
    log_offset = api_log.stat().st_size if api_log and api_log.exists() else 0
    cpu = CpuWindow({"API (uvicorn)": api_pid}).start()
    writes, reads, _ = run_async(lambda: _mixed(ctx, port, plan, seconds))
    cpu.stop()
    ran_out = len(plan.state) == len(plan.bodies) and writes.seconds < seconds
    log(f"  writes: {writes.done:,} requests, {plan.acknowledged_rows:,} rows acknowledged, {writes.describe()}, "
        f"{writes.errors} errors{' (the writers ran out of bodies)' if ran_out else ''}")
    log(f"  reads:  {reads.done:,} requests, {reads.describe()}, {reads.errors} errors")
    log(f"  {cpu.describe()}")
    for sample in writes.samples + reads.samples:
        log(f"  error: {sample}")
    landed = count_lost(ctx, plan, Landed(before=before))
    log(f"  after: {landed.expected:,} acknowledged rows checked with bare SQL: {landed.missing} missing, "
        f"{landed.stale} with an older figure; {landed.unsure:,} rows of failed requests not checked; "
        f"{landed.in_year:,} rows of {LOAD_YEAR} in observations")
    started = time.perf_counter()
    differences = run_async(lambda: _check_preaggregates(ctx.api_db_url))
    log(f"  preaggregate.check: {len(differences)} differences ({time.perf_counter() - started:.1f} s)")
    for d in differences[:5]:
        log(f"    {d}")
    lines = _server_errors(api_log, log_offset) if api_log else []
    for line in lines:
        log(f"  API log: {line}")
    return Step1(writes, reads, cpu, plan, landed, len(differences), lines, ran_out, len(queries(ctx)))


# ---------------------------------------------------------------- step 2: 32 connections, product vs bare


async def _saturate(port: int, raw: bytes, conns: int, seconds: float) -> Stats:
    """`conns` keep-alive clients sending `raw` one after the other: WARMUP s not counted, then `seconds`."""
    stats, warm = Stats(), Stats()
    begin = time.perf_counter()
    counted_from = begin + WARMUP
    deadline = counted_from + seconds

    async def client() -> None:
        conn = Conn("127.0.0.1", port)
        try:
            while (now := time.perf_counter()) < deadline:
                await timed(conn, raw, READ_TIMEOUT, stats if now >= counted_from else warm)
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(conns)))
    stats.seconds = time.perf_counter() - counted_from
    if warm.errors:
        stats.samples[:0] = [f"(warm-up) {s}" for s in warm.samples]
        stats.errors += warm.errors
    return stats


def _answer(base_url: str, path: str) -> dict[str, Any]:
    r = httpx.get(f"{base_url}{path}", timeout=READ_TIMEOUT)
    r.raise_for_status()
    return r.json()["values"][0]  # type: ignore[no-any-return]


def compare_answers(ctx: Context, bare_url: str) -> list[str]:
    """Every query of step 1 asked of both; returns what differs (empty = the same numbers)."""
    def close(a: float | None, b: float | None) -> bool:
        return a == b or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b)))

    out = []
    for q in queries(ctx):
        api = _answer(ctx.api_base_url, values_path("/v1/values", q))
        bare = _answer(bare_url, values_path("/values", q))
        same = (close(api["numerator"], bare["numerator"]) and close(api["denominator"], bare["denominator"])
                and api["units_reporting"] == bare["units_reporting"]
                and api["units_expected"] == max(bare["units_expected"], bare["units_reporting"]))
        if not same:
            out.append(f"{q}: API {[api[k] for k in ('numerator', 'denominator', 'units_reporting')]} vs bare "
                       f"{[bare[k] for k in ('numerator', 'denominator', 'units_reporting')]}")
    return out


@dataclass
class Step2:
    query: tuple[str, str, str]
    product: Stats
    bare: Stats
    rounds: list[float]  # product ÷ bare req/s per round
    cpu: dict[str, CpuWindow]
    differs: list[str]

    @property
    def ratio(self) -> float:
        return self.product.rate / self.bare.rate if self.bare.rate else 0.0

    def cpu_ms(self, name: str, who: str | None = None) -> float:
        """CPU milliseconds per request of `who` (default: the server process `name`) over `name`'s slots."""
        stats = self.product if name == "product" else self.bare
        used = sum(c.used.get(who or name, 0) * c.wall for k, c in self.cpu.items() if k.startswith(name))
        return 1000 * used / stats.done if stats.done else 0.0


def _merge(into: Stats, part: Stats) -> None:
    into.latencies += part.latencies
    into.errors += part.errors
    into.samples += part.samples[: max(0, 5 - len(into.samples))]
    into.seconds += part.seconds


def step2(ctx: Context, api_pid: int | None, seconds: float, rounds: int = 2) -> Step2:
    bare = BareValues(ctx.api_db_url)
    try:
        differs = compare_answers(ctx, f"http://127.0.0.1:{bare.port}")
        log(f"load 2: the bare endpoint's answers {'DIFFER' if differs else 'agree'} for "
            f"{len(queries(ctx))} queries{': ' + '; '.join(differs) if differs else ''}")
        q = queries(ctx)[0]
        api_port = int(urlsplit(ctx.api_base_url).port or 80)
        targets = {"product": (api_port, get_request(api_port, values_path("/v1/values", q)), api_pid),
                   "bare": (bare.port, get_request(bare.port, values_path("/values", q)),
                            bare.proc.pid if bare.proc else None)}
        total = {"product": Stats(), "bare": Stats()}
        cpu: dict[str, CpuWindow] = {}
        per_round: list[float] = []
        slot = seconds / (2 * rounds)
        log(f"  {CONNECTIONS} connections, {q[0]} × {q[1]} × {q[2]}: {rounds} rounds of product then bare, "
            f"{slot:.1f} s each after {WARMUP:g} s warm-up")
        for r in range(rounds):
            rates = {}
            for name, (port, raw, pid) in targets.items():
                window = CpuWindow({name: pid}).start()
                part: Stats = run_async(partial(_saturate, port, raw, CONNECTIONS, slot))
                cpu[f"{name} {r + 1}"] = window.stop()
                _merge(total[name], part)
                rates[name] = part.rate
                log(f"  round {r + 1}, {name}: {part.done:,} requests, {part.describe()}, {part.errors} errors; "
                    f"{window.describe()}")
            per_round.append(rates["product"] / rates["bare"] if rates["bare"] else 0.0)
    finally:
        bare.stop()
    return Step2(q, total["product"], total["bare"], per_round, cpu, differs)


# ---------------------------------------------------------------- rows of the table


def _pct(cpu: CpuWindow, name: str) -> str:
    return f"{100 * cpu.used.get(name, 0):.0f} %"


def rows(one: Step1, two: Step2 | None) -> list[Row]:
    errors = one.writes.errors + one.reads.errors
    lost = one.landed.missing + one.landed.stale
    verdict = "0 errors, 0 lost: " + ("PASS" if errors == 0 and lost == 0 else "FAILED")
    writes, reads = one.writes, one.reads
    rows_per_s = one.plan.acknowledged_rows / writes.seconds if writes.seconds else 0.0
    out = [
        Row("load: pushes + reads", f"POST /v1/observations, {one.plan.writers} writers × {BODY:,}-row bodies",
            f"{writes.done:,}", f"{writes.describe()} ({rows_per_s:,.0f} rows/s written)", "",
            f"errors {writes.errors}" + (" (writers ran out of bodies)" if one.writers_ran_out else "")),
        Row("", f"GET /v1/values, {one.plan.readers} readers, {one.n_queries} queries",
            f"{reads.done:,}", reads.describe(), "", f"errors {reads.errors}"),
        Row("", "rows acknowledged, then counted (bare SQL)", f"{one.landed.expected:,}",
            f"{one.landed.missing} missing, {one.landed.stale} stale", "", verdict),
        Row("", "pre-aggregates vs raw rows (preaggregate.check)", "", f"{one.differences} differences", "",
            "0: " + ("MET" if one.differences == 0 else "MISSED")),
        Row("", "load generator (this process; shares the cores)", "", f"CPU {_pct(one.cpu, 'generator')} of a "
            f"core; API {_pct(one.cpu, 'API (uvicorn)')}; machine {_pct(one.cpu, 'machine')}", "", ""),
    ]
    if two is None:
        return out
    measure = f"values, {CONNECTIONS} connections"
    spread = " / ".join(f"{r:.2f}" for r in two.rounds)
    verdict2 = "≥ 1.00×: " + ("MET" if two.ratio >= 1 else f"MISSED (needs {1 / two.ratio:.1f}× faster)"
                              if two.ratio else "not measured")
    out += [
        Row(measure, "bare FastAPI + psycopg_pool, same SQL", f"{two.bare.done:,}", two.bare.describe(), "1.00×",
            "reference" + (f"; errors {two.bare.errors}" if two.bare.errors else "")),
        Row("", f"GET /v1/values via uvicorn ({two.query[0]}, province, {two.query[2]})", f"{two.product.done:,}",
            two.product.describe(), f"{two.ratio:.2f}× ({spread})",
            verdict2 + ("; ANSWERS DIFFER" if two.differs else "") +
            (f"; errors {two.product.errors}" if two.product.errors else "")),
        Row("", "CPU per request: uvicorn process (load generator)", "",
            f"product {two.cpu_ms('product'):.2f} ms ({two.cpu_ms('product', 'generator'):.2f}), bare "
            f"{two.cpu_ms('bare'):.2f} ms ({two.cpu_ms('bare', 'generator'):.2f})", "", ""),
    ]
    return out


def bench_load(ctx: Context, seconds: float, api_pid: int | None = None, api_log: Path | None = None,
               writers: int = WRITERS, readers: int = READERS) -> list[Row]:
    """Both steps on the API's database (after the push and values benches); `seconds` for step 1 and as much
    again for step 2 (alternating slots)."""
    one = step1(ctx, api_pid, api_log, seconds, writers, readers)
    with psycopg.connect(libpq(ctx.api_db_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # the writers' rows: read in a steady state
    two = step2(ctx, api_pid, seconds)
    return rows(one, two)


# ---------------------------------------------------------------- standalone


def main(argv: list[str] | None = None) -> int:
    """Own server, the loaded database (no push phase: its days are COPYed too), the API process, both steps."""
    from bench import run_all
    from bench.common import ApiProcess, create_database, make_plan, print_table

    p = argparse.ArgumentParser(prog="python -m bench.bench_load", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=0.05)
    p.add_argument("--load-seconds", type=float, default=20.0, help="step 1, and step 2 in all (default 20)")
    p.add_argument("--writers", type=int, default=WRITERS, help=f"writer clients of step 1 (default {WRITERS})")
    p.add_argument("--readers", type=int, default=READERS, help=f"reader clients of step 1 (default {READERS})")
    p.add_argument("--step", choices=("both", "1"), default="both", help="'1': the pushes and reads only")
    args = p.parse_args(argv)
    plan = make_plan(args.scale, 1)
    signal.signal(signal.SIGTERM, run_all._on_signal)
    signal.signal(signal.SIGINT, run_all._on_signal)
    res = run_all.Resources()
    started = time.perf_counter()
    try:
        ctx = run_all._build(res, argparse.Namespace(requests=0, raw_reps=0), plan)
        res.databases.append(run_all.API_DB)
        ctx.api_db_url = create_database(ctx.server_url, run_all.API_DB, template=run_all.MAIN_DB)
        res.api = ApiProcess(ctx.api_db_url, ctx.pepper)
        res.api.start()
        ctx.api_base_url = res.api.base_url
        pid = res.api.proc.pid if res.api.proc else None
        if args.step == "1":
            out = rows(step1(ctx, pid, res.api.log_path, args.load_seconds, args.writers, args.readers), None)
        else:
            out = bench_load(ctx, args.load_seconds, pid, res.api.log_path, args.writers, args.readers)
    finally:
        res.close()
    print_table(f"bench.bench_load — {plan.describe()}, {os.cpu_count()} CPUs, took "
                f"{time.perf_counter() - started:.0f} s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
