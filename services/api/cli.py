"""Operator commands of the API process: serve; create / revoke / list API keys (printed once); import an
official division list into the org tree (org-units import); compare the pre-aggregates with the raw figures
or rebuild them (preaggregates check | rebuild)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from services.api.main import create_app
from shared.access import store as access_store
from shared.access.models import ROLES
from shared.core import clock
from shared.core.db import make_engine, make_sessionmaker
from shared.core.errors import ScorecardError
from shared.core.settings import Settings, get_settings
from shared.observations import org_tree, preaggregate

OPERATOR = "operator-cli"


# A key's name is stored in the pushes it makes (observations.source = "push:<name>", String(64)).
MAX_KEY_NAME = 64 - len("push:")


def _key_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("give the key a name, e.g. the platform it is for")
    if len(text) > MAX_KEY_NAME:
        raise argparse.ArgumentTypeError(f"{len(text)} characters is too long; at most {MAX_KEY_NAME}")
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.api")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the API (default)")
    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, type=_key_name, help=f"at most {MAX_KEY_NAME} characters")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--org", help="org unit code the key acts for (integration, assessor)")
    revoke = keys.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    keys.add_parser("list", help="list keys (prefix, name, role, org, revoked)")
    units = sub.add_parser("org-units", help="manage the org tree").add_subparsers(dest="action", required=True)
    imp = units.add_parser("import", help="import an official division CSV (code,name,level,parent_code)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--prefix", help="import only this unit's subtree, e.g. 150200 (包头市)")
    pre = sub.add_parser("preaggregates", help="the monthly pre-aggregates (observation_months, rollup_months)")
    pre_action = pre.add_subparsers(dest="action", required=True)
    pre_action.add_parser("check", help="compare every pre-aggregate with the raw figures; exit 1 on a difference")
    pre_action.add_parser("rebuild", help="rebuild every pre-aggregate from the raw figures")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"configuration error (see docs/SETTINGS.md):\n{exc}")
        return 2
    if args.command in (None, "serve"):
        uvicorn.run(
            create_app(settings), host=settings.api.host, port=settings.api.port, log_level="info", proxy_headers=False
        )
        return 0
    try:
        if args.command == "preaggregates":
            return asyncio.run(_preaggregates(settings, args.action))
        asyncio.run(_org_units(settings, args) if args.command == "org-units" else _keys(settings, args))
    except ScorecardError as exc:
        print(f"error: {exc.message}")
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        if args.command != "org-units":
            raise
        print(f"error: cannot read {args.file}: {exc}")
        return 2
    return 0


async def _org_units(settings: Settings, args: argparse.Namespace) -> None:
    """Idempotent: a second import of the same file changes nothing and says so. One transaction: a bad row
    leaves the tree as it was."""
    text = Path(args.file).read_text(encoding="utf-8-sig")
    scope = f" (subtree of {args.prefix})" if args.prefix else ""
    print(f"importing {args.file}{scope} …", flush=True)
    engine = make_engine(settings.db, "scorecard-cli")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            change = await org_tree.import_divisions(session, text, prefix=args.prefix, today=clock.today())
    finally:
        await engine.dispose()
    if change.changed:
        print(f"org units imported: {change.summary()}; roll-ups rebuilt")
    else:
        print(f"nothing changed: {change.unchanged} units already as in the file")


async def _preaggregates(settings: Settings, action: str) -> int:
    """check: read-only, lists each differing row (at most 50) and exits 1 if any; rebuild: one transaction."""
    engine = make_engine(settings.db, "scorecard-cli")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if action == "rebuild":
                await preaggregate.rebuild_all(session)
                print("pre-aggregates rebuilt from the raw figures")
                return 0
            found = await preaggregate.check(session)
    finally:
        await engine.dispose()
    for d in found[:50]:
        print(f"{d.table} {d.indicator} {d.org} {d.month}: stored {d.stored}, raw figures give {d.expected}")
    if found:
        print(f"{len(found)} pre-aggregate rows differ from the raw figures; "
              "`python -m services.api preaggregates rebuild` repairs them")
        return 1
    print("pre-aggregates agree with the raw figures")
    return 0


async def _keys(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(settings.db, "scorecard-cli")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if args.action == "create":
                row, plaintext = await access_store.create_key(
                    session,
                    name=args.name,
                    role=args.role,
                    org=args.org,
                    pepper=settings.api.key_pepper,
                    actor=OPERATOR,
                )
                print(f"created key {row.prefix} ({row.role}) — store it now, it is not shown again:")
                print(plaintext)
            elif args.action == "revoke":
                row = await access_store.revoke_key(session, prefix=args.prefix, actor=OPERATOR)
                print(f"revoked key {row.prefix} ({row.name})")
            else:
                for k in await access_store.list_keys(session):
                    state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
                    print(f"{k.prefix}  {k.role:<11} {k.name:<30} {state}")
    finally:
        await engine.dispose()
