"""All SQL about 好差评 ratings: storing an export's ratings with their daily figures, the follow-up of bad ratings
and the overdue list. Parsing exports lives in the collector; the figures' arithmetic in derive.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core import clock
from shared.core.errors import Forbidden, InvalidInput, NotFound, Problem
from shared.core.settings import RatingSettings
from shared.observations import store as observation_store
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit, OrgUnitPath
from shared.ratings import derive, workdays
from shared.ratings.models import FOLLOWUP_STATES, OPEN_STATES, Rating
from shared.ratings.types import RatingIn
from shared.revisions import store as revisions

TO_VERIFY, VERIFYING, RECTIFIED = FOLLOWUP_STATES  # 待核实, 核实中, 已整改
# Widths of the ratings table's text columns: a longer value is a Problem, not a database error.
_WIDTHS = {"rating_id": 64, "channel": 32, "service_item": 200, "item_code": 64, "department": 100}
# Pairs or ids per IN list: well under SQLite's bound-parameter limit.
_CHUNK = 400


@dataclass
class RatingWriteResult:
    inserted: int = 0
    already_known: int = 0
    rejected: list[Problem] = field(default_factory=list)
    figures: observation_store.WriteResult = field(default_factory=observation_store.WriteResult)
    corrected: list[int] = field(default_factory=list)  # indexes (into the ratings given) of stored ones replaced


@dataclass(frozen=True, slots=True)
class _Unit:
    id: int
    valid_from: date
    valid_to: date | None


async def write_ratings(
    session: AsyncSession,
    ratings: Sequence[RatingIn],
    *,
    source: str,
    actor: str,
    settings: RatingSettings,
    today: date | None = None,
) -> RatingWriteResult:
    """Store new 好差评 ratings and rewrite the daily figures of every (unit, day) they add to (PRODUCT.md §2.4).

    A rating is stored once per platform id (评价编号): an id already stored as given, or repeated in the batch,
    is left as it is and counted in `already_known`; one stored otherwise (a corrected export: another level,
    unit, time or item) is replaced — its old and new days recounted, its follow-up started or ended with its
    badness, the old values kept in the audit log — and listed in `corrected`. Bad rows (unknown unit, dated after
    today, level outside 1–5, …) are returned in `rejected` and the good ones are stored. A bad rating (level
    ≤ 2) starts 待核实 with a due date `settings.rectify_working_days` working days after its day (限期整改). The
    day's figures are counted from the ratings table, so several exports for one day add up, and written through
    `write_observations`.
    Runs in the caller's transaction.
    """
    today = today or clock.today()
    units = await _units(session, {r.org for r in ratings})
    rows: list[tuple[int, dict[str, Any]]] = []  # (index into `ratings`, the row to store)
    problems: list[Problem] = []
    for i, rating in enumerate(ratings):
        found = _check(i, rating, units, today)
        if found:
            problems += found
        else:
            rows.append((i, _row(rating, units[rating.org].id, source, settings)))
    stored = await _stored(session, [row["rating_id"] for _, row in rows])
    taken: set[str] = set()
    new: list[dict[str, Any]] = []
    changed: dict[str, tuple[int, dict[str, Any]]] = {}  # rating id → (index, the corrected row)
    for i, row in rows:
        if row["rating_id"] in taken:
            continue  # repeated in the batch: the first one counts
        taken.add(row["rating_id"])
        before = stored.get(row["rating_id"])
        if before is None:
            new.append(row)
        elif _differs(before, row):
            changed[row["rating_id"]] = (i, row)
    if new:
        await session.execute(insert(Rating), new)
    touched = {(row["org_id"], row["rating_date"]) for row in new}
    replaced = await _replace_all(session, changed, touched)
    figures = observation_store.WriteResult()
    if touched:
        counts = await _level_counts(session, touched)
        figures = await observation_store.write_observations(
            session, derive.daily_figures(counts, settings.level_points), source=source, actor=actor, today=today
        )
    if new or changed:  # after the figures' indicator locks: follow-ups to watch, even where figures stay equal
        await revisions.changed(session)
    corrected = sorted(i for i, _ in changed.values())
    result = RatingWriteResult(len(new), len(rows) - len(new) - len(corrected), problems, figures, corrected)
    await audit.record(
        session,
        actor=actor,
        action="write",
        entity="ratings",
        entity_key=source,
        after={
            "inserted": result.inserted,
            "already_known": result.already_known,
            "rejected_rows": len({p.row for p in problems}),
            "corrected": replaced,
        },
    )
    return result


# What a re-sent rating must match to be the one stored, besides its time (`source` and the follow-up are the
# product's own).
_AS_GIVEN = ("org_id", "level", "channel", "service_item", "item_code", "department", "named")


def _differs(stored: Any, row: dict[str, Any]) -> bool:
    # SQLite gives the stored time back naive (Shanghai wall time, as written): compared as the same instant.
    return local_time(stored.rated_at) != row["rated_at"] or any(getattr(stored, c) != row[c] for c in _AS_GIVEN)


async def _replace_all(
    session: AsyncSession, changed: dict[str, tuple[int, dict[str, Any]]], touched: set[tuple[int, date]]
) -> list[dict[str, Any]]:
    """Replace the stored ratings a corrected export changed, noting the (unit, day) each leaves and joins in
    `touched`; returns what each was (for the audit log: ids, levels, days and states only)."""
    replaced: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(changed)):
        for stored in (await session.execute(select(Rating).where(Rating.rating_id.in_(chunk)))).scalars():
            row = changed[stored.rating_id][1]
            replaced.append({"rating_id": stored.rating_id, "level": stored.level,
                             "rating_date": stored.rating_date.isoformat(), "followup_state": stored.followup_state})
            touched |= {(stored.org_id, stored.rating_date), (row["org_id"], row["rating_date"])}
            _replace(stored, row)
    if replaced:
        await session.flush()
    return sorted(replaced, key=lambda r: r["rating_id"])


def _replace(stored: Rating, row: dict[str, Any]) -> None:
    """A stored rating corrected: the export's values; a follow-up starts when it becomes bad and ends (state and
    deadline cleared) when it stops being bad; a bad one moved to another day gets that day's deadline."""
    was_bad = stored.level in derive.BAD_LEVELS
    for column in (*_AS_GIVEN, "rated_at", "rating_date", "source"):
        setattr(stored, column, row[column])
    if row["followup_state"] is None:
        stored.followup_state = stored.followup_due_date = stored.followup_done_at = None
    elif not was_bad:
        stored.followup_state, stored.followup_due_date = row["followup_state"], row["followup_due_date"]
    elif stored.followup_state != RECTIFIED:
        stored.followup_due_date = row["followup_due_date"]


