"""The one write path for figures (`write_observations` and, in chunks, `FigureWriter`; used by the push API,
the collector and the ratings store), in the caller's transaction: validate → stage → history + merge per chunk
(with the monthly rows it can keep in step exactly) → the rest of the pre-aggregates once, at the end.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core import clock
from shared.core.db import (
    analyze_temp_table,
    empty_temp_table,
    reset_temp_table,
    small_analyze_samples,
    write_plans,
)
from shared.core.errors import Forbidden, InvalidInput, Problem
from shared.indicators.models import Indicator
from shared.observations import copy_format, preaggregate, subtotals, validate
from shared.observations.models import ObservationHistory, ObservationWrite
from shared.observations.types import Figure
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.revisions import store as revisions

STAGE = "_obs_stage"
WRITTEN = "_obs_written"  # (key, row) of every figure a chunked writer took: row numbers for later conflicts
# Keys a chunked writer found already stored as sent (so it wrote nothing and its write id is not on them): a
# later row with that key is a repeat too. Small: an export that repeats the stored figures is skipped by hash.
SEEN = "_obs_seen"
# Keys whose rows conflicted across chunks (withdrawn, see FigureWriter) with the row that withdrew them: handled
# as a set, a few statements a chunk however many there are, and held nowhere in Python.
WITHDRAWN = "_obs_withdrawn"
WITHDRAWING = "_obs_withdrawing"  # the keys of the chunk being settled
_COLUMNS = "indicator_id, org_id, obs_date, numerator, denominator, value"
_SAME_KEY = "{a}.indicator_id = {b}.indicator_id AND {a}.org_id = {b}.org_id AND {a}.obs_date = {b}.obs_date"
_KEY_COLUMNS = "indicator_id, org_id, obs_date, row_no"
_STAGE_COLUMNS = (
    "indicator_id integer, org_id integer, obs_date date, numerator double precision, "
    "denominator double precision, value double precision, row_no integer"
)


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Problem] = field(default_factory=list)  # write_observations; a chunked write returns them per chunk
    duplicates: int = 0  # figures repeating, with the same values, one this write already took: skipped
    duplicate_rows: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Prepared:
    """A validated chunk ready to stage; built without I/O, so a collector prepares it in a worker thread."""

    rows: list[validate.CheckedFigure]  # the good rows (none kept when they are in `copy_data`)
    problems: list[Problem]
    count: int  # rows read, good and bad
    staged: int  # good rows
    indicator_ids: frozenset[int]  # of the good rows
    months: frozenset[tuple[int, int, date]] = frozenset()  # (indicator, unit, first day) of the rows
    # A bulk write's good rows as binary COPY data (built in the parse thread; PostgreSQL): one block to send,
    # and a few bytes a row to hold rather than a tuple of objects.
    copy_data: bytearray | None = None


async def catalogue_maps(
    session: AsyncSession, unit_codes: Collection[str] | None = None, *, max_figure: float = validate.MAX_FIGURE
) -> tuple[dict[str, validate.IndicatorInfo], dict[str, validate.UnitInfo]]:
    """Every indicator, and the units named in `unit_codes` (all units when None). An indicator's bound is the
    smaller of `max_figure` and its own `max_figure` (the catalogue's, where set); `whole_numbers` its counting."""
    named = select(OrgUnit.code, OrgUnit.id, OrgUnit.valid_from, OrgUnit.valid_to, OrgUnit.parent_id)
    if unit_codes is not None:
        named = named.where(OrgUnit.code.in_(list(unit_codes)))
    indicators = {
        code: validate.IndicatorInfo(i, m, f, max_figure if own is None else min(own, max_figure), whole)
        for code, i, m, f, own, whole in await session.execute(
            select(Indicator.code, Indicator.id, Indicator.measure, Indicator.factor, Indicator.max_figure,
                   Indicator.whole_numbers)
        )
    }
    units = {
        code: validate.UnitInfo(i, vf, vt, parent)
        for code, i, vf, vt, parent in await session.execute(named)
    }
    return indicators, units


async def write_observations(
    session: AsyncSession,
    items: Sequence[Figure],
    *,
    source: str,
    actor: str,
    today: date | None = None,
    partial: bool = False,
    within: int | None = None,
    max_figure: float = validate.MAX_FIGURE,
    refuse_subtotals: bool = False,
) -> WriteResult:
    """Validate every figure and write them in the caller's transaction (监测数据, PRODUCT.md §2.1).

    All-or-nothing by default: any bad row raises InvalidInput listing every problem and nothing is written.
    With partial=True the good rows are written and the problems returned in `rejected`.
    A changed figure replaces the current one and the old one goes to observation_history; a resent identical
    figure is counted as unchanged and writes nothing. `within`: an org unit id the figures must all belong
    under (an integration key's subtree); a row outside raises Forbidden and nothing is written.
    `max_figure`: the largest figure accepted (SCORECARD_OBSERVATIONS__MAX_FIGURE); a figure, or the value it
    gives, above it (or not finite) is a bad row. `refuse_subtotals` (a push): a row whose figures are the sum of
    the units under it in the same body is a bad row (shared/observations/subtotals.py).
    """
    named = {item.org for item in items}
    # A few units are looked up by code; for many, reading the whole (small) table beats a long IN list.
    writer = await FigureWriter.open(session, source=source, actor=actor, today=today, partial=partial,
                                     unit_codes=named if len(named) <= 200 else None, max_figure=max_figure)
    outside = [] if within is None else await writer.outside(within, items)
    chunk = writer.prepare(items)
    if refuse_subtotals:
        chunk.problems.extend(_subtotal_problems(items, writer.units))
    if outside:  # every bad row listed, those outside the subtree and the others alike
        raise Forbidden(
            f"{len(outside)} rows are for units this key may not write; nothing was written",
            sorted(outside + chunk.problems, key=lambda p: (p.row is not None, p.row or 0)),
        )
    rejected = await writer.write(chunk)
    result = await writer.finish()
    result.rejected = sorted(rejected, key=lambda p: -1 if p.row is None else p.row)
    return result


def _subtotal_problems(items: Sequence[Figure], units: dict[str, validate.UnitInfo]) -> list[Problem]:
    parent_of = subtotals.parent_codes((code, info.id, info.parent_id) for code, info in units.items())
    found = subtotals.subtotal_rows(items, range(len(items)), parent_of)
    return [
        Problem(f"the figures of '{items[row].org}' equal the sum of the {n} units under it in this body: a "
                "subtotal, which the roll-up would count twice; push each unit's own figures only", row, "org")
        for row, n in sorted(found.items())
    ]


class FigureWriter:
    """The write path in chunks: `prepare` (pure Python) → `write` (stage, history, merge, the monthly rows it can
    update exactly) per chunk, then `finish` (the months to re-aggregate from raw and the region rows, once;
    audit). The collector prepares chunk k+1 in a thread while PostgreSQL merges chunk k, and never holds more
    than two chunks.

    A key this writer took from an earlier chunk may come again (an export's repeated row): with the same values
    it is skipped and counted in `duplicates`; with other values both rows are rejected and the earlier figure is
    withdrawn (restored to what it was before this write), as the export does not say which one is right — also
    when the earlier row equalled the stored figure and so wrote nothing.

    Each writer has an id (a row of `observation_writes`), stamped on every figure it writes and every version
    it replaces: how it recognises its own rows, whatever the clock says.
    """

    def __init__(
        self,
        session: AsyncSession,
        maps: tuple[dict[str, validate.IndicatorInfo], dict[str, validate.UnitInfo]],
        *,
        source: str,
        actor: str,
        today: date,
        partial: bool,
        chunked: bool,
        write_id: int,
    ) -> None:
        self.session, self.source, self.actor, self.today = session, source, actor, today
        self.partial, self.chunked = partial, chunked
        self.indicators, self.units = maps
        self.codes = {info.id: code for code, info in self.indicators.items()}
        self.now = clock.now()  # recorded_at / replaced_at of what this writer writes (not its identity)
        self.write_id = write_id
        self.result = WriteResult()
        self.rejected_rows = 0  # distinct rows per chunk (a row is in one chunk; a withdrawn one counts again)
        self._offset = 0
        self._writes = 0
        self._locked: set[int] = set()
        self._seen_any = False  # SEEN holds a key: only then must the merge look there (it costs a probe a row)
        self._withdrew = False  # WITHDRAWN holds a key
        self._months_before: frozenset[tuple[int, int, date]] = frozenset()  # the last chunk's (noted)
        self._pg = False  # PostgreSQL (set by `open`): a bulk chunk is staged from its COPY data

    @classmethod
    async def open(
        cls,
        session: AsyncSession,
        *,
        source: str,
        actor: str,
        today: date | None = None,
        partial: bool = False,
        chunked: bool = False,
        indicators: Collection[str] = (),
        unit_codes: Collection[str] | None = None,
        max_figure: float = validate.MAX_FIGURE,
    ) -> FigureWriter:
        """Start a write. `chunked`: more than one `write` will follow. `indicators`: codes to lock at once
        (a collector knows its source's indicators; taking all locks in one ascending pass cannot deadlock).
        `unit_codes`: the only units the figures may name (a push body's), else every unit is loaded.
        `max_figure`: the global bound of a figure (SCORECARD_OBSERVATIONS__MAX_FIGURE)."""
        maps = await catalogue_maps(session, unit_codes, max_figure=max_figure)
        write_id = (
            await session.execute(
                insert(ObservationWrite)
                .values(source=source, actor=actor, started_at=clock.now())
                .returning(ObservationWrite.id)
            )
        ).scalar_one()
        writer = cls(session, maps, source=source, actor=actor, today=today or clock.today(), partial=partial,
                     chunked=chunked, write_id=write_id)
        writer._pg = (await session.connection()).dialect.name == "postgresql"
        await preaggregate.start(session)
        await small_analyze_samples(session)
        await write_plans(session)
        await reset_temp_table(session, STAGE, _STAGE_COLUMNS)
        if chunked:
            await reset_temp_table(session, WRITTEN, "indicator_id integer, org_id integer, obs_date date, "
                                                     "row_no integer")
            await reset_temp_table(session, SEEN, "indicator_id integer, org_id integer, obs_date date, "
                                                  "PRIMARY KEY (indicator_id, org_id, obs_date)")
            for table in (WITHDRAWN, WITHDRAWING):
                await reset_temp_table(session, table, "indicator_id integer, org_id integer, obs_date date, "
                                                       "row_no integer, PRIMARY KEY (indicator_id, org_id, obs_date)")
        await writer._lock({writer.indicators[c].id for c in indicators if c in writer.indicators})
        return writer

    async def outside(self, root_id: int, items: Sequence[Figure]) -> list[Problem]:
        """The rows for a known unit outside the subtree of `root_id`."""
        allowed = await org_store.subtree_ids(self.session, root_id)
        return [
            Problem(f"org '{item.org}' is outside this key's subtree", i, "org")
            for i, item in enumerate(items)
            if item.org in self.units and self.units[item.org].id not in allowed
        ]

    def prepare(self, items: Sequence[Figure], rows: Sequence[int] | None = None) -> Prepared:
        """Validate a chunk. `rows` are the items' own row numbers (file rows); else they are numbered on from 0
        (a push body's list index). Touches no database, so it may run in another thread."""
        numbers = rows if rows is not None else range(self._offset, self._offset + len(items))
        self._offset += len(items)
        good, problems = validate.check_figures(
            items, indicators=self.indicators, units=self.units, today=self.today, rows=numbers
        )
        indicator_ids = frozenset(r.indicator_id for r in good)
        # A bulk write's months to re-aggregate, and (PostgreSQL) the COPY data, made here: off the database's
        # critical path in a collector, one block of bytes for a push.
        months = (frozenset((r.indicator_id, r.org_id, r.obs_date.replace(day=1)) for r in good) if self.chunked
                  else frozenset())
        if not self._pg or (problems and not self.partial):  # SQLite stages the rows; a refused chunk is not staged
            return Prepared(good, problems, len(items), len(good), indicator_ids, months)
        return Prepared([], problems, len(items), len(good), indicator_ids, months, copy_format.staged_rows(good))

    async def write(self, chunk: Prepared) -> list[Problem]:
        """Stage and merge one prepared chunk; returns its rejected rows (with partial), including both rows of
        a conflict with an earlier chunk. Without partial, any problem raises before anything is written."""
        if chunk.problems and not self.partial:
            raise InvalidInput(
                f"{len({p.row for p in chunk.problems})} of {chunk.count} rows are not valid; nothing was "
                "written — fix the rows listed in details and resend",
                chunk.problems,
            )
        assert self.chunked or not self._writes, "open the writer with chunked=True to write more than once"
        self._writes += 1
        rejected = list(chunk.problems)
        if not chunk.staged:
            self.rejected_rows += len({p.row for p in rejected})
            return rejected
        await self._lock(set(chunk.indicator_ids))
        await _stage(self.session, chunk.rows, chunk.copy_data, empty=self._writes > 1)  # `open` emptied it
        if self._withdrew:
            rejected += await self._reject_withdrawn()
        inserted, updated, unchanged, repeats = await _merge(
            self.session, actor=self.actor, source=self.source, now=self.now, write_id=self.write_id,
            bulk=self.chunked, seen=self._seen_any,
        )
        if self.chunked and unchanged:
            self._seen_any = True  # those keys are in SEEN now
        self.result.inserted += inserted
        self.result.updated += updated
        self.result.unchanged += unchanged
        if repeats:
            rejected += await self._settle_repeats()
        if self.chunked:
            await self.session.execute(text(f"INSERT INTO {WRITTEN} SELECT {_KEY_COLUMNS} FROM {STAGE}"))
        if not self._pg:
            await preaggregate.note(self.session, STAGE)  # PostgreSQL's merge statement did it for a push
        elif self.chunked:
            # The chunk before's months are noted: an export is day by day, so most of a chunk's months are those.
            await preaggregate.note_months(self.session, chunk.months - self._months_before)
            self._months_before = chunk.months
        self.rejected_rows += len({p.row for p in rejected})
        return rejected

    async def finish(self) -> WriteResult:
        """Bring the pre-aggregates of every touched month up to date (once per write), and write the audit entry."""
        if self.result.inserted or self.result.updated or self._withdrew:
            await preaggregate.refresh(self.session)
            await revisions.changed(self.session)
        await audit.record(
            self.session,
            actor=self.actor,
            action="write",
            entity="observations",
            entity_key=self.source,
            after={
                "inserted": self.result.inserted,
                "updated": self.result.updated,
                "unchanged": self.result.unchanged,
                "duplicates": self.result.duplicates,
                "rejected_rows": self.rejected_rows,
            },
        )
        return self.result

    async def _lock(self, indicator_ids: set[int]) -> None:
        # Ascending within a call. A later chunk naming a new, lower id than one held could meet another writer
        # holding it and waiting for ours: PostgreSQL then aborts one of the two and that run fails (and retries).
        new = sorted(indicator_ids - self._locked)
        await _lock_indicators(self.session, new)
        self._locked.update(new)

    async def _settle_repeats(self) -> list[Problem]:
        """Staged rows whose key this writer already took from an earlier chunk (the merge left them alone):
        count the exact repeats; reject both rows of a conflict and withdraw the earlier figure. As a set: the
        same few statements for one conflict or fifty thousand."""
        marker = {"write_id": self.write_id}
        pg = (await self.session.connection()).dialect.name == "postgresql"
        repeats = (await self.session.execute(text(_REPEATS.format(same=_SAME_PG if pg else _SAME)), marker)).all()
        await self.session.execute(text(_DROP_REPEATS))
        message = "conflicts with row {}: same indicator, unit and date, different values; both rows rejected"
        rejected: list[Problem] = []
        conflicts = []
        for indicator_id, org_id, day, row, earlier, same in repeats:
            if same:
                self.result.duplicates += 1
                self.result.duplicate_rows.add(row)
                continue
            code = self.codes[indicator_id]
            rejected += [Problem(message.format(earlier), row, code), Problem(message.format(row), earlier, code)]
            conflicts.append({"i": indicator_id, "o": org_id, "d": day, "r": row})
        if not conflicts:
            return rejected
        await empty_temp_table(self.session, WITHDRAWING)
        await self.session.execute(
            text(f"INSERT INTO {WITHDRAWING} (indicator_id, org_id, obs_date, row_no) VALUES (:i, :o, :d, :r)"),
            conflicts,
        )
        await analyze_temp_table(self.session, WITHDRAWING)  # the planner then drives every statement from it
        restored = (await self.session.execute(text(_WITHDRAW_RESTORE), marker)).rowcount  # type: ignore[attr-defined]
        await self.session.execute(text(_WITHDRAW_HISTORY), marker)
        removed = (await self.session.execute(text(_WITHDRAW_NEW), marker)).rowcount  # type: ignore[attr-defined]
        await preaggregate.rebuild_months(self.session, WITHDRAWING)
        await self.session.execute(text(f"INSERT INTO {WITHDRAWN} SELECT * FROM {WITHDRAWING}"))
        self._withdrew = True
        # Each conflicting key was a version this writer replaced, a figure it added, or one it found as sent.
        self.result.updated -= restored
        self.result.inserted -= removed
        self.result.unchanged -= len(conflicts) - restored - removed
        return rejected

    async def _reject_withdrawn(self) -> list[Problem]:
        """A withdrawn key stays out for the rest of this write: a third row cannot bring it back."""
        found = await self.session.execute(text(_STAGED_WITHDRAWN))
        rejected = [
            Problem(f"conflicts with row {first}: same indicator, unit and date, different values; rejected", row,
                    self.codes[indicator_id])
            for indicator_id, row, first in found.all()
        ]
        if rejected:
            await self.session.execute(text(_DROP_WITHDRAWN))
        return rejected


_BY_THIS_WRITER = "coalesce(o.write_id = :write_id, false)"  # NULL: written before revision 0005
# A chunked writer's repeat: a key it wrote, or found stored as sent, from an earlier chunk (`s`: the staged row).
_SEEN_BEFORE = f"EXISTS (SELECT 1 FROM {SEEN} u WHERE {_SAME_KEY.format(a='u', b='s')})"
_TAKEN_BEFORE = f"({_BY_THIS_WRITER} OR {_SEEN_BEFORE})"
_SAME = "(o.numerator IS s.numerator AND o.denominator IS s.denominator AND o.value IS s.value)"
_SAME_PG = "((o.numerator, o.denominator, o.value) IS NOT DISTINCT FROM (s.numerator, s.denominator, s.value))"
_REPEATS = f"""
    SELECT s.indicator_id, s.org_id, s.obs_date, s.row_no, w.row_no, {{same}}
    FROM {STAGE} s
    JOIN observations o ON {_SAME_KEY.format(a="o", b="s")}
    JOIN {WRITTEN} w ON {_SAME_KEY.format(a="w", b="s")}
    WHERE {_TAKEN_BEFORE}
    ORDER BY s.row_no"""
# The repeats are the staged keys of earlier chunks (WRITTEN holds none of this chunk's yet). Not "written by
# this writer" nor "in SEEN": the merge has just stamped and noted this chunk's own figures so, and dropping
# them lost them from WRITTEN (a later conflicting row vanished unreported; SQLite's months went stale).
_DROP_REPEATS = f"""
    DELETE FROM {STAGE} WHERE EXISTS (SELECT 1 FROM {WRITTEN} w WHERE {_SAME_KEY.format(a="w", b=STAGE)})"""
# Withdrawing the figures this writer wrote for the keys in WITHDRAWING: back to the version each replaced, or
# gone if it was new. Driven from those keys (observation_history is looked up by the replacing write, its index).
_STAGED_WITHDRAWN = (f"SELECT s.indicator_id, s.row_no, w.row_no FROM {STAGE} s "
                     f"JOIN {WITHDRAWN} w ON {_SAME_KEY.format(a='s', b='w')} ORDER BY s.row_no")
_DROP_WITHDRAWN = (f"DELETE FROM {STAGE} "
                   f"WHERE EXISTS (SELECT 1 FROM {WITHDRAWN} w WHERE {_SAME_KEY.format(a=STAGE, b='w')})")
_WITHDRAWING = f"EXISTS (SELECT 1 FROM {WITHDRAWING} x WHERE {{key}})"
_WITHDRAW_RESTORE = f"""
    UPDATE observations SET numerator = h.numerator, denominator = h.denominator, value = h.value, source = h.source,
        recorded_at = h.recorded_at, recorded_by = h.recorded_by, write_id = h.write_id
    FROM {WITHDRAWING} x JOIN observation_history h ON {_SAME_KEY.format(a="h", b="x")}
    WHERE h.replaced_write_id = :write_id AND {_SAME_KEY.format(a="observations", b="h")}"""
_WITHDRAW_HISTORY = (f"DELETE FROM observation_history WHERE replaced_write_id = :write_id "
                     f"AND {_WITHDRAWING.format(key=_SAME_KEY.format(a='x', b='observation_history'))}")
_WITHDRAW_NEW = (f"DELETE FROM observations WHERE write_id = :write_id "
                 f"AND {_WITHDRAWING.format(key=_SAME_KEY.format(a='x', b='observations'))}")


async def _lock_indicators(session: AsyncSession, indicator_ids: Sequence[int]) -> None:
    """Writers of the same indicator take turns (PostgreSQL advisory locks, held to the end of the transaction).

    Every write rebuilds shared pre-aggregate rows (a province's month), so two concurrent writers would
    otherwise deadlock on them. Taking the locks in ascending order cannot deadlock. SQLite's BEGIN IMMEDIATE
    already serialises writers.
    """
    if not indicator_ids or (await session.connection()).dialect.name != "postgresql":
        return
    for indicator_id in indicator_ids:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"observations:{indicator_id}"}
        )


