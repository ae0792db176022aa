"""Loads the seed catalogues (org tree, plans, indicators, targets) from the YAML files beside this module.

Idempotent: a second load changes nothing. `python -m shared.seeds.load` runs it on the settings' database.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import get_settings
from shared.indicators import store as indicator_store
from shared.observations import org_tree
from shared.org_units import divisions
from shared.org_units import store as org_store
from shared.schemes import load as scheme_load
from shared.targets import rules as target_rules
from shared.targets import store as target_store
from shared.targets.resolve import TargetRow

SEED_DIR = Path(__file__).parent
ACTOR = "seed-loader"
_INDICATOR_FIELDS = (
    "name",
    "seed_name",
    "annex_name",
    "category",
    "unit",
    "calculation",
    "numerator_label",
    "denominator_label",
    "measure",
    "factor",
    "max_figure",
    "whole_numbers",
    "time_aggregation",
    "rollup",
    "direction",
    "property",
    "responsible_unit",
    "inferred",
)


def _read(name: str) -> Any:
    return yaml.safe_load((SEED_DIR / name).read_text(encoding="utf-8"))


async def load_all(session: AsyncSession) -> dict[str, int]:
    """Load every seed file; returns how many rows were inserted or changed per kind."""
    units, aliases = org_specs()
    # Through org_tree so that the region-level roll-ups of existing figures follow a changed tree.
    tree = await org_tree.change_tree(session, units, aliases=aliases, today=clock.today())
    counts = {"org_units": tree.added + tree.updated, "plans": 0, "indicators": 0, "targets": 0}
    catalogue = _read("indicators.yaml")
    plans = {p["code"]: p for p in catalogue["plans"]}
    for code, p in plans.items():
        jurisdiction = await org_store.get_by_code(session, str(p["jurisdiction"]))
        issued = p.get("issued")
        counts["plans"] += await indicator_store.upsert_plan(
            session,
            code,
            {
                "name": p["name"],
                "jurisdiction_id": jurisdiction.id,
                "seed_file": p.get("seed_file"),
                "issued_date": issued if isinstance(issued, date) or issued is None else date.fromisoformat(issued),
                "baseline_year": p.get("baseline_year"),
            },
        )
    for spec in catalogue["indicators"] + _read("product_indicators.yaml")["indicators"]:
        await indicator_store.upsert_indicator(session, spec["code"], _indicator_fields(spec))
        counts["indicators"] += 1
        plan = plans.get(spec.get("plan") or "")
        if plan is not None:
            counts["targets"] += await _load_targets(session, spec, plan)
    counts["report_levels"] = await indicator_store.put_report_levels(
        session, _read("indicator_reporting.yaml")["reporting"]
    )
    counts["schemes"] = await scheme_load.load_seed_schemes(session, actor=ACTOR)
    return counts


def org_specs() -> tuple[list[org_store.UnitSpec], list[org_store.AliasSpec]]:
    """The seeded tree: the chosen rows of the official division list (org_units.yaml), then the departments
    (departments.yaml), parents first; and every alias."""
    conf = _read("org_units.yaml")
    rows = divisions.parse((SEED_DIR / conf["divisions_file"]).read_text(encoding="utf-8"))
    alone, trees = {str(c) for c in conf["units"]}, [str(c) for c in conf["trees"]]
    chosen = [d for d in rows if d.code in alone or any(divisions.within(d.code, root) for root in trees)]
    units = org_tree.unit_specs(chosen)
    aliases = [_alias(str(a["code"]), a) for a in conf.get("aliases") or []]
    depts = _read("departments.yaml")
    for d in depts["departments"]:
        units.append(org_store.UnitSpec(str(d["code"]), d["name"], "department", None, str(depts["parent"])))
        aliases += [_alias(str(d["code"]), a) for a in d.get("aliases") or []]
    return units, aliases


def _alias(code: str, a: dict[str, Any]) -> org_store.AliasSpec:
    return org_store.AliasSpec(code, a["alias"], bool(a.get("product_reading")), a.get("note"))


def _indicator_fields(spec: dict[str, Any]) -> dict[str, Any]:
    fields = {k: spec.get(k) for k in _INDICATOR_FIELDS}
    fields["plan_code"] = spec.get("plan")
    fields["factor"] = float(spec.get("factor") or 1)
    fields["whole_numbers"] = bool(spec.get("whole_numbers"))
    fields["inferred"] = list(spec.get("inferred") or [])
    return fields


async def _load_targets(session: AsyncSession, spec: dict[str, Any], plan: dict[str, Any]) -> int:
    changed = 0
    for cell in spec.get("targets") or []:
        baseline = cell["year"] == plan.get("baseline_year")
        parsed = target_rules.parse_target_cell(str(cell["cell"]), baseline=baseline)
        if parsed is None:  # "——": no target for that year
            continue
        row = TargetRow(
            indicator=spec["code"],
            org=str(plan["jurisdiction"]),
            applies_to="self",
            year=int(cell["year"]),
            half=0,
            comparator=parsed.comparator,
            number=parsed.number,
            text=parsed.text,
            baseline=parsed.baseline,
            seed_cell=str(cell["cell"]),
        )
        outcome, _ = await target_store.put_target(session, row, actor=ACTOR)
        changed += outcome != "unchanged"
    return changed


async def main() -> None:
    settings = get_settings()
    engine = make_engine(settings.db, "scorecard-seed")
    async with make_sessionmaker(engine)() as session, session.begin():
        counts = await load_all(session)
    await engine.dispose()
    print("seed catalogue loaded: " + ", ".join(f"{k} {v} changed" for k, v in counts.items()))


if __name__ == "__main__":
    asyncio.run(main())
