"""All SQL about publications: freezing a scheme period's result into stored bytes, and reading them back.

A publication stores the snapshot (inputs, scheme version, targets behind automatic points, time) and the
documents served later — each ranking as JSON and XLSX, each unit's explained score — so later edits of
assessments cannot change what was published. Publishing again makes the next version; all stay readable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core import clock
from shared.core.errors import NotFound
from shared.publications.models import Publication, PublicationDocument
from shared.revisions import store as revisions
from shared.schemes.store import SchemeTree
from shared.schemes.types import RankingKind
from shared.scores import explain, xlsx
from shared.scores import results as score_results
from shared.scores import store as score_store

JSON_TYPE = "application/json"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def dumps(document: Any) -> bytes:
    """Canonical JSON bytes: the same document always gives the same bytes (and hash)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def ranking_name(kind: RankingKind, fmt: str) -> str:
    return f"rankings/{kind.value}.{fmt}"


def score_name(org: str) -> str:
    return f"scores/{org}.json"


def xlsx_title(tree: SchemeTree, period: str, version: int | None) -> str:
    published = f"（第{version}版）" if version else "（实时，未发布）"
    return f"{tree.scheme.name} {period} 考评结果通报{published}"


async def live_documents(
    session: AsyncSession, tree: SchemeTree, period: str, *, normalise: bool
) -> tuple[dict[RankingKind, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Rankings per kind and every unit's explained score, computed now."""
    scores = await score_results.unit_scores(session, tree, period, normalise=normalise, itemised=True)
    rankings: dict[RankingKind, dict[str, Any]] = {}
    explained: dict[str, dict[str, Any]] = {}
    for kind in RankingKind:
        rows = score_results.ranked(tree, scores, kind)
        rankings[kind] = explain.ranking_document(tree, period, kind, rows)
        for score, rank in rows:
            explained[score.org] = explain.score_document(tree, score, rank, explain=True)
    return rankings, explained


async def publish(session: AsyncSession, tree: SchemeTree, period: str, *, normalise: bool, actor: str) -> Publication:
    rankings, explained = await live_documents(session, tree, period, normalise=normalise)
    version = 1 + (
        await session.scalar(
            select(func.coalesce(func.max(Publication.version), 0)).where(
                Publication.scheme_id == tree.scheme.id, Publication.period == period
            )
        )
        or 0
    )
    now = clock.now()
    halves = [f"{tree.scheme.year}H1", f"{tree.scheme.year}H2"] if period == str(tree.scheme.year) else [period]
    inputs = [explain.entry_document(e) for e in await score_store.entries(session, tree, set(halves))]
    snapshot = {
        "scheme": {"id": tree.scheme.id, "code": tree.scheme.code, "version": tree.scheme.version},
        "period": period,
        "version": version,
        "published_at": now.isoformat(),
        "published_by": actor,
        "normalised": normalise,
        "inputs": inputs,
        "targets_used": [e["basis"] for e in inputs if e["basis"]],
        "rankings": {k.value: v for k, v in rankings.items()},
        "scores": explained,
    }
    content = dumps(snapshot)
    publication = Publication(
        scheme_id=tree.scheme.id,
        period=period,
        version=version,
        published_at=now,
        published_by=actor,
        sha256=hashlib.sha256(content).hexdigest(),
    )
    session.add(publication)
    await session.flush()
    await revisions.changed(session)
    docs = {"snapshot.json": (JSON_TYPE, content)}
    for kind, ranking in rankings.items():
        ranking = {**ranking, "publication": {"version": version, "published_at": now.isoformat()}}
        docs[ranking_name(kind, "json")] = (JSON_TYPE, dumps(ranking))
        docs[ranking_name(kind, "xlsx")] = (XLSX_TYPE, xlsx.ranking_xlsx(ranking, xlsx_title(tree, period, version)))
    for org, doc in explained.items():
        docs[score_name(org)] = (JSON_TYPE, dumps({**doc, "publication": {"version": version}}))
    session.add_all(
        PublicationDocument(publication_id=publication.id, name=name, media_type=media, content=body)
        for name, (media, body) in docs.items()
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="publish",
        entity="publication",
        entity_key=f"{tree.scheme.id}:{period}:v{version}",
        after={"sha256": publication.sha256, "documents": len(docs)},
    )
    return publication


async def list_publications(session: AsyncSession, scheme_id: int) -> Sequence[Publication]:
    rows = await session.execute(
        select(Publication).where(Publication.scheme_id == scheme_id).order_by(Publication.period, Publication.version)
    )
    return rows.scalars().all()


async def document(session: AsyncSession, scheme_id: int, period: str, version: int, name: str) -> PublicationDocument:
    """One stored document of a publication, by name (rankings/county.json, scores/<org>.json, snapshot.json)."""
    row = await session.scalar(
        select(PublicationDocument)
        .join(Publication, Publication.id == PublicationDocument.publication_id)
        .where(
            Publication.scheme_id == scheme_id,
            Publication.period == period,
            Publication.version == version,
            PublicationDocument.name == name,
        )
    )
    if row is None:
        raise NotFound(
            f"no published {name} for scheme {scheme_id}, {period}, version {version}; "
            f"GET /v1/schemes/{scheme_id}/publications lists what was published"
        )
    return row
