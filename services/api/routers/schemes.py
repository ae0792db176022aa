"""Schemes (考评方案): read the tree with effective maxima; set splits and applicability (专班; a lead unit for the
groups it leads alone); enter, verify and return assessments; publish a period's result."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from services.api import idempotency
from services.api.deps import ReadSessionDep, SettingsDep, WriteSessionDep, actor, allow, get_reader
from services.api.schemas import schemes as s
from shared.access import policy
from shared.access.models import ApiKey
from shared.access.policy import Action
from shared.core import clock
from shared.core.errors import Forbidden, InvalidInput, Problem
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.publications import store as publication_store
from shared.publications.models import Publication
from shared.schemes import store as scheme_store
from shared.schemes.models import Scheme
from shared.schemes.types import AssessmentStatus
from shared.scores import assess, automatic, explain
from shared.scores import store as score_store
from shared.scores.compute import shown

router = APIRouter(tags=["schemes"])
SchemeId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _f(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def _scheme_out(tree: scheme_store.SchemeTree) -> s.SchemeOut:
    m = tree.maxima
    sections = []
    for sec in tree.sections:
        groups = []
        for g in tree.groups[sec.id]:
            gmax = m.groups[(sec.number, g.number)]
            items = [
                s.ItemOut(
                    number=i.number,
                    text=i.text,
                    points=_f(i.points),
                    max_points=float(shown(m.items[i.number].points, 4) or 0),  # half up, as every score
                    max_points_exact=str(m.items[i.number].points),
                    max_points_source=m.items[i.number].source.value,
                    split_points=_f(i.split_points),
                    lead_units=[
                        s.LeadUnitOut(code=x.code, name=x.name, seed_name=x.seed_name) for x in tree.leads.get(i.id, [])
                    ],
                    deadline_text=i.deadline_text,
                    due_date=i.due_date,
                    indicator=i.indicator_code,
                )
                for i in tree.items[g.id]
            ]
            groups.append(
                s.GroupOut(
                    number=g.number,
                    label=tree.group_label(g),
                    title=g.title,
                    points=_f(g.points),
                    max_points=float(shown(gmax.points, 4) or 0),
                    max_points_exact=str(gmax.points),
                    max_points_source=gmax.source.value,
                    split_points=_f(g.split_points),
                    items=items,
                )
            )
        sections.append(s.SectionOut(number=sec.number, title=sec.title, points=float(sec.points), groups=groups))
    return s.SchemeOut(
        **_summary(tree.scheme, tree.jurisdiction).model_dump(),
        seed_file=tree.scheme.seed_file,
        verifier=tree.verifier.name if tree.verifier else None,
        methods=[s.MethodOut(code=x.code, name=x.name, weight=float(x.weight), kind=x.kind) for x in tree.methods],
        sections=sections,
        units=[s.UnitAssessedOut(code=c, name=u.name, ranking_kind=k.value) for c, (u, k) in tree.units.items()],
        not_applicable=[{"item": n, "org": o} for n, o in sorted(tree.excluded)],
        problems=[p.message for p in m.problems],
    )


def _summary(scheme: Scheme, jurisdiction: OrgUnit) -> s.SchemeSummary:
    return s.SchemeSummary(
        id=scheme.id,
        code=scheme.code,
        name=scheme.name,
        jurisdiction=jurisdiction.code,
        jurisdiction_name=jurisdiction.name,
        year=scheme.year,
        version=scheme.version,
    )


@router.get("/schemes", response_model=list[s.SchemeSummary], dependencies=[Depends(get_reader)])
async def list_schemes(session: ReadSessionDep) -> list[s.SchemeSummary]:
    return [_summary(scheme, j) for scheme, j in await scheme_store.list_schemes(session)]


@router.get("/schemes/{scheme_id}", response_model=s.SchemeOut, dependencies=[Depends(get_reader)])
async def get_scheme(scheme_id: SchemeId, session: ReadSessionDep) -> s.SchemeOut:
    return _scheme_out(await scheme_store.get_tree(session, scheme_id))


@router.put("/schemes/{scheme_id}/splits", response_model=s.SchemeOut)
async def put_splits(
    scheme_id: SchemeId,
    body: s.SplitsPut,
    session: WriteSessionDep,
    key: Annotated[ApiKey, Depends(allow(Action.SET_SPLITS))],
) -> s.SchemeOut:
    tree = await scheme_store.get_tree(session, scheme_id)
    splits = [scheme_store.Split(s.decimal(x.points), x.group, x.item) for x in body.splits]
    targets, problems = scheme_store.resolve_splits(tree, splits)
    if problems:
        raise InvalidInput(f"{len(problems)} problems in the splits; nothing was changed", problems)
    if key.role == policy.Role.ADMIN:
        await score_store.require_jurisdiction(session, key, tree, Action.SET_SPLITS)
    else:
        _require_sole_lead(tree, key, targets)
    await scheme_store.set_splits(session, tree, targets, actor=actor(key))
    return _scheme_out(await scheme_store.get_tree(session, scheme_id))


def _require_sole_lead(tree: scheme_store.SchemeTree, key: ApiKey, targets: dict[tuple[str, Any], Any]) -> None:
    """A lead unit splits a group's points only where it leads every item of the group alone (seed 三（四）)."""
    for kind, row_id in targets:
        group = next((i.group_id for i in tree.all_items() if i.id == row_id), None) if kind == "item" else None
        items = tree.items.get(group or -1, [])
        sole = items and all({x.code for x in tree.leads.get(i.id, [])} == {tree.code_of(key.org_id)} for i in items)
        if not sole:
            raise Forbidden("a lead unit may split only the points of a group whose every item it leads alone")


