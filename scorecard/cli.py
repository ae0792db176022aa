"""`scorecard`: the one operator command (typer), over the commands of the API (services/api/cli.py), the
collector (services/collector/cli.py) and the simulator. The old module entry points (`python -m services.api`,
`python -m services.collector`, `python -m services.simulator`) call the same functions.

This package may import both services (they may not import each other: import-linter's independence contract).
Progress bars (rich) go to stderr; what a command prints stays on stdout. Without a terminal the bar is not
redrawn: its final state is written once, and the command's last line says what was done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from services.api import cli as api
from services.collector import cli as collector_cli
from services.simulator import __main__ as simulator_main
from shared.access.policy import Role
from shared.core.cli import guarded
from shared.core.logs import configure_logging
from shared.core.settings import Settings
from shared.ingest.models import IngestRun

app = typer.Typer(
    name="scorecard",
    help="Digital Government Scorecard (数字政府建设考评): API, keys, org tree, pre-aggregates, collector, simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys = typer.Typer(help="manage API keys", no_args_is_help=True)
org_units = typer.Typer(help="manage the org tree", no_args_is_help=True)
preaggregates = typer.Typer(
    help="the monthly pre-aggregates (observation_months, rollup_months)", no_args_is_help=True
)
collector = typer.Typer(help="the collector: schedule, runs, backfills, the sources file", no_args_is_help=True)
app.add_typer(keys, name="keys")
app.add_typer(org_units, name="org-units")
app.add_typer(preaggregates, name="preaggregates")
app.add_typer(collector, name="collector")

Work = Callable[[Settings], Coroutine[Any, Any, int] | int]
DAY = ["%Y-%m-%d"]


def main() -> None:
    app()


def _done(code: int) -> None:
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        redirect_stdout=sys.stdout.isatty(),
    )


@contextmanager
def _busy(description: str) -> Iterator[None]:
    """A bar for work with no count of its own (an import, a rebuild, one run): it moves until the work ends."""
    with _progress() as progress:
        task = progress.add_task(description, total=None)
        yield
        progress.update(task, total=1, completed=1)


def _with_logging(work: Work) -> Work:
    def run(settings: Settings) -> Coroutine[Any, Any, int] | int:
        configure_logging(settings.log)
        return work(settings)

    return run


# ---- the API ------------------------------------------------------------------------------------------------


@app.command()
def serve() -> None:
    """run the API (SCORECARD_API__HOST, SCORECARD_API__PORT)"""
    _done(guarded(api.serve))


def _key_name(text: str) -> str:
    if (problem := api.key_name_problem(text)) is not None:
        raise typer.BadParameter(problem)
    return text


@keys.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help=f"at most {api.MAX_KEY_NAME} characters", callback=_key_name)],
    role: Annotated[Role, typer.Option(help="what the key may do")],
    org: Annotated[str | None, typer.Option(help="org unit code the key acts for (integration, assessor)")] = None,
) -> None:
    """create a key and print it once"""
    _done(guarded(lambda s: api.keys_create(s, name=name, role=role.value, org=org)))


@keys.command("revoke")
def keys_revoke(prefix: str) -> None:
    """revoke a key by its prefix"""
    _done(guarded(lambda s: api.keys_revoke(s, prefix)))


@keys.command("list")
def keys_list() -> None:
    """list keys (prefix, name, role, org, revoked)"""
    _done(guarded(api.keys_list))


@org_units.command("import")
def org_units_import(
    file: Path,
    prefix: Annotated[str | None, typer.Option(help="import only this unit's subtree, e.g. 150200 (包头市)")] = None,
) -> None:
    """import an official division CSV (code,name,level,parent_code); idempotent; rebuilds roll-ups"""
    with _busy(f"importing {file.name}"):
        code = guarded(lambda s: api.org_units_import(s, file, prefix=prefix))
    _done(code)


@preaggregates.command("check")
def preaggregates_check() -> None:
    """compare every pre-aggregate with the raw figures; exit 1 on a difference"""
    with _busy("checking the pre-aggregates"):
        code = guarded(lambda s: api.preaggregates(s, "check"))
    _done(code)


@preaggregates.command("rebuild")
def preaggregates_rebuild() -> None:
    """rebuild every pre-aggregate from the raw figures"""
    with _busy("rebuilding the pre-aggregates"):
        code = guarded(lambda s: api.preaggregates(s, "rebuild"))
    _done(code)


# ---- the collector ------------------------------------------------------------------------------------------


@collector.command("serve")
def collector_serve() -> None:
    """catch up missing days, then run every source on its schedule"""
    _done(guarded(_with_logging(collector_cli.serve)))


@collector.command("run")
def collector_run(
    source: str,
    file: Annotated[Path | None, typer.Option(help="read this local export instead of the source URL")] = None,
    date: Annotated[datetime | None, typer.Option(formats=DAY, help="the day to fetch (default today)")] = None,
) -> None:
    """ingest one source once"""
    day = date.date() if date else None
    with _busy(f"{source}: ingesting"):
        code = guarded(_with_logging(lambda s: collector_cli.run_once(s, source, file=file, day=day)))
    _done(code)


@collector.command("backfill")
def collector_backfill(
    source: str,
    start: Annotated[datetime, typer.Option("--from", formats=DAY, help="first day")],
    end: Annotated[datetime, typer.Option("--to", formats=DAY, help="last day")],
) -> None:
    """ingest one source for every day of a range, with a progress bar; the last line counts the runs"""
    with _progress() as progress:
        task = progress.add_task(f"{source} backfill", total=(end - start).days + 1)

        def on_day(done: int, days: int, run: IngestRun) -> None:
            collector_cli.print_run(run, prefix=f"[{done}/{days}] ")
            progress.update(task, completed=done, description=f"{source} {run.for_date}")

        code = guarded(_with_logging(
            lambda s: collector_cli.backfill(s, source, start=start.date(), end=end.date(), on_day=on_day)
        ))
    _done(code)


@collector.command("runs")
def collector_runs(
    source: Annotated[str | None, typer.Option(help="only this source's runs")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """list recent ingest runs with their errors"""
    _done(guarded(lambda s: collector_cli.list_runs(s, source=source, limit=limit)))


@collector.command("check-sources")
def collector_check_sources() -> None:
    """validate the sources file (SCORECARD_COLLECTOR__SOURCES_FILE)"""
    _done(guarded(collector_cli.check_sources))


# ---- the simulated platform ---------------------------------------------------------------------------------


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8100,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """serve the simulated government platform's exports (网办 / 一窗 / 好差评) for `make run`"""
    simulator_main.serve(host, port, log_level)
