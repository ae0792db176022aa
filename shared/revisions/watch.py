"""The data revision known without asking (PostgreSQL only): every write sends the revision it counted up to on
the channel CHANNEL (store.changed, NOTIFY in the writing transaction, so it is sent at commit and never for a
rolled-back write); one connection per API process LISTENs and keeps the highest revision seen.

A kept answer (/v1/values, /v1/dashboard) is then served without a round trip. `known()` answers only while the
listening connection is proven alive — it reads the revision itself every `heartbeat` seconds, which also
catches anything missed — and otherwise None, so the caller asks the database as before (an outage, a restart,
a lost connection: never a stale answer for longer than the heartbeat says). The API's own writes are seen at
once (`saw`, after their commit); another process's (the collector's) as soon as its notification arrives, which
PostgreSQL signals before the writer's COMMIT returns; `known()` first takes whatever is already on the socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import psycopg

CHANNEL = "scorecard_data_revision"
_READ = "SELECT revision FROM data_revision WHERE id = 1"

log = logging.getLogger("scorecard.revisions")


class RevisionWatch:
    def __init__(self, libpq_url: str, *, heartbeat: float = 1.0, retry: float = 1.0) -> None:
        self._url = libpq_url
        self.heartbeat, self._retry = heartbeat, retry
        self._revision = -1
        self._alive_until = 0.0  # monotonic: known() answers until then
        self._conn: psycopg.AsyncConnection | None = None
        self._waiting = False  # the task waits for notifications (nothing else reads the socket then)
        self._task: asyncio.Task[None] | None = None
        self._lost_logged = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="revision-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def known(self) -> int | None:
        """The current data revision, or None when it cannot be vouched for (ask the database)."""
        if time.monotonic() >= self._alive_until:
            return None
        if self._waiting and self._conn is not None:
            self._take(self._conn.pgconn)
        return self._revision

    def saw(self, revision: int) -> None:
        """A write of this process committed at `revision`."""
        self._revision = max(self._revision, revision)

    def _take(self, pgconn: psycopg.pq.abc.PGconn) -> None:
        try:
            pgconn.consume_input()
        except psycopg.OperationalError:
            self._alive_until = 0.0  # the task's wait fails on the same socket and reconnects
            return
        while (n := pgconn.notifies()) is not None:
            self._seen(n.extra.decode())

    def _seen(self, payload: str) -> None:
        try:
            self.saw(int(payload))
        except ValueError:
            self._alive_until = 0.0  # not ours: read the revision again rather than trust the rest
            log.warning("ignored a notification on %s that is not a revision", CHANNEL)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError, TimeoutError) as exc:
                self._alive_until = 0.0
                self._conn, self._waiting = None, False
                if not self._lost_logged:
                    log.warning("data revision: not listening (%s); reads ask the database until it is back",
                                type(exc).__name__)
                    self._lost_logged = True
                await asyncio.sleep(self._retry)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, application_name="scorecard-revision-watch", connect_timeout=5
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")  # before the first read: nothing committed after it is missed
            self._conn = conn
            while True:
                started = time.monotonic()
                row = await asyncio.wait_for(_read(conn), 5 * self.heartbeat)
                self.saw(int(row[0]) if row else 0)
                # Vouched for until the next heartbeat is overdue: a connection that hangs stops answering.
                self._alive_until = started + 2 * self.heartbeat
                if self._lost_logged:
                    log.info("data revision: listening again")
                    self._lost_logged = False
                self._waiting = True
                try:
                    async for n in conn.notifies(timeout=self.heartbeat):
                        self._seen(n.payload)
                finally:
                    self._waiting = False


async def _read(conn: psycopg.AsyncConnection) -> tuple[int] | None:
    cur = await conn.execute(_READ)
    return await cur.fetchone()