async def _stage(
    session: AsyncSession, rows: Sequence[validate.CheckedFigure], copy_data: bytearray | None = None, *,
    empty: bool = True,
) -> None:
    """Into the scratch table, not analyzed: both merge statements look each key up by itself (LATERAL), so
    their plans need no statistics of the staged rows. `copy_data`: the rows already as COPY data
    (copy_format.staged_rows), sent as one block. `empty`: the table may hold an earlier chunk's rows."""
    if empty:
        await empty_temp_table(session, STAGE)
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        copy_sql = f"COPY {STAGE} ({_COLUMNS}, row_no) FROM STDIN (FORMAT BINARY)"
        async with raw.cursor() as cur, cur.copy(copy_sql) as copy:
            if copy_data is not None:
                await copy.write(copy_data)
                return
            copy.set_types(["int4", "int4", "date", "float8", "float8", "float8", "int4"])
            for row in rows:
                await copy.write_row(row)
    else:
        await session.execute(
            text(f"INSERT INTO {STAGE} ({_COLUMNS}, row_no) VALUES (:i, :o, :d, :n, :den, :v, :r)"),
            [{"i": t.indicator_id, "o": t.org_id, "d": t.obs_date, "n": t.numerator, "den": t.denominator,
              "v": t.value, "r": t.row} for t in rows],
        )