@router.put("/schemes/{scheme_id}/applicability", response_model=s.SchemeOut)
async def put_applicability(
    scheme_id: SchemeId,
    body: s.ApplicabilityPut,
    session: WriteSessionDep,
    key: Annotated[ApiKey, Depends(allow(Action.SET_APPLICABILITY))],
) -> s.SchemeOut:
    tree = await scheme_store.get_tree(session, scheme_id)
    await score_store.require_jurisdiction(session, key, tree, Action.SET_APPLICABILITY)
    problems, changes = [], []
    seen: dict[tuple[int, str], int] = {}
    for row, x in enumerate(body.applicability):
        item, unit = tree.item(x.item), tree.units.get(x.org)
        if (earlier := seen.setdefault((x.item, x.org), row)) != row:  # which answer? (the last one won)
            problems.append(Problem(f"repeats row {earlier} (same item and unit); give each once", row=row,
                                    field="item"))
        if item is None:
            problems.append(Problem(f"no item {x.item} in this scheme", row=row, field="item"))
        if unit is None:
            problems.append(Problem(f"'{x.org}' is not a unit assessed by this scheme", row=row, field="org"))
        if item is not None and unit is not None:
            changes.append((item, unit[0], x.applicable, x.reason))
    if problems:
        raise InvalidInput(f"{len(problems)} problems; nothing was changed", problems)
    await scheme_store.set_applicability(session, tree, changes, actor=actor(key))
    return _scheme_out(await scheme_store.get_tree(session, scheme_id))


@router.post(
    "/schemes/{scheme_id}/assessments",
    response_model=s.AssessmentsWritten,
    responses={
        403: {"description": "a row the key may not score; nothing written"},
        422: {"description": "every bad row listed; nothing written"},
    },
)
async def post_assessments(
    scheme_id: SchemeId,
    request: Request,
    body: s.AssessmentsPost,
    session: WriteSessionDep,
    key: Annotated[ApiKey, Depends(allow(Action.SCORE_ITEMS))],
    idempotency_key: Annotated[str | None, Header(max_length=idempotency.HEADER_MAX)] = None,
) -> s.AssessmentsWritten | JSONResponse:
    resend = idempotency.start(key, idempotency_key, request.url.path, await request.body())
    if (replayed := await idempotency.replay(session, resend)) is not None:
        return replayed
    tree = await scheme_store.get_tree(session, scheme_id)
    rows = [
        assess.AssessmentIn(
            org=x.org,
            period=x.period,
            method=x.method,
            item=x.item,
            points=s.decimal(x.points),
            score=s.decimal(x.score),
            note=x.note,
            source=x.source,
            reason=x.reason,
        )
        for x in body.assessments
    ]
    written = await score_store.write_assessments(session, tree, rows, key=key, actor=actor(key))
    result = s.AssessmentsWritten(ids=written.ids, submitted=written.submitted, verified=written.verified)
    await idempotency.remember(session, resend, key, result.model_dump())
    return result


_HALF_YEAR = r"^\d{4}H[12]$"


