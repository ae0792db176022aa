"""Collector CLI: serve | run SOURCE [--file PATH] [--date D] | backfill SOURCE --from D --to D | runs |
check-sources. The commands are services/collector/cli.py's; `scorecard collector …` calls the same ones."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from services.collector import cli
from shared.core.cli import guarded
from shared.core.logs import configure_logging
from shared.core.settings import Settings

_print_run = cli.print_run  # its old name (tests/collector, tests/hostile)


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


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)

    def work(settings: Settings):  # type: ignore[no-untyped-def]
        configure_logging(settings.log)
        if args.command == "check-sources":
            return cli.check_sources(settings)
        if args.command == "serve":
            return cli.serve(settings)
        if args.command == "runs":
            return cli.list_runs(settings, source=args.source, limit=args.limit)
        if args.command == "run":
            return cli.run_once(settings, args.source, file=args.file, day=args.date)
        return cli.backfill(settings, args.source, start=args.start, end=args.end)

    return guarded(work)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