_CHANGED = "(o.numerator IS NOT s.numerator OR o.denominator IS NOT s.denominator OR o.value IS NOT s.value)"
_CHANGED_PG = "(o.numerator, o.denominator, o.value) IS DISTINCT FROM (s.numerator, s.denominator, s.value)"
_EXCLUDED_CHANGED = (
    "(observations.numerator IS NOT excluded.numerator OR observations.denominator IS NOT "
    "excluded.denominator OR observations.value IS NOT excluded.value)"
)
_JOIN = _SAME_KEY.format(a="o", b="s")


# The pieces both merge statements share. `old`: staged rows (`s`) with the current figure (`o`) of their key;
# `repeat`: the key was taken by this very writer from an earlier chunk (written, or found stored as sent) —
# the merge leaves it alone and FigureWriter._settle_repeats decides.
_OLD_COLUMNS = """s.indicator_id, s.org_id, s.obs_date, s.numerator, s.denominator, s.value, o.ctid AS o_ctid,
           {existed} AS existed, {existed} AND {changed} AS changed, coalesce({{repeat}}, false) AS repeat,
           o.numerator AS o_num, o.denominator AS o_den, o.value AS o_val, o.source AS o_source,
           o.recorded_at AS o_at, o.recorded_by AS o_by, o.write_id AS o_write"""
