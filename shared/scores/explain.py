"""Scores as documents (JSON-ready dicts): the same bytes whether served live or from a publication.

Numbers are shown rounded (total to 2 decimals, half up) with the exact fraction beside them where the two differ,
so every number can be traced: items → sections → methods → total."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from shared.core import clock
from shared.schemes.store import SchemeTree
from shared.schemes.types import RankingKind
from shared.scores import compute, wording


def number(x: Fraction | None, places: int = 2) -> float | None:
    shown = compute.shown(x, places)
    return None if shown is None else float(shown)


def exact(x: Fraction | None) -> str | None:
    return None if x is None else str(x)


def entry_document(e: compute.Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "lead_unit": e.lead,
        "points": exact(e.points),
        "score": exact(e.score),
        "status": e.status,
        "entered_by": e.entered_by,
        "entered_at": clock.in_shanghai(e.entered_at).isoformat(),  # 北京时间, as published_at
        "verified_by": e.verified_by,
        "note": e.note,
        "source": e.source,
        "reason": e.reason,
        "automatic": e.automatic,
        "basis": e.basis,
    }


def listed_entry(e: compute.Entry) -> dict[str, Any]:
    """An entry as GET /v1/schemes/{id}/assessments lists it: what it is for, then as the explanation shows it."""
    return {"org": e.org, "period": e.period, "method": e.method, "item": e.item, **entry_document(e),
            "adjusts": e.adjusts, "return_reason": e.return_reason}  # fmt: skip


def _item(x: compute.ItemScore) -> dict[str, Any]:
    return {
        "item": x.item,
        "max_points": number(x.max_points, 4),
        "points": number(x.points, 4),
        "points_exact": exact(x.points),
        "assessed": x.assessed,
        "partly_assessed": x.partly_assessed,
        "entries": [entry_document(e) for e in x.counted],
        "adjusted": [entry_document(e) for e in x.adjusted],
        "not_counted": [entry_document(e) for e in x.not_counted],  # after the 专班's entry, which stands
    }


def _method(m: compute.MethodScore, names: dict[str, str], explain: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": m.method,
        "name": names[m.method],
        "weight": float(m.weight),
        "score": number(m.score),
        "score_exact": exact(m.score),
        "by_section": [
            {
                "section": s.number,
                "title": s.title,
                "max_points": number(s.max_points, 4),
                "applicable_max": number(s.applicable_max, 4),
                "points": number(s.points, 4),
                "score": number(s.score),
            }
            for s in m.by_section
        ],
    }
    if explain:
        out["items"] = [_item(x) for x in m.items]
        out["not_assessed"] = [x.item for x in m.items if not x.assessed]
        out["overall"] = None if m.overall is None else entry_document(m.overall)
        out["adjusted"] = [entry_document(e) for e in m.adjusted]
    return out


def score_document(
    tree: SchemeTree, score: compute.UnitScore, rank: int | None, *, explain: bool = False
) -> dict[str, Any]:
    unit, kind = tree.units[score.org]
    names = {m.code: m.name for m in tree.methods}
    return {
        "scheme": tree.scheme.id,
        "org": score.org,
        "org_name": unit.name,
        "ranking_kind": kind.value,
        "period": score.period,
        "status": score.status.value,
        "reasons": score.reasons,
        "total": number(score.total),
        "total_exact": exact(score.total),
        "rank": rank,
        "by_method": [_method(m, names, explain) for m in score.by_method],
        "halves": [
            {"period": h.period, "status": h.status.value, "total": number(h.total), "total_exact": exact(h.total)}
            for h in score.halves
        ],
    }


def ranking_document(
    tree: SchemeTree, period: str, kind: RankingKind, rows: list[tuple[compute.UnitScore, int | None]]
) -> dict[str, Any]:
    """The 通报 of one group of units: rank, unit, total, by method and, for item-based methods, by section."""
    out_rows = []
    for score, rank in rows:
        unit = tree.units[score.org][0]
        out_rows.append(
            {
                "rank": rank,
                "org": score.org,
                "org_name": unit.name,
                "status": score.status.value,
                "total": number(score.total),
                "by_method": {m.method: number(m.score) for m in score.by_method},
                "by_section": {
                    m.method: {s.number: number(s.score) for s in m.by_section} for m in score.by_method if m.by_section
                },
                "reasons": score.reasons,
                "reasons_zh": [wording.chinese(r) for r in score.reasons],  # for the 通报's readers
                "halves": {h.period: number(h.total) for h in score.halves},  # a year's: 上半年 and 下半年
            }
        )
    return {
        "scheme": tree.scheme.id,
        "scheme_version": tree.scheme.version,
        "period": period,
        "kind": kind.value,
        "methods": [{"method": m.code, "name": m.name, "weight": float(m.weight)} for m in tree.methods],
        "sections": [{"section": s.number, "title": s.title, "max_points": float(s.points)} for s in tree.sections],
        "rows": out_rows,
        "rounding": ROUNDING_NOTE,
    }


# Each column is shown rounded on its own, the total from the exact values (昆都仑区: 0.6 × 1.51 + 8.5 + 9 = 18.406
# from the columns, 18.40 from the exact 1.5075…): said on the 通报 so nobody "finds" a 0.01 error.
ROUNDING_NOTE = ("总分由各项精确分值计算后四舍五入保留两位小数；各项分值为四舍五入后的显示值，"
                 "据显示值重算的总分可能相差 0.01，以总分为准。")
