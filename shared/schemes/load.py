"""Loading a scheme file (validated first: weights sum to 1, every level adds up): `make seed` loads the data files
beside this module. A loaded version is never rewritten — a changed scheme is a new version."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core.errors import InvalidInput, NotFound, Problem
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit, OrgUnitPath
from shared.schemes import deadlines
from shared.schemes import rules as scheme_rules
from shared.schemes.models import (
    Scheme,
    SchemeGroup,
    SchemeItem,
    SchemeItemLead,
    SchemeMethod,
    SchemeSection,
    SchemeUnit,
)
from shared.schemes.types import MethodKind, RankingKind

SCHEME_DIR = Path(__file__).parent


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _defs(sections: Sequence[dict[str, Any]]) -> list[scheme_rules.SectionDef]:
    return [
        scheme_rules.SectionDef(
            str(s["number"]),
            Decimal(str(s["points"])),
            [
                scheme_rules.GroupDef(
                    str(g["number"]),
                    [scheme_rules.ItemDef(int(i["number"]), _decimal(i.get("points"))) for i in g["items"]],
                    _decimal(g.get("points")),
                )
                for g in s["groups"]
            ],
        )
        for s in sections
    ]


def check_spec(spec: dict[str, Any]) -> list[Problem]:
    """Everything wrong with a scheme file's numbers: weights not summing to 1, levels not adding up."""
    weights = {str(m["code"]): Decimal(str(m["weight"])) for m in spec["methods"]}
    problems = scheme_rules.weight_problems(weights)
    problems += [
        Problem(f"method kind '{m['kind']}' is not one of {', '.join(MethodKind)}", field=f"methods.{m['code']}")
        for m in spec["methods"]
        if m["kind"] not in set(MethodKind)
    ]
    numbers = [int(i["number"]) for s in spec["sections"] for g in s["groups"] for i in g["items"]]
    if len(set(numbers)) != len(numbers):
        problems.append(Problem("item numbers repeat", field="sections"))
    return problems + scheme_rules.maxima(_defs(spec["sections"])).problems


def read_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((SCHEME_DIR / name).read_text(encoding="utf-8"))
    return spec


async def load_scheme(session: AsyncSession, spec: dict[str, Any], *, actor: str) -> tuple[Scheme, bool]:
    """Create a scheme version from its file; returns (scheme, created). A loaded version is never rewritten:
    a changed scheme is a new version, so published results keep the scheme they were computed from."""
    problems = check_spec(spec)
    if problems:
        raise InvalidInput(f"scheme {spec.get('code')}: " + "; ".join(p.message for p in problems), problems)
    version = int(spec.get("version", 1))
    found = await session.execute(select(Scheme).where(Scheme.code == spec["code"], Scheme.version == version))
    existing = found.scalar_one_or_none()
    if existing is not None:
        return existing, False
    jurisdiction = await org_store.get_by_code(session, str(spec["jurisdiction"]))
    verifier = await _unit_named(session, spec["verifier"]) if spec.get("verifier") else None
    scheme = Scheme(
        code=spec["code"],
        name=spec["name"],
        jurisdiction_id=jurisdiction.id,
        year=int(spec["year"]),
        version=version,
        seed_file=spec.get("seed_file"),
        verifier_id=verifier.id if verifier else None,
    )
    session.add(scheme)
    await session.flush()
    for position, m in enumerate(spec["methods"]):
        session.add(
            SchemeMethod(
                scheme_id=scheme.id,
                code=m["code"],
                name=m["name"],
                weight=Decimal(str(m["weight"])),
                kind=m["kind"],
                position=position,
            )
        )
    lead_ids = await _add_sections(session, scheme, spec["sections"])
    await _add_units(session, scheme, jurisdiction, lead_ids, spec.get("assessed") or {})
    await audit.record(
        session,
        actor=actor,
        action="create",
        entity="scheme",
        entity_key=f"{scheme.code} v{version}",
        after={"name": scheme.name, "year": scheme.year},
    )
    return scheme, True


async def _unit_named(session: AsyncSession, name: str) -> OrgUnit:
    unit = await org_store.find_by_name(session, name)
    if unit is None:
        raise NotFound(f"the scheme names the unit '{name}', which is neither a unit's name nor an alias")
    return unit


async def _add_sections(session: AsyncSession, scheme: Scheme, sections: Sequence[dict[str, Any]]) -> set[int]:
    lead_ids: set[int] = set()
    for s_pos, s in enumerate(sections):
        section = SchemeSection(
            scheme_id=scheme.id,
            position=s_pos,
            number=str(s["number"]),
            title=s["title"],
            points=Decimal(str(s["points"])),
        )
        session.add(section)
        await session.flush()
        for g_pos, g in enumerate(s["groups"]):
            group = SchemeGroup(
                section_id=section.id,
                position=g_pos,
                number=str(g["number"]),
                title=g["title"],
                points=_decimal(g.get("points")),
            )
            session.add(group)
            await session.flush()
            for i in g["items"]:
                lead_ids |= await _add_item(session, scheme, group, i)
    return lead_ids


async def _add_item(session: AsyncSession, scheme: Scheme, group: SchemeGroup, spec: dict[str, Any]) -> set[int]:
    deadline = spec.get("deadline")
    item = SchemeItem(
        scheme_id=scheme.id,
        group_id=group.id,
        number=int(spec["number"]),
        text=spec["text"],
        points=_decimal(spec.get("points")),
        deadline_text=deadline,
        due_date=deadlines.due_date(deadline, scheme.year),
        indicator_code=spec.get("indicator"),
    )
    session.add(item)
    await session.flush()
    ids: set[int] = set()
    for position, name in enumerate(spec.get("lead_units") or []):
        unit = await _unit_named(session, name)
        if unit.id not in ids:  # 市文旅局 and 市文旅广电局 are one unit
            session.add(SchemeItemLead(item_id=item.id, org_id=unit.id, position=position, seed_name=name))
            ids.add(unit.id)
    return ids


async def _add_units(
    session: AsyncSession, scheme: Scheme, jurisdiction: OrgUnit, lead_ids: set[int], assessed: dict[str, Any]
) -> None:
    """一、考评对象: the county-level units under the jurisdiction, and the departments that lead items."""
    units: dict[int, RankingKind] = {}
    county = assessed.get("county")
    if county is not None:
        rows = await session.execute(
            select(OrgUnit.id)
            .join(OrgUnitPath, OrgUnitPath.descendant_id == OrgUnit.id)
            .where(OrgUnitPath.ancestor_id == jurisdiction.id, OrgUnit.level == county.get("level", "county"))
            .where(OrgUnit.kind.in_(("region", "zone")), OrgUnit.valid_to.is_(None))
        )
        units.update({i: RankingKind.COUNTY for i in rows.scalars()})
    if (assessed.get("department") or {}).get("lead_units"):
        units.update({i: RankingKind.DEPARTMENT for i in lead_ids})
    for name in (assessed.get("department") or {}).get("also") or []:
        units[(await _unit_named(session, name)).id] = RankingKind.DEPARTMENT
    for org_id, kind in units.items():
        session.add(SchemeUnit(scheme_id=scheme.id, org_id=org_id, ranking_kind=kind))
    await session.flush()


SEED_SCHEMES = ("baotou_2022.yaml",)


async def load_seed_schemes(session: AsyncSession, *, actor: str) -> int:
    """Load the schemes shipped as data files (make seed); returns how many versions were created."""
    created = 0
    for name in SEED_SCHEMES:
        _, new = await load_scheme(session, read_spec(name), actor=actor)
        created += new
    return created