_HISTORY_AND_CORRECTIONS = """, history AS (
    INSERT INTO observation_history (indicator_id, org_id, obs_date, numerator, denominator, value, source,
                                     recorded_at, recorded_by, write_id, replaced_at, replaced_by, replaced_write_id)
    SELECT indicator_id, org_id, obs_date, o_num, o_den, o_val, o_source, o_at, o_by, o_write, :now, :actor,
           :write_id
    FROM old WHERE changed AND NOT repeat
), corrected AS (
    -- The row found by the look-up, by its physical address: no second index look-up. Safe because writers of
    -- an indicator hold its advisory lock, so nobody moves the row in between.
    UPDATE observations o SET numerator = old.numerator, denominator = old.denominator, value = old.value,
        source = :source, recorded_at = :now, recorded_by = :actor, write_id = :write_id
    FROM old WHERE o.ctid = old.o_ctid AND old.changed AND NOT old.repeat
)"""
_INSERT = f"""INSERT INTO observations ({_COLUMNS}, source, recorded_at, recorded_by, write_id)
    SELECT {_COLUMNS}, :source, :now, :actor, :write_id FROM {{rows}}
    ORDER BY indicator_id, org_id, obs_date  -- index order: the inserts touch the key's pages in sequence"""
_NOTE_SEEN_PG = f"""
, seen AS (
    INSERT INTO {SEEN} SELECT indicator_id, org_id, obs_date FROM old WHERE existed AND NOT changed AND NOT repeat
)"""

