"""shared/dashboard on both backends (SQLite is `make run`'s): the series statement gives shared/values' numbers
for the year, every month and every trend day, and every write path counts the data revision up."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pytest

from services.api.deps import Database
from shared.core import clock
from shared.core.periods import parse_period
from shared.core.settings import Settings
from shared.dashboard import build as dashboard
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.revisions import store as revisions
from shared.targets import store as target_store
from shared.targets.resolve import TargetRow
from shared.values import query
from tests.builders import QINGSHAN

STREETS = [f"150204{n:03d}000" for n in range(1, 9)] + ["150204100000", "150204101000"]
NOW = datetime(2022, 7, 5, 10, 0, tzinfo=clock.SHANGHAI)


def figures(indicator: str, rng: random.Random) -> list[ObservationIn]:
    rows = []
    for org in STREETS:
        day = date(2022, 1, 1)
        while day <= NOW.date():
            if rng.random() < 0.6:
                den = rng.randint(50, 100)
                rows.append(ObservationIn(indicator, org, day, rng.randint(0, den), den))
            day += timedelta(days=rng.randint(1, 4))
    return rows


@pytest.mark.parametrize("indicator", ["QS-07", "QS-11"], ids=["last", "sum"])
async def test_series_equals_values(any_database: Database, indicator: str) -> None:
    settings = Settings()
    async with any_database.sessions() as s:
        await observation_store.write_observations(
            s, figures(indicator, random.Random(indicator)), source="t", actor="t", today=NOW.date()
        )
        built = await dashboard.build(
            s, org=QINGSHAN, year=2022, now=NOW, scoring=settings.scoring, settings=settings.dashboard
        )
        body = json.loads(built.body)
        rows = {u["code"]: u for u in [body["jurisdiction"], *body["units"]]}
        for org in (QINGSHAN, STREETS[0]):
            [c] = [c for c in rows[org]["indicators"] if c["indicator"] == indicator]
            points = [("2022", c)] + [(m["period"], m) for m in c["months"]] + [(d["date"], d) for d in c["trend"]]
            periods = [parse_period(p) for p, _ in points]
            expected = await query.values(
                s, indicator_codes=[indicator], org=org, children=False, periods=periods, scoring=settings.scoring
            )
            for (label, point), row in zip(points, expected, strict=True):
                assert point["value"] == row.value.value, (org, label)
                assert point["status"] == row.value.status, (org, label)


async def test_every_write_path_counts_the_revision_up(any_database: Database) -> None:
    async with any_database.sessions() as s:
        seen = [await revisions.revision(s)]
        await observation_store.write_observations(
            s, [ObservationIn("QS-07", STREETS[0], date(2022, 7, 1), 1, 2)], source="t", actor="t", today=NOW.date()
        )
        seen.append(await revisions.revision(s))
        row = TargetRow("QS-07", QINGSHAN, "township", 2022, 0, ">=", 90, None, False)
        await target_store.put_target(s, row, actor="t")
        seen.append(await revisions.revision(s))
        await target_store.put_target(s, row, actor="t")  # unchanged: nothing to invalidate
        seen.append(await revisions.revision(s))
        assert seen == [seen[0], seen[0] + 1, seen[0] + 2, seen[0] + 2]


async def test_a_source_run_read_back_from_either_backend(any_database: Database) -> None:
    # SQLite returns stored moments without their zone; the stale_source check compares them with now.
    from shared.ingest import store as ingest_store
    from shared.ingest.models import IngestRun

    settings = Settings()
    async with any_database.sessions() as s:
        finished = NOW - timedelta(hours=3)
        await ingest_store.add_run(
            s, IngestRun(source_id="wangban", started_at=finished, finished_at=finished, status="succeeded")
        )
        built = await dashboard.build(
            s, org=QINGSHAN, year=2022, now=NOW, scoring=settings.scoring, settings=settings.dashboard
        )
        stale = [w for w in json.loads(built.body)["warnings"] if w["kind"] == "stale_source"]
        assert [w["subject"]["code"] for w in stale if w["subject"]["code"] == "wangban"] == ["wangban"]
        assert "2022-07-05 07:00" in next(w["message"] for w in stale if w["subject"]["code"] == "wangban")
