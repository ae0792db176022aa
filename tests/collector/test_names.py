"""Named rows map through the units' official names and aliases (shared.org_units.store.names_to_codes)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import Database
from services.collector.mapping import parse_export
from services.collector.run import LocalFile, ingest_once
from shared.core.errors import Problem
from shared.core.settings import Settings
from shared.observations.models import Observation
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from tests.collector.exports import csv_bytes, source

TODAY = date(2022, 6, 1)
COLUMNS = ["统计月份", "单位名称", "依申请政务服务事项总数", "纳入综合窗口办理事项数", "一窗综合受理率"]
ROWS = [COLUMNS, ["2022-05", "稀土高新区", 200, 180, "90.00%"], ["2022-05", " 达茂旗 ", 100, 80, "80.00%"],
        ["2022-05", "青山区", 491, 398, "81.06%"], ["2022-05", "火星区", 10, 1, "10.00%"]]


def by_name() -> object:
    return source("yichuang", unit={"name_column": "单位名称"}, scope="150200000000")  # 包头市: zones and banners


class TestKnownNames:
    async def test_aliases_and_official_names_map(self, session: AsyncSession) -> None:
        known = await org_store.names_to_codes(session)
        parsed = parse_export(by_name(), csv_bytes(ROWS), today=TODAY, known_names=known)  # type: ignore[arg-type]
        assert {f.org: (f.numerator, f.denominator) for f in parsed.figures} == {
            "150271000000": (180, 200), "150223000000": (80, 100), "150204000000": (398, 491)}
        message = "unknown name '火星区'; add it to unit.names in sources.yaml or as an alias of its unit"
        assert parsed.errors == [Problem(message, 5, "单位名称")]

    def test_the_sources_own_names_come_first(self) -> None:
        config = source("yichuang", unit={"name_column": "单位名称", "names": {"稀土高新区": "150204000000"}})
        parsed = parse_export(config, csv_bytes(ROWS[:2]), today=TODAY, known_names={"稀土高新区": "150271000000"})
        assert [f.org for f in parsed.figures] == ["150204000000"]


class TestIngestByName:
    @pytest.fixture
    async def http(self) -> httpx.AsyncClient:  # type: ignore[misc]
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
            yield c

    async def test_run_maps_zone_and_banner_short_names(
        self, database: Database, settings: Settings, http: httpx.AsyncClient
    ) -> None:
        local = LocalFile(csv_bytes(ROWS[:3]), "yichuang_2022-05.csv")
        run = await ingest_once(database.sessions, by_name(), day=date(2022, 5, 31), settings=settings,  # type: ignore[arg-type]
                                client=http, local=local)
        assert run.status == "succeeded", run.errors
        async with database.sessions() as s:
            stored = await s.execute(select(OrgUnit.code, Observation.numerator)
                                     .join(OrgUnit, OrgUnit.id == Observation.org_id))
            assert dict(stored.all()) == {"150271000000": 180, "150223000000": 80}