# A push: one join of the staged rows with the current figures feeds the history, the corrections, the new rows
# and the monthly rows kept in step.
_MERGE_PG = f"""
WITH old AS MATERIALIZED (
    SELECT {_OLD_COLUMNS.format(existed="o.indicator_id IS NOT NULL", changed=_CHANGED_PG)}
    -- LATERAL: one index look-up per staged key whatever the planner guesses of the (unanalyzed) staged rows
    FROM {STAGE} s LEFT JOIN LATERAL (SELECT o.ctid, o.* FROM observations o WHERE {_JOIN}) o ON true
){_HISTORY_AND_CORRECTIONS}, added AS (
    {_INSERT.format(rows="old WHERE NOT existed")}
){{months}}
SELECT count(*), count(*) FILTER (WHERE existed), count(*) FILTER (WHERE changed AND NOT repeat),
       count(*) FILTER (WHERE repeat) FROM old
"""

# A bulk write (an export: mostly figures not stored yet) inserts first and looks up only the keys that were
# already there: no index probe for a new figure beyond the insert's own. `added` sees no row of this statement
# and `old` none that `added` wrote (one snapshot), so `old` is exactly the keys stored before.
_BULK_MERGE_PG = f"""
WITH added AS (
    {_INSERT.format(rows=STAGE)}
    ON CONFLICT (indicator_id, org_id, obs_date) DO NOTHING
    RETURNING indicator_id, org_id, obs_date
), stored AS MATERIALIZED (
    -- Evaluated once: when every staged row was inserted (a fresh export), the anti-join is never run.
    SELECT s.* FROM {STAGE} s
    WHERE (SELECT count(*) FROM added) < (SELECT count(*) FROM {STAGE})
      AND NOT EXISTS (SELECT 1 FROM added a WHERE a.indicator_id = s.indicator_id AND a.org_id = s.org_id
                      AND a.obs_date = s.obs_date)
), old AS MATERIALIZED (
    SELECT {_OLD_COLUMNS.format(existed="true", changed=_CHANGED_PG)}
    -- LATERAL: one index look-up per stored key (a few, usually), never a scan of the whole table
    FROM stored s CROSS JOIN LATERAL (SELECT o.ctid, o.* FROM observations o WHERE {_JOIN}) o
){_HISTORY_AND_CORRECTIONS}{_NOTE_SEEN_PG}
SELECT (SELECT count(*) FROM {STAGE}), count(*), count(*) FILTER (WHERE changed AND NOT repeat),
       count(*) FILTER (WHERE repeat) FROM old
"""


