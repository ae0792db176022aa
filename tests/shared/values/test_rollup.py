"""The region-level pre-aggregate gives exactly the per-unit roll-up's answer, on both backends."""

import random
from datetime import date, timedelta

import pytest

from services.api.deps import Database
from shared.core.periods import parse_period
from shared.indicators import store as indicator_store
from shared.observations import store as observation_store
from shared.observations.types import ObservationIn
from shared.org_units import store as org_store
from shared.values import rollup
from tests.builders import QINGSHAN

STREETS = [f"150204{n:03d}000" for n in range(1, 9)] + ["150204100000", "150204101000"]
PERIODS = ["2022-03", "2022Q1", "2022Q2", "2022H1", "2022"]


def figures(indicator: str, rng: random.Random, *, gaps: bool) -> list[ObservationIn]:
    rows = []
    for org in STREETS:
        day = date(2022, 1, 1)
        while day < date(2022, 7, 1):
            # With gaps some streets stop reporting in May: the latest month then lacks units.
            if not (gaps and org in STREETS[:3] and day >= date(2022, 5, 1)) and rng.random() < 0.5:
                den = rng.randint(50, 100)
                rows.append(ObservationIn(indicator, org, day, rng.randint(0, den), den))
            day += timedelta(days=rng.randint(1, 9))
    return rows


class TestRegionLevelEqualsPerUnit:
    @pytest.mark.parametrize("gaps", [False, True], ids=["all-report", "some-stop"])
    @pytest.mark.parametrize("indicator", ["QS-07", "QS-11"], ids=["last", "sum"])
    async def test_same_numbers(self, any_database: Database, indicator: str, gaps: bool) -> None:
        rng = random.Random(f"{indicator}{gaps}")
        async with any_database.sessions() as s:
            await observation_store.write_observations(
                s, figures(indicator, rng, gaps=gaps), source="t", actor="t", today=date(2022, 12, 31)
            )
            ind = await indicator_store.get_by_code(s, indicator)
            root = (await org_store.get_by_code(s, QINGSHAN)).id
            for label in PERIODS:
                kw = dict(
                    indicator_id=ind.id,
                    time_aggregation=ind.time_aggregation,
                    rollup_rule="sum",
                    root_ids=[root],
                    period=parse_period(label),
                )
                fast, expected = await rollup.rolled_up(s, **kw)
                slow = await rollup.rollup(s, **kw)
                assert fast[root].numerator == pytest.approx(slow[root].numerator), label
                assert fast[root].denominator == pytest.approx(slow[root].denominator), label
                assert fast[root].units_reporting == slow[root].units_reporting, label
                assert expected[root] == 11  # 8 街道, 2 镇 and the 装备园区 (zone): every township-level unit

    async def test_corrections_keep_the_region_level_in_step(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            rows = [ObservationIn("QS-07", org, date(2022, 3, 31), 50, 100) for org in STREETS]
            await observation_store.write_observations(s, rows, source="t", actor="t", today=date(2022, 12, 31))
            rows[0] = ObservationIn("QS-07", STREETS[0], date(2022, 3, 31), 100, 100)
            await observation_store.write_observations(s, rows, source="t", actor="t", today=date(2022, 12, 31))
            ind = await indicator_store.get_by_code(s, "QS-07")
            root = (await org_store.get_by_code(s, QINGSHAN)).id
            fast, _ = await rollup.rolled_up(
                s,
                indicator_id=ind.id,
                time_aggregation="last",
                rollup_rule="sum",
                root_ids=[root],
                period=parse_period("2022"),
            )
            assert (fast[root].numerator, fast[root].denominator, fast[root].units_reporting) == (550, 1000, 10)
