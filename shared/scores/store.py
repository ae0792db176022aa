"""All SQL about assessments (考核评分) — the one write path for them — and reading scores and rankings.

Writes are all-or-nothing: every row is checked (shared.scores.assess) and the key's scope (shared.access.policy)
before anything is written; each written row is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit, policy
from shared.access.models import ApiKey
from shared.core import clock
from shared.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.schemes import store as scheme_store
from shared.schemes.models import SchemeItem, SchemeMethod
from shared.schemes.store import SchemeTree
from shared.schemes.types import AssessmentStatus, MethodKind
from shared.scores import assess, compute
from shared.scores.models import Assessment


@dataclass(frozen=True)
class WriteResult:
    ids: list[int]
    submitted: int
    verified: int


def facts(tree: SchemeTree) -> assess.SchemeFacts:
    return assess.SchemeFacts(
        year=tree.scheme.year,
        methods={m.code: MethodKind(m.kind) for m in tree.methods},
        items={
            i.number: assess.ItemFacts(
                tree.maxima.items[i.number].points, frozenset(x.code for x in tree.leads.get(i.id, []))
            )
            for i in tree.all_items()
        },
        units=frozenset(tree.units),
        excluded=frozenset(tree.excluded),
    )


async def acts_for_jurisdiction(session: AsyncSession, key: ApiKey, tree: SchemeTree) -> bool:
    """An admin key acts for a scheme when it has no unit, is the scheme's 专班, or covers the jurisdiction."""
    if key.org_id is None or key.org_id == tree.scheme.verifier_id:
        return True
    return await org_store.is_within(session, key.org_id, tree.jurisdiction.id)


async def require_jurisdiction(session: AsyncSession, key: ApiKey, tree: SchemeTree, action: policy.Action) -> None:
    if policy.scope_of(key.role, action) != policy.Scope.JURISDICTION or not await acts_for_jurisdiction(
        session, key, tree
    ):
        raise Forbidden(f"the key '{key.name}' may not {action.value.replace('_', ' ')} for scheme {tree.scheme.id}")


async def write_assessments(
    session: AsyncSession, tree: SchemeTree, rows: Sequence[assess.AssessmentIn], *, key: ApiKey, actor: str
) -> WriteResult:
    """Enter points (lead units: submitted; the 专班: verified on entry, an adjustment with its reason)."""
    f = facts(tree)
    problems = assess.duplicate_problems(rows)
    for index, row in enumerate(rows):
        problems += assess.row_problems(row, index, f)
    own = tree.code_of(key.org_id)
    forbidden = await _scope_problems(session, tree, rows, key, own, f)
    existing = await _current(session, tree, rows)
    problems += _state_problems(rows, key, existing, own)
    if forbidden:
        raise Forbidden(
            f"the key '{key.name}' may not score {len(forbidden)} of the rows; nothing was written",
            [*forbidden, *problems],
        )
    if problems:
        raise InvalidInput(f"{len(problems)} problems in the assessments; nothing was written", problems)
    return await _insert(session, tree, rows, key, actor, existing)


async def _scope_problems(
    session: AsyncSession,
    tree: SchemeTree,
    rows: Sequence[assess.AssessmentIn],
    key: ApiKey,
    own: str | None,
    f: assess.SchemeFacts,
) -> list[Problem]:
    out: list[Problem] = []
    if key.role == policy.Role.ADMIN:
        if not await acts_for_jurisdiction(session, key, tree):
            out.append(Problem(f"this admin key does not act for {tree.jurisdiction.name}"))
        return out
    for index, row in enumerate(rows):
        kind = f.methods.get(row.method)
        if kind == MethodKind.OVERALL or policy.scope_of(key.role, policy.Action.SCORE_ITEMS) != policy.Scope.LED_ITEMS:
            out.append(Problem(f"role '{key.role}' may not enter {row.method} scores", row=index, field="method"))
        elif row.item is not None and row.item in f.items and own not in f.items[row.item].leads:
            out.append(Problem(f"your unit does not lead item {row.item}; only its lead units score it", index, "item"))
        elif own is not None and row.org == own:
            # 考评办法: 各牵头考核单位自身工作及考核分值由市政府办公室数字政府专班予以核实.
            out.append(Problem("a lead unit's own work is scored by the 数字政府专班, not by the unit itself",
                               index, "org"))
    return out


Key = tuple[int | None, str, str, str]  # (item number, org code, period, method)


async def _current(
    session: AsyncSession, tree: SchemeTree, rows: Sequence[assess.AssessmentIn]
) -> dict[Key, list[compute.Entry]]:
    """The stored entries for the (item, unit, period, method) keys of the body."""
    periods = {r.period for r in rows}
    wanted = {(r.item, r.org, r.period, r.method) for r in rows}
    units = sorted({tree.units[r.org][0].id for r in rows if r.org in tree.units})  # an unknown one is a problem
    out: dict[Key, list[compute.Entry]] = {}
    for e in await entries(session, tree, periods, org_ids=units):
        key = (e.item, e.org, e.period, e.method)
        if key in wanted:
            out.setdefault(key, []).append(e)
    return out


