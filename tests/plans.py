"""What a block of code asked the database: its statements (`statements`), and the plans PostgreSQL chose for
them with sequential scans switched off (`plans`).

With `enable_seqscan = off` the planner scans a table sequentially only when no index can serve the statement,
so a "Seq Scan on t" in a plan means the statement reads all of `t` however large `t` grows. `auto_explain`
reports every plan (nested statements too: triggers, CTEs) as a notice on the test's own connection.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from services.api.deps import Database

# The tables that grow with use (figures, their history and pre-aggregates, assessments, ratings, runs, logs).
GROWING = (
    "observations", "observation_history", "observation_months", "rollup_months", "observation_writes",
    "assessments", "publications", "ratings", "ingest_runs", "audit_entries", "idempotency_keys",
)  # fmt: skip


@dataclass
class Plans:
    notices: list[str] = field(default_factory=list)

    def full_scans(self, tables: Iterable[str] = GROWING) -> list[tuple[str, str]]:
        """(table, statement) for every plan that reads one of `tables` whole."""
        out = []
        for plan in self.notices:
            query = re.search(r"Query Text: (.*?)\n(?=\S|\s*[A-Z][a-z]+ )", plan, re.S)
            statement = re.sub(r"\s+", " ", query.group(1) if query else plan)[:300]
            out += [(t, statement) for t in sorted(set(re.findall(r"Seq Scan on (\w+)", plan)) & set(tables))]
        return out


@asynccontextmanager
async def plans(database: Database) -> AsyncIterator[Plans]:
    """Every plan of the statements sent on the test's connection inside the block (PostgreSQL, superuser)."""
    found = Plans()
    async with database.sessions() as s, s.begin():  # released, not rolled back: the settings stay
        raw = (await (await s.connection()).get_raw_connection()).driver_connection
        assert raw is not None

        def notice(diag: object) -> None:
            message = getattr(diag, "message_primary", "") or ""
            if "plan:" in message or "Query Text" in message:
                found.notices.append(message)

        try:
            await s.execute(text("LOAD 'auto_explain'"))  # ships with the server (Debian: postgresql-15)
        except DBAPIError as exc:
            pytest.fail(f"the plans check needs auto_explain and a superuser connection (the test harness's "
                        f"server has both; SCORECARD_TEST_DATABASE_URL must connect as a superuser): {exc.orig}")
        for name, value in (("auto_explain.log_min_duration", "0"), ("auto_explain.log_nested_statements", "on"),
                            ("auto_explain.log_level", "notice"), ("enable_seqscan", "off")):
            await s.execute(text("SELECT set_config(:n, :v, false)"), {"n": name, "v": value})
        raw.add_notice_handler(notice)
    try:
        yield found
    finally:
        raw.remove_notice_handler(notice)
        async with database.sessions() as s, s.begin():
            for name in ("auto_explain.log_min_duration", "enable_seqscan"):
                await s.execute(text(f"RESET {name}"))


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent while inside."""
    sent: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