# A bulk write (chunked: an export) re-aggregates its months from the raw table once at the end, which costs
# less than keeping them in step chunk by chunk (FigureWriter.write notes them), and notes the keys it found
# stored as sent; a push (one chunk) keeps the months in step in the merge itself and cannot repeat a key
# (validate rejects that).
_MERGES_PG = {
    (False, False): _MERGE_PG.replace("{months}", preaggregate.merge_ctes("old")).replace("{repeat}", _BY_THIS_WRITER),
    **{(True, seen): _BULK_MERGE_PG.replace("{repeat}", _TAKEN_BEFORE if seen else _BY_THIS_WRITER)
       for seen in (True, False)},
}


async def _merge(
    session: AsyncSession, *, actor: str, source: str, now: datetime, write_id: int, bulk: bool, seen: bool
) -> tuple[int, int, int, int]:
    """Returns (inserted, updated, unchanged, repeats). Resending known figures writes nothing. `seen`: SEEN
    holds keys (a bulk write found some stored as sent), so a repeat may be one of those."""
    params = {"now": now, "actor": actor, "source": source, "write_id": write_id}
    if (await session.connection()).dialect.name == "postgresql":
        total, existing, updated, repeats = (await session.execute(text(_MERGES_PG[bulk, seen]), params)).one()
    else:
        total, existing, updated, repeats = await _merge_portable(session, params, bulk=bulk, seen=seen)
    return total - existing, updated, existing - updated - repeats, repeats