def local_time(rated_at: datetime) -> datetime:
    """评价时间 as an aware Asia/Shanghai time: exports give naive local time, an aware time is converted."""
    if rated_at.tzinfo is None:
        return rated_at.replace(tzinfo=clock.SHANGHAI)
    return rated_at.astimezone(clock.SHANGHAI)


def _check(i: int, rating: RatingIn, units: dict[str, _Unit], today: date) -> list[Problem]:
    out: list[Problem] = []
    if not rating.rating_id.strip():
        out.append(Problem("rating_id (评价编号) is empty", i, "rating_id"))
    for name, width in _WIDTHS.items():
        value = getattr(rating, name)
        if value is not None and len(value) > width:
            out.append(Problem(f"{name} is longer than {width} characters", i, name))
        elif value is not None and "\x00" in value:  # PostgreSQL text cannot hold it: the row, not the write
            out.append(Problem(f"{name} holds a NUL character (\\x00)", i, name))
    if rating.level not in derive.LEVELS:
        out.append(Problem(f"level must be 1 (非常不满意) … 5 (非常满意), got {rating.level}", i, "level"))
    day = local_time(rating.rated_at).date()
    unit = units.get(rating.org)
    if unit is None:
        out.append(Problem(f"unknown org unit '{rating.org}'; GET /v1/org-units lists the codes", i, "org"))
    if day > today:
        out.append(
            Problem(f"rated at {rating.rated_at} is in the future (today is {today}, Asia/Shanghai)", i, "rated_at")
        )
    elif unit is not None and not (unit.valid_from <= day and (unit.valid_to is None or day <= unit.valid_to)):
        out.append(Problem(f"{day} is outside the validity of unit '{rating.org}'", i, "rated_at"))
    return out


def _row(rating: RatingIn, org_id: int, source: str, settings: RatingSettings) -> dict[str, Any]:
    rated_at = local_time(rating.rated_at)
    bad = rating.level in derive.BAD_LEVELS
    return {
        "rating_id": rating.rating_id,
        "org_id": org_id,
        "rating_date": rated_at.date(),
        "rated_at": rated_at,
        "level": rating.level,
        "channel": rating.channel,
        "service_item": rating.service_item,
        "item_code": rating.item_code,
        "department": rating.department,
        "named": rating.named,
        "source": source,
        "followup_state": TO_VERIFY if bad else None,
        "followup_due_date": (
            workdays.add_working_days(rated_at.date(), settings.rectify_working_days) if bad else None
        ),
    }


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (items[k : k + _CHUNK] for k in range(0, len(items), _CHUNK))


async def _units(session: AsyncSession, codes: Collection[str]) -> dict[str, _Unit]:
    units: dict[str, _Unit] = {}
    for chunk in _chunks(sorted(codes)):
        rows = await session.execute(
            select(OrgUnit.code, OrgUnit.id, OrgUnit.valid_from, OrgUnit.valid_to).where(OrgUnit.code.in_(chunk))
        )
        units.update({code: _Unit(i, vf, vt) for code, i, vf, vt in rows})
    return units


