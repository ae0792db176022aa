"""GET /v1/scores and GET /v1/rankings: computed live from verified assessments, or — with `version=` — served
from the stored bytes of a publication (通报), which later edits cannot change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import Database
from services.api.schemas import schemes as s
from shared.core.cache import BytesCache
from shared.core.errors import InvalidInput, Problem
from shared.core.settings import Settings
from shared.publications import store as publication_store
from shared.schemes import store as scheme_store
from shared.schemes.types import RankingKind
from shared.scores import explain, xlsx
from shared.scores import results as score_results

router = APIRouter(tags=["scores"])

SchemeQuery = Annotated[int, Query(ge=1, le=2**31 - 1, description="scheme id (GET /v1/schemes)")]
PeriodQuery = Annotated[str, Query(max_length=8, description="2022H1, 2022H2 or 2022 (annual)")]
VersionQuery = Annotated[int | None, Query(ge=1, le=10_000, description="a published version; omitted = live")]


@dataclass(frozen=True)
class _Context:
    db: Database
    settings: Settings
    cache: BytesCache


async def _context(request: Request) -> _Context:
    """The app's database, settings and computed answers — one dependency, as each one FastAPI resolves costs on
    every request."""
    state = request.app.state
    return _Context(state.db, state.settings, state.answers)


ContextDep = Annotated[_Context, Depends(_context)]


def answer(body: bytes, fmt: str = "json", filename: str | None = None) -> Response:
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"} if filename else None
    media_type = publication_store.XLSX_TYPE if fmt == "xlsx" else "application/json"
    return Response(body, media_type=media_type, headers=headers)


def _reading(db: Database) -> AsyncSession:
    """A read session, opened only when an answer is not in memory."""
    return (db.readers or db.sessions)()


def published_key(scheme: int, period: str, version: int, name: str) -> tuple[Any, ...]:
    """Where a published document's bytes are kept (also read by services/api/kept.py)."""
    return ("published", scheme, period, version, name)


def ranking_filename(scheme: int, period: str, kind: RankingKind, fmt: str, version: int | None) -> str:
    return f"ranking-{scheme}-{period}-{kind.value}{f'-v{version}' if version else ''}.{fmt}"


async def _published(db: Database, cache: BytesCache, scheme: int, period: str, version: int, name: str) -> bytes:
    """A published document's bytes: read once, then from memory (a publication never changes)."""
    key = published_key(scheme, period, version, name)
    body = cache.get(key)
    if body is None:
        async with _reading(db) as session:
            body = (await publication_store.document(session, scheme, period, version, name)).content
        cache.put(key, body)
    return body


async def _live(
    ctx: _Context, scheme: int, asked: tuple[Any, ...], build: Callable[[AsyncSession], Awaitable[bytes]]
) -> bytes:
    """A computed answer: from memory when the scheme's revision (read first) is the one it was computed at."""
    async with _reading(ctx.db) as session:
        key = (scheme, await scheme_store.revision(session, scheme), *asked)
        body = ctx.cache.get(key)
        if body is None:
            body = await build(session)
            ctx.cache.put(key, body)
    return body


@router.get("/scores", response_model=s.ScoreOut)
async def get_score(
    ctx: ContextDep,
    scheme: SchemeQuery,
    period: PeriodQuery,
    org: Annotated[str, Query(max_length=24, description="the unit assessed")],
    explain_tree: Annotated[bool, Query(alias="explain", description="items, points, who gave them")] = False,
    version: VersionQuery = None,
) -> Response:
    db, cache = ctx.db, ctx.cache
    if version is not None:
        return answer(await _published(db, cache, scheme, period, version, publication_store.score_name(org)))
    normalise = ctx.settings.scoring.normalise_to_applicable

    async def build(session: AsyncSession) -> bytes:
        document = await _score_document(session, scheme, period, org, explain_tree, normalise)
        return publication_store.dumps(document)

    return answer(await _live(ctx, scheme, ("score", period, org, explain_tree, normalise), build))


async def _score_document(
    session: AsyncSession, scheme: int, period: str, org: str, explain_tree: bool, normalise: bool
) -> dict[str, Any]:
    tree = await scheme_store.get_tree(session, scheme)
    if org not in tree.units:
        raise InvalidInput(
            f"'{org}' is not a unit assessed by scheme {scheme}; GET /v1/schemes/{scheme} lists them",
            [Problem("not assessed by this scheme", field="org")],
        )
    ranks = await score_results.ranking(session, tree, period, tree.units[org][1], normalise=normalise)
    rank = next(r for x, r in ranks if x.org == org)
    if explain_tree:
        one = await score_results.unit_scores(session, tree, period, normalise=normalise, orgs=[org], itemised=True)
        score = one[org]
    else:
        score = next(x for x, _ in ranks if x.org == org)
    return explain.score_document(tree, score, rank, explain=explain_tree)


@router.get(
    "/rankings",
    response_model=s.RankingOut,
    responses={200: {"content": {publication_store.XLSX_TYPE: {}}, "description": "JSON, or the 通报 as XLSX"}},
)
async def get_ranking(
    ctx: ContextDep,
    scheme: SchemeQuery,
    period: PeriodQuery,
    kind: Annotated[RankingKind, Query(description="county: 旗县区 and 稀土高新区; department: 各部门")],
    format: Annotated[Literal["json", "xlsx"], Query(description="json, or xlsx for the 通报 table")] = "json",
    version: VersionQuery = None,
) -> Response:
    filename = ranking_filename(scheme, period, kind, format, version)
    attachment = filename if format == "xlsx" else None
    db, cache = ctx.db, ctx.cache
    if version is not None:
        name = publication_store.ranking_name(kind, format)
        return answer(await _published(db, cache, scheme, period, version, name), format, attachment)
    normalise = ctx.settings.scoring.normalise_to_applicable

    async def build(session: AsyncSession) -> bytes:
        return await _ranking_body(session, scheme, period, kind, format, normalise)

    body = await _live(ctx, scheme, ("ranking", period, kind, format, normalise), build)
    return answer(body, format, attachment)


async def _ranking_body(
    session: AsyncSession, scheme: int, period: str, kind: RankingKind, fmt: str, normalise: bool
) -> bytes:
    tree = await scheme_store.get_tree(session, scheme)
    rows = await score_results.ranking(session, tree, period, kind, normalise=normalise)
    document = explain.ranking_document(tree, period, kind, rows)
    if fmt == "xlsx":
        return xlsx.ranking_xlsx(document, publication_store.xlsx_title(tree, period, None))
    return publication_store.dumps(document)  # the document a publication stores, as its canonical bytes
