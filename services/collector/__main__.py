"""Collector CLI: serve | run SOURCE [--file PATH] [--date D] | backfill SOURCE --from D --to D | runs |
check-sources."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
from pydantic import ValidationError

from services.collector import scheduler
from services.collector.run import LocalFile, ingest_once
from services.collector.sources import SourceConfig, load_sources
from shared.core import clock
from shared.core.db import make_engine, make_sessionmaker
from shared.core.errors import ScorecardError
from shared.core.settings import Settings, get_settings
from shared.ingest import store as ingest_store


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.collector")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="catch up missing days, then run every source on its schedule")
    run = sub.add_parser("run", help="ingest one source once")
    run.add_argument("source")
    run.add_argument("--file", type=Path, help="read this local export instead of the source URL")
    run.add_argument("--date", type=date.fromisoformat, help="the day to fetch (default today)")
    back = sub.add_parser("backfill", help="ingest one source for every day of a range")
    back.add_argument("source")
    back.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    back.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    runs = sub.add_parser("runs", help="list recent ingest runs")
    runs.add_argument("--source")
    runs.add_argument("--limit", type=int, default=20)
    sub.add_parser("check-sources", help="validate the sources file")
    return p


def _source(sources: list[SourceConfig], source_id: str) -> SourceConfig:
    for s in sources:
        if s.id == source_id:
            return s
    raise ScorecardError(f"no source '{source_id}' in the sources file; known: {', '.join(s.id for s in sources)}")


def _print_run(run: object) -> None:
    r = run  # IngestRun
    print(f"#{getattr(r, 'id', '?')} {r.source_id} {r.for_date} {r.status}: {r.message or ''}")  # type: ignore[attr-defined]
    for e in (r.errors or [])[:20]:  # type: ignore[attr-defined]
        print(f"    row {e.get('row')} {e.get('field') or ''}: {e.get('message')}")


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    sources = load_sources(settings.collector.sources_file)
    if args.command == "check-sources":
        print(f"{settings.collector.sources_file}: {len(sources)} sources OK ({', '.join(s.id for s in sources)})")
        return 0
    engine = make_engine(settings.db, "scorecard-collector")
    sessions = make_sessionmaker(engine)
    try:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            return await _dispatch(args, settings, sources, sessions, client)
    finally:
        await engine.dispose()


async def _dispatch(args, settings, sources, sessions, client) -> int:  # type: ignore[no-untyped-def]
    if args.command == "serve":
        await scheduler.serve(sessions, sources, settings=settings, client=client)
        return 0
    if args.command == "runs":
        async with sessions() as session:
            for r in await ingest_store.list_runs(session, source_id=args.source, limit=args.limit):
                _print_run(r)
        return 0
    source = _source(sources, args.source)
    if args.command == "run":
        if args.file and not args.file.is_file():
            raise ScorecardError(f"--file {args.file}: no such file")
        local = LocalFile(args.file, args.file.name) if args.file else None
        run = await ingest_once(
            sessions, source, day=args.date or clock.today(), settings=settings, client=client, local=local
        )
        _print_run(run)
        return 0 if run.status != "failed" else 1
    days = (args.end - args.start).days + 1
    failed = 0
    for n in range(days):
        day = args.start + timedelta(days=n)
        run = await ingest_once(sessions, source, day=day, settings=settings, client=client)
        failed += run.status == "failed"
        print(f"[{n + 1}/{days}] ", end="")
        _print_run(run)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_main(args, get_settings()))
    except ValidationError as exc:
        print(f"configuration error (see docs/SETTINGS.md):\n{exc}", file=sys.stderr)
        return 2
    except ScorecardError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for d in exc.details_json():
            print(f"  - {d}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