def _state_problems(
    rows: Sequence[assess.AssessmentIn], key: ApiKey, existing: dict[Key, list[compute.Entry]], own: str | None
) -> list[Problem]:
    out: list[Problem] = []
    for index, row in enumerate(rows):
        stored = existing.get((row.item, row.org, row.period, row.method), [])
        verified = [e for e in stored if e.status == AssessmentStatus.VERIFIED]
        if key.role == policy.Role.ADMIN:
            if verified and not (row.reason or "").strip():
                out.append(Problem("verified points exist: an adjustment needs a 'reason'", row=index, field="reason"))
        elif any(e.lead == own for e in verified):
            out.append(
                Problem("your points for this item and unit are verified; ask the 专班 to adjust them", index, "points")
            )
    return out


async def _insert(
    session: AsyncSession,
    tree: SchemeTree,
    rows: Sequence[assess.AssessmentIn],
    key: ApiKey,
    actor: str,
    existing: dict[Key, list[compute.Entry]],
) -> WriteResult:
    now = clock.now()
    by_office = key.role == policy.Role.ADMIN
    method_ids = {m.code: m.id for m in tree.methods}
    item_ids = {i.number: i.id for i in tree.all_items()}
    ids: list[int] = []
    for row in rows:
        stored = existing.get((row.item, row.org, row.period, row.method), [])
        if not by_office and row.item is not None:  # the lead unit's unverified earlier points give way
            await _supersede(
                session, item_ids[row.item], tree.units[row.org][0].id, row.period, method_ids[row.method], key.org_id
            )
        latest_verified = max((e.id for e in stored if e.status == AssessmentStatus.VERIFIED), default=None)
        entry = Assessment(
            scheme_id=tree.scheme.id,
            method_id=method_ids[row.method],
            item_id=item_ids[row.item] if row.item is not None else None,
            org_id=tree.units[row.org][0].id,
            period=row.period,
            points=row.points,
            score=row.score,
            lead_org_id=None if by_office else key.org_id,
            status=AssessmentStatus.VERIFIED if by_office else AssessmentStatus.SUBMITTED,
            note=row.note,
            source=row.source,
            adjusts_id=latest_verified if by_office else None,
            reason=row.reason if by_office else None,
            entered_by=actor,
            entered_at=now,
            verified_by=actor if by_office else None,
            verified_at=now if by_office else None,
        )
        session.add(entry)
        await session.flush()
        ids.append(entry.id)
        await audit.record(
            session,
            actor=actor,
            action="adjust" if entry.adjusts_id else "assess",
            entity="assessment",
            entity_key=str(entry.id),
            after=_audit_view(row, entry.status),
        )
    await scheme_store.changed(session, tree.scheme.id)
    submitted = 0 if by_office else len(ids)
    return WriteResult(ids=ids, submitted=submitted, verified=len(ids) - submitted)


async def _supersede(
    session: AsyncSession,
    item_id: int,
    org_id: int,
    period: str,
    method_id: int,
    lead_id: int | None,
    *,
    automatic: bool = False,
) -> None:
    """A lead unit's submitted (unverified) points for one (item, unit, half-year, method) give way to newer ones;
    `automatic` limits it to the entries of an earlier automatic run."""
    stmt = (
        update(Assessment)
        .where(Assessment.item_id == item_id, Assessment.org_id == org_id, Assessment.period == period)
        .where(Assessment.method_id == method_id, Assessment.lead_org_id == lead_id)
        .where(Assessment.status == AssessmentStatus.SUBMITTED)
    )
    await session.execute(
        (stmt.where(Assessment.automatic) if automatic else stmt).values(status=AssessmentStatus.SUPERSEDED)
    )


def _audit_view(row: assess.AssessmentIn, status: str) -> dict[str, object]:
    return {
        "item": row.item,
        "org": row.org,
        "period": row.period,
        "method": row.method,
        "points": None if row.points is None else str(row.points),
        "score": None if row.score is None else str(row.score),
        "status": status,
        "reason": row.reason,
    }


async def add_automatic(
    session: AsyncSession,
    tree: SchemeTree,
    *,
    item: SchemeItem,
    org_id: int,
    lead: str,
    period: str,
    method_id: int,
    points: Fraction,
    basis: dict[str, Any],
    actor: str,
    at: datetime,
) -> int:
    """A submitted automatic entry (points to 4 decimals, half up; the exact value stays in `basis`)."""
    lead_id = tree.units[lead][0].id
    # A second run supersedes the first one's unverified points instead of submitting them twice.
    await _supersede(session, item.id, org_id, period, method_id, lead_id, automatic=True)
    entry = Assessment(
        scheme_id=tree.scheme.id,
        method_id=method_id,
        item_id=item.id,
        org_id=org_id,
        period=period,
        points=compute.shown(points, 4),
        lead_org_id=lead_id,
        status=AssessmentStatus.SUBMITTED,
        automatic=True,
        basis=basis,
        entered_by=actor,
        entered_at=at,
    )
    session.add(entry)
    await session.flush()
    await audit.record(
        session, actor=actor, action="assess_automatic", entity="assessment", entity_key=str(entry.id), after=basis
    )
    await scheme_store.changed(session, tree.scheme.id)
    return entry.id