async def _merge_portable(
    session: AsyncSession, params: dict[str, object], *, bulk: bool, seen: bool
) -> tuple[int, int, int, int]:
    """The same merge in a few statements for SQLite (no data-modifying WITH)."""
    repeat = _TAKEN_BEFORE if seen else _BY_THIS_WRITER
    fresh_change = f"{_CHANGED} AND NOT ({repeat})"
    total, existing, updated, repeats = (
        await session.execute(
            text(
                f"SELECT count(*), count(o.indicator_id), "
                f"coalesce(sum(CASE WHEN o.indicator_id IS NOT NULL AND {fresh_change} THEN 1 ELSE 0 END), 0), "
                f"coalesce(sum(CASE WHEN o.indicator_id IS NOT NULL AND {repeat} THEN 1 ELSE 0 END), 0) "
                f"FROM {STAGE} s LEFT JOIN observations o ON {_JOIN}"
            ),
            params,
        )
    ).one()
    if bulk and existing:
        await session.execute(
            text(
                f"INSERT INTO {SEEN} SELECT s.indicator_id, s.org_id, s.obs_date FROM {STAGE} s "
                f"JOIN observations o ON {_JOIN} WHERE NOT {_CHANGED} AND NOT ({repeat})"
            ),
            params,
        )
    if updated:
        await session.execute(
            text(
                "INSERT INTO observation_history (indicator_id, org_id, obs_date, numerator, denominator, value, "
                "source, recorded_at, recorded_by, write_id, replaced_at, replaced_by, replaced_write_id) "
                "SELECT o.indicator_id, o.org_id, o.obs_date, o.numerator, o.denominator, o.value, o.source, "
                f"o.recorded_at, o.recorded_by, o.write_id, :now, :actor, :write_id FROM {STAGE} s "
                f"JOIN observations o ON {_JOIN} WHERE {fresh_change}"
            ),
            params,
        )
    if total > existing or updated:
        # A repeat is still staged here (_settle_repeats runs after the merge): the update must leave it alone.
        mine = "coalesce(observations.write_id = :write_id, false)"
        taken = (f"AND NOT ({mine} OR EXISTS (SELECT 1 FROM {SEEN} u WHERE "
                 f"{_SAME_KEY.format(a='u', b='observations')}))" if seen else f"AND NOT {mine}")
        on_conflict = (
            "DO UPDATE SET numerator = excluded.numerator, denominator = excluded.denominator, "
            "value = excluded.value, source = excluded.source, recorded_at = excluded.recorded_at, "
            f"recorded_by = excluded.recorded_by, write_id = excluded.write_id WHERE {_EXCLUDED_CHANGED} {taken}"
            if updated
            else "DO NOTHING"
        )
        await session.execute(
            text(
                f"INSERT INTO observations ({_COLUMNS}, source, recorded_at, recorded_by, write_id) "
                f"SELECT {_COLUMNS}, :source, :now, :actor, :write_id FROM {STAGE} WHERE true "
                f"ON CONFLICT (indicator_id, org_id, obs_date) {on_conflict}"
            ),
            params,
        )
    return total, existing, updated, repeats


async def history_of(session: AsyncSession, *, indicator_id: int, org_id: int, day: date) -> list[ObservationHistory]:
    rows = await session.execute(
        select(ObservationHistory)
        .where(
            ObservationHistory.indicator_id == indicator_id,
            ObservationHistory.org_id == org_id,
            ObservationHistory.obs_date == day,
        )
        .order_by(ObservationHistory.id)
    )
    return list(rows.scalars())