async def _stored(session: AsyncSession, rating_ids: Sequence[str]) -> dict[str, Any]:
    """The stored ratings of these ids, by id: the columns a re-sent rating is compared on (rows, not objects:
    a day's export re-read through the day repeats every rating taken before)."""
    columns = [getattr(Rating, c) for c in ("rating_id", "rated_at", *_AS_GIVEN)]
    known: dict[str, Any] = {}
    for chunk in _chunks(sorted(set(rating_ids))):
        found = await session.execute(select(*columns).where(Rating.rating_id.in_(chunk)))
        known.update((r.rating_id, r) for r in found)
    return known


async def _level_counts(session: AsyncSession, touched: Collection[tuple[int, date]]) -> list[derive.LevelCounts]:
    """Ratings per (unit, day, level), counted in the table: everything stored for the day, not just this batch."""
    by_day: dict[tuple[str, date], dict[int, int]] = {}
    for chunk in _chunks(sorted(touched)):
        rows = await session.execute(
            select(OrgUnit.code, Rating.rating_date, Rating.level, func.count())
            .join(OrgUnit, OrgUnit.id == Rating.org_id)
            .where(tuple_(Rating.org_id, Rating.rating_date).in_(chunk))
            .group_by(OrgUnit.code, Rating.rating_date, Rating.level)
        )
        for code, day, level, n in rows:
            by_day.setdefault((code, day), {})[level] = n
    return [derive.LevelCounts(org, day, counts) for (org, day), counts in sorted(by_day.items())]


async def set_followup(
    session: AsyncSession,
    *,
    rating_id: str,
    state: str,
    actor: str,
    at: datetime | None = None,
    within: int | None = None,
) -> Rating:
    """Move a bad rating's 核实/整改 forward: 待核实 → 核实中 → 已整改 (PRODUCT.md §2.4, 限期整改).

    Steps may be skipped but never undone; setting the current state again changes nothing. 已整改 stamps
    `followup_done_at` (`at`, default now). `within`: the unit whose subtree the writer may touch (an
    integration key's, shared.access.policy.subtree_root); a rating elsewhere is refused. Every change is audited.
    """
    rating = (await session.execute(select(Rating).where(Rating.rating_id == rating_id))).scalar_one_or_none()
    if rating is None:
        raise NotFound(f"rating '{rating_id}' does not exist", details=[{"field": "rating_id", "value": rating_id}])
    if within is not None and not await org_store.is_within(session, within, rating.org_id):
        raise Forbidden(f"rating '{rating_id}' belongs to a unit outside this key's subtree; nothing was changed")
    if state not in FOLLOWUP_STATES:
        raise InvalidInput(
            f"state must be one of {', '.join(FOLLOWUP_STATES)}, got '{state}'",
            [Problem("unknown state", field="state")],
        )
    before = rating.followup_state
    if before is None:
        raise InvalidInput(
            f"rating '{rating_id}' is not a bad rating (level {rating.level}): it has no follow-up",
            [Problem("only levels 1–2 are followed up", field="state")],
        )
    if state == before:
        return rating
    if FOLLOWUP_STATES.index(state) < FOLLOWUP_STATES.index(before):
        raise InvalidInput(
            f"rating '{rating_id}' is already {before}; its follow-up cannot go back to {state}",
            [Problem("the follow-up only moves forward", field="state")],
        )
    rating.followup_state = state
    if state == RECTIFIED:
        rating.followup_done_at = local_time(at) if at is not None else clock.now()
    await session.flush()
    await revisions.changed(session)
    await audit.record(
        session,
        actor=actor,
        action="followup",
        entity="ratings",
        entity_key=rating_id,
        before={"state": before},
        after={"state": state, "done_at": (rating.followup_done_at.isoformat() if rating.followup_done_at else None)},
    )
    return rating


async def count_overdue(session: AsyncSession, *, today: date, org: str | None = None) -> int:
    """How many bad ratings `overdue` would list without a limit."""
    stmt = await _past_deadline(session, select(func.count()).select_from(Rating), today, org)
    return int((await session.execute(stmt)).scalar_one())


async def overdue(
    session: AsyncSession,
    *,
    today: date,
    org: str | None = None,
    limit: int | None = None,
    after: tuple[date, str] | None = None,
) -> list[Rating]:
    """Bad ratings not yet 已整改 whose deadline has passed (due date before `today`), optionally in a subtree:
    by deadline then rating id, at most `limit`, from after the (due date, rating id) `after` (a page's last)."""
    stmt = select(Rating).order_by(Rating.followup_due_date, Rating.rating_id).limit(limit)
    if after is not None:
        stmt = stmt.where(tuple_(Rating.followup_due_date, Rating.rating_id) > tuple_(*after))
    stmt = await _past_deadline(session, stmt, today, org)
    return list((await session.execute(stmt)).scalars())


async def _past_deadline(session: AsyncSession, stmt: Select[Any], today: date, org: str | None) -> Select[Any]:
    stmt = stmt.where(Rating.followup_state.in_(OPEN_STATES), Rating.followup_due_date < today)
    if org is not None:
        root = await org_store.get_by_code(session, org)
        stmt = stmt.join(OrgUnitPath, OrgUnitPath.descendant_id == Rating.org_id).where(
            OrgUnitPath.ancestor_id == root.id
        )
    return stmt
