"""Operator commands of the API process: serve; create / revoke / list API keys (printed once); import an
official division list into the org tree (org-units import); compare the pre-aggregates with the raw figures
or rebuild them (preaggregates check | rebuild). The commands are functions returning the exit code:
`python -m services.api` (argparse, here) and `scorecard` (scorecard/cli.py) call the same ones."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.main import create_app
from shared.access import store as access_store
from shared.access.models import ROLES
from shared.core import clock
from shared.core.cli import guarded
from shared.core.db import make_engine, make_sessionmaker
from shared.core.logs import configure_logging
from shared.core.settings import Settings
from shared.observations import org_tree, preaggregate

OPERATOR = "operator-cli"


# A key's name is stored in the pushes it makes (observations.source = "push:<name>", String(64)).
MAX_KEY_NAME = 64 - len("push:")


def _key_name(text: str) -> str:
    if (problem := key_name_problem(text)) is not None:
        raise argparse.ArgumentTypeError(problem)
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


def key_name_problem(text: str) -> str | None:
    if not text.strip():
        return "give the key a name, e.g. the platform it is for"
    if len(text) > MAX_KEY_NAME:
        return f"{len(text)} characters is too long; at most {MAX_KEY_NAME}"
    return None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)

    def work(settings: Settings):  # type: ignore[no-untyped-def]
        if args.command in (None, "serve"):
            return serve(settings)
        if args.command == "preaggregates":
            return preaggregates(settings, args.action)
        if args.command == "org-units":
            return org_units_import(settings, args.file, prefix=args.prefix)
        if args.action == "create":
            return keys_create(settings, name=args.name, role=args.role, org=args.org)
        return keys_revoke(settings, args.prefix) if args.action == "revoke" else keys_list(settings)

    return guarded(work)


def serve(settings: Settings) -> int:
    configure_logging(settings.log)
    # log_config=None: the process's logging (shared/core/logs.py) writes uvicorn's lines too; the access line is
    # the API's own (request id, route, no client address).
    uvicorn.run(
        create_app(settings), host=settings.api.host, port=settings.api.port, log_config=None, access_log=False,
        proxy_headers=False,
    )
    return 0


async def org_units_import(settings: Settings, file: Path, *, prefix: str | None = None) -> int:
    """Idempotent: a second import of the same file changes nothing and says so. One transaction: a bad row
    leaves the tree as it was."""
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {file}: {exc}", file=sys.stderr)
        return 2
    scope = f" (subtree of {prefix})" if prefix else ""
    print(f"importing {file}{scope} …", flush=True)
    async with _session(settings) as session:
        change = await org_tree.import_divisions(session, text, prefix=prefix, today=clock.today())
    if change.changed:
        print(f"org units imported: {change.summary()}; roll-ups rebuilt")
    else:
        print(f"nothing changed: {change.unchanged} units already as in the file")
    return 0


async def preaggregates(settings: Settings, action: str) -> int:
    """check: read-only, lists each differing row (at most 50) and exits 1 if any; rebuild: one transaction."""
    async with _session(settings) as session:
        if action == "rebuild":
            await preaggregate.rebuild_all(session)
            print("pre-aggregates rebuilt from the raw figures")
            return 0
        found = await preaggregate.check(session)
    for d in found[:50]:
        print(f"{d.table} {d.indicator} {d.org} {d.month}: stored {d.stored}, raw figures give {d.expected}")
    if found:
        print(f"{len(found)} pre-aggregate rows differ from the raw figures; "
              "`scorecard preaggregates rebuild` repairs them")
        return 1
    print("pre-aggregates agree with the raw figures")
    return 0


async def keys_create(settings: Settings, *, name: str, role: str, org: str | None = None) -> int:
    async with _session(settings) as session:
        row, plaintext = await access_store.create_key(
            session, name=name, role=role, org=org, pepper=settings.api.key_pepper, actor=OPERATOR
        )
    print(f"created key {row.prefix} ({row.role}) — store it now, it is not shown again:")
    print(plaintext)
    return 0


async def keys_revoke(settings: Settings, prefix: str) -> int:
    asked = clock.now()
    async with _session(settings) as session:
        row = await access_store.revoke_key(session, prefix=prefix, actor=OPERATOR)
    assert row.revoked_at is not None
    if clock.aware(row.revoked_at) < asked:  # revoking twice keeps the first time
        print(f"key {row.prefix} ({row.name}) was already revoked at {clock.in_shanghai(row.revoked_at).isoformat()}")
    else:
        print(f"revoked key {row.prefix} ({row.name})")
    return 0


async def keys_list(settings: Settings) -> int:
    async with _session(settings) as session:
        for k in await access_store.list_keys(session):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            print(f"{k.prefix}  {k.role:<11} {k.name:<30} {state}")
    return 0


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction, committed when the block ends without an error."""
    engine = make_engine(settings.db, "scorecard-cli")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()