@router.get("/schemes/{scheme_id}/assessments", response_model=s.AssessmentList, dependencies=[Depends(get_reader)])
async def list_assessments(
    scheme_id: SchemeId,
    session: ReadSessionDep,
    status: Annotated[AssessmentStatus | None, Query(description="submitted: the 专班's queue to verify")] = None,
    org: Annotated[str | None, Query(max_length=24, description="the unit assessed")] = None,
    lead: Annotated[str | None, Query(max_length=24, description="the lead unit that entered them")] = None,
    period: Annotated[str | None, Query(pattern=_HALF_YEAR, description="a half-year: 2022H1 or 2022H2")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> s.AssessmentList:
    """The scheme's entries, oldest first: a lead unit's points and whether they are verified or returned (with
    the reason), the 专班's queue (`status=submitted`). Points are read as a score's explanation shows them."""
    tree = await scheme_store.get_tree(session, scheme_id)
    # An unknown unit is a 404 naming it, not an empty list.
    org_id = None if org is None else (await org_store.get_by_code(session, org)).id
    lead_id = None if lead is None else (await org_store.get_by_code(session, lead)).id
    which = score_store.EntryFilter(status=status, org_id=org_id, lead_id=lead_id, period=period)
    total, page = await score_store.list_entries(session, tree, which, limit=limit, offset=offset)
    return s.AssessmentList(total=total, assessments=[s.AssessmentListed(**explain.listed_entry(e)) for e in page])


async def _review(
    assessment_id: int, body: s.ReviewBody | None, session: WriteSessionDep, key: ApiKey, verify: bool
) -> s.AssessmentOut:
    row = await score_store.get_assessment(session, assessment_id)
    tree = await scheme_store.get_tree(session, row.scheme_id)
    await score_store.require_jurisdiction(session, key, tree, Action.VERIFY)
    row = await score_store.review(session, row, verify=verify, reason=body.reason if body else None, actor=actor(key))
    return s.AssessmentOut(id=row.id, status=row.status, return_reason=row.return_reason, verified_by=row.verified_by)


@router.post("/assessments/{assessment_id}/verify", response_model=s.AssessmentOut)
async def verify_assessment(
    assessment_id: SchemeId, session: WriteSessionDep, key: Annotated[ApiKey, Depends(allow(Action.VERIFY))]
) -> s.AssessmentOut:
    return await _review(assessment_id, None, session, key, verify=True)


@router.post("/assessments/{assessment_id}/return", response_model=s.AssessmentOut)
async def return_assessment(
    assessment_id: SchemeId,
    body: s.ReviewBody,
    session: WriteSessionDep,
    key: Annotated[ApiKey, Depends(allow(Action.VERIFY))],
) -> s.AssessmentOut:
    return await _review(assessment_id, body, session, key, verify=False)


def _publication_out(p: Publication) -> s.PublicationOut:
    return s.PublicationOut(
        scheme=p.scheme_id,
        period=p.period,
        version=p.version,
        published_at=clock.in_shanghai(p.published_at).isoformat(),
        published_by=p.published_by,
        sha256=p.sha256,
    )


@router.post("/schemes/{scheme_id}/publications", response_model=s.PublicationOut)
async def publish(
    scheme_id: SchemeId,
    body: s.PublicationPost,
    session: WriteSessionDep,
    settings: SettingsDep,
    key: Annotated[ApiKey, Depends(allow(Action.PUBLISH))],
) -> s.PublicationOut:
    tree = await scheme_store.get_tree(session, scheme_id)
    await score_store.require_jurisdiction(session, key, tree, Action.PUBLISH)
    if tree.maxima.problems:
        raise InvalidInput("the scheme's points do not add up: " + "; ".join(p.message for p in tree.maxima.problems))
    published = await publication_store.publish(
        session, tree, body.period, normalise=settings.scoring.normalise_to_applicable, actor=actor(key)
    )
    return _publication_out(published)


@router.get(
    "/schemes/{scheme_id}/publications", response_model=list[s.PublicationOut], dependencies=[Depends(get_reader)]
)
async def list_publications(scheme_id: SchemeId, session: ReadSessionDep) -> list[s.PublicationOut]:
    await scheme_store.get_tree(session, scheme_id)  # 404 for an unknown scheme
    return [_publication_out(p) for p in await publication_store.list_publications(session, scheme_id)]


@router.post("/schemes/{scheme_id}/automatic", response_model=s.AssessmentsWritten)
async def score_automatic(
    scheme_id: SchemeId,
    body: s.PublicationPost,
    session: WriteSessionDep,
    settings: SettingsDep,
    key: Annotated[ApiKey, Depends(allow(Action.SCORE_AUTOMATIC))],
) -> s.AssessmentsWritten:
    """Submit monitoring points of the items linked to an indicator (max × achievement), for the 专班 to verify."""
    tree = await scheme_store.get_tree(session, scheme_id)
    if key.role == policy.Role.ADMIN:
        await score_store.require_jurisdiction(session, key, tree, Action.SCORE_AUTOMATIC)
        only_lead = None
    else:
        only_lead = tree.code_of(key.org_id)
    ids = await automatic.score_linked_items(
        session, tree, body.period, scoring=settings.scoring, only_lead=only_lead, actor=actor(key)
    )
    return s.AssessmentsWritten(ids=ids, submitted=len(ids), verified=0)
