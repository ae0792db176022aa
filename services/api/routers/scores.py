"""GET /v1/scores and GET /v1/rankings: computed live from verified assessments, or — with `version=` — served
from the stored bytes of a publication (通报), which later edits cannot change."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.api.deps import ReadSessionDep, SettingsDep
from services.api.schemas import schemes as s
from shared.core.errors import InvalidInput, Problem
from shared.publications import store as publication_store
from shared.publications.models import PublicationDocument
from shared.schemes import store as scheme_store
from shared.schemes.types import RankingKind
from shared.scores import explain, xlsx
from shared.scores import results as score_results

router = APIRouter(tags=["scores"])

SchemeQuery = Annotated[int, Query(ge=1, le=2**31 - 1, description="scheme id (GET /v1/schemes)")]
PeriodQuery = Annotated[str, Query(max_length=8, description="2022H1, 2022H2 or 2022 (annual)")]
VersionQuery = Annotated[int | None, Query(ge=1, le=10_000, description="a published version; omitted = live")]


def _stored(doc: PublicationDocument, filename: str | None = None) -> Response:
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"} if filename else None
    return Response(doc.content, media_type=doc.media_type, headers=headers)


@router.get("/scores", response_model=s.ScoreOut)
async def get_score(
    session: ReadSessionDep,
    settings: SettingsDep,
    scheme: SchemeQuery,
    period: PeriodQuery,
    org: Annotated[str, Query(max_length=24, description="the unit assessed")],
    explain_tree: Annotated[bool, Query(alias="explain", description="items, points, who gave them")] = False,
    version: VersionQuery = None,
) -> s.ScoreOut | Response:
    if version is not None:
        stored = await publication_store.document(session, scheme, period, version, publication_store.score_name(org))
        return _stored(stored)
    tree = await scheme_store.get_tree(session, scheme)
    if org not in tree.units:
        raise InvalidInput(
            f"'{org}' is not a unit assessed by scheme {scheme}; GET /v1/schemes/{scheme} lists them",
            [Problem("not assessed by this scheme", field="org")],
        )
    normalise = settings.scoring.normalise_to_applicable
    ranks = await score_results.ranking(session, tree, period, tree.units[org][1], normalise=normalise)
    rank = next(r for x, r in ranks if x.org == org)
    if explain_tree:
        one = await score_results.unit_scores(session, tree, period, normalise=normalise, orgs=[org], itemised=True)
        score = one[org]
    else:
        score = next(x for x, _ in ranks if x.org == org)
    return s.ScoreOut.model_validate(explain.score_document(tree, score, rank, explain=explain_tree))


@router.get(
    "/rankings",
    response_model=s.RankingOut,
    responses={200: {"content": {publication_store.XLSX_TYPE: {}}, "description": "JSON, or the 通报 as XLSX"}},
)
async def get_ranking(
    session: ReadSessionDep,
    settings: SettingsDep,
    scheme: SchemeQuery,
    period: PeriodQuery,
    kind: Annotated[RankingKind, Query(description="county: 旗县区 and 稀土高新区; department: 各部门")],
    format: Annotated[Literal["json", "xlsx"], Query(description="json, or xlsx for the 通报 table")] = "json",
    version: VersionQuery = None,
) -> s.RankingOut | Response:
    filename = f"ranking-{scheme}-{period}-{kind.value}{f'-v{version}' if version else ''}.{format}"
    if version is not None:
        name = publication_store.ranking_name(kind, format)
        stored = await publication_store.document(session, scheme, period, version, name)
        return _stored(stored, filename if format == "xlsx" else None)
    tree = await scheme_store.get_tree(session, scheme)
    rows = await score_results.ranking(session, tree, period, kind, normalise=settings.scoring.normalise_to_applicable)
    document = explain.ranking_document(tree, period, kind, rows)
    if format == "xlsx":
        body = xlsx.ranking_xlsx(document, publication_store.xlsx_title(tree, period, None))
        return Response(
            body,
            media_type=publication_store.XLSX_TYPE,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
        )
    # The document is the one a publication stores, already in the schema's shape: sent as its canonical bytes.
    return Response(publication_store.dumps(document), media_type="application/json")