async def get_assessment(session: AsyncSession, assessment_id: int) -> Assessment:
    row = await session.get(Assessment, assessment_id)
    if row is None:
        raise NotFound(f"assessment {assessment_id} does not exist")
    return row


async def review(session: AsyncSession, row: Assessment, *, verify: bool, reason: str | None, actor: str) -> Assessment:
    """The 专班 verifies a submitted entry, or returns it with a reason for the lead unit to resubmit."""
    if row.status != AssessmentStatus.SUBMITTED:
        raise Conflict(f"assessment {row.id} is {row.status}; only submitted points can be verified or returned")
    if not verify and not (reason or "").strip():
        raise InvalidInput(
            "returning points needs a 'reason' the lead unit can act on", [Problem("required", field="reason")]
        )
    before = row.status
    row.status = AssessmentStatus.VERIFIED if verify else AssessmentStatus.RETURNED
    if verify:
        row.verified_by, row.verified_at = actor, clock.now()
    else:
        row.return_reason = reason
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="verify" if verify else "return",
        entity="assessment",
        entity_key=str(row.id),
        before={"status": before},
        after={"status": row.status, "reason": reason},
    )
    await scheme_store.changed(session, row.scheme_id)
    return row


def _entries_select(tree: SchemeTree) -> Select[Any]:
    # Columns, not ORM objects: a ranking reads thousands of entries, and this is its only read of them.
    lead = select(OrgUnit.id, OrgUnit.code).subquery()
    a = Assessment
    return (
        select(a.id, OrgUnit.code, a.period, SchemeMethod.code, SchemeItem.number, a.points, a.score, lead.c.code,
               a.status, a.entered_by, a.entered_at, a.verified_by, a.note, a.source, a.reason, a.adjusts_id,
               a.automatic, a.basis, a.return_reason)  # fmt: skip
        .join(OrgUnit, OrgUnit.id == a.org_id)
        .join(SchemeMethod, SchemeMethod.id == a.method_id)
        .outerjoin(SchemeItem, SchemeItem.id == a.item_id)
        .outerjoin(lead, lead.c.id == a.lead_org_id)
        .where(a.scheme_id == tree.scheme.id)
        .order_by(a.id)
    )


def _entry(r: Sequence[Any]) -> compute.Entry:
    return compute.Entry(
        id=r[0], org=r[1], period=r[2], method=r[3], item=r[4],
        points=None if r[5] is None else Fraction(r[5]), score=None if r[6] is None else Fraction(r[6]),
        lead=r[7], status=r[8], entered_by=r[9], entered_at=r[10], verified_by=r[11], note=r[12], source=r[13],
        reason=r[14], adjusts=r[15], automatic=r[16], basis=r[17], return_reason=r[18],
    )  # fmt: skip


async def entries(
    session: AsyncSession,
    tree: SchemeTree,
    periods: set[str],
    *,
    org_ids: Sequence[int] | None = None,
    item_ids: Sequence[int] | None = None,
    overall: bool = False,
) -> list[compute.Entry]:
    """The scheme's entries for these half-years, as the computation reads them (one statement): all of them,
    or those of some units, of some items, or of the overall methods only."""
    stmt = _entries_select(tree).where(Assessment.period.in_(periods))
    if org_ids is not None:
        stmt = stmt.where(Assessment.org_id.in_(org_ids))
    if item_ids is not None:
        stmt = stmt.where(Assessment.item_id.in_(item_ids))
    if overall:
        stmt = stmt.where(Assessment.item_id.is_(None))
    return [_entry(r) for r in await session.execute(stmt)]


@dataclass(frozen=True)
class EntryFilter:
    """Which entries a listing shows (GET /v1/schemes/{id}/assessments): each given field narrows it."""

    status: str | None = None
    org_id: int | None = None  # the unit assessed
    lead_id: int | None = None  # the lead unit that entered them
    period: str | None = None


async def list_entries(
    session: AsyncSession, tree: SchemeTree, which: EntryFilter, *, limit: int, offset: int
) -> tuple[int, list[compute.Entry]]:
    """The scheme's entries that match, oldest first, one page of them, and how many match in all: what a
    lead unit checks (its points pending, a return and its reason) and the 专班's queue (status submitted)."""
    stmt = _entries_select(tree)
    if which.org_id is not None:
        stmt = stmt.where(Assessment.org_id == which.org_id)
    if which.lead_id is not None:
        stmt = stmt.where(Assessment.lead_org_id == which.lead_id)
    if which.status is not None:
        stmt = stmt.where(Assessment.status == which.status)
    if which.period is not None:
        stmt = stmt.where(Assessment.period == which.period)
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = await session.execute(stmt.limit(limit).offset(offset))
    return int(total or 0), [_entry(r) for r in page]
