"""The statements a read sends do not grow with the units it covers: a dashboard over 41 townships asks the
database what it asks over 11 (no statement per unit or per cell)."""

from __future__ import annotations

from typing import Any

import httpx

from services.api.deps import Database
from services.api.main import create_app
from shared.core.settings import Settings
from shared.observations import preaggregate
from shared.org_units import store as org_store
from tests.api.test_dashboard import (  # noqa: F401 (fixtures)
    admin,
    api,
    dash_settings,
    fixed_day,
    fixture_data,
    http,
)
from tests.builders import QINGSHAN, obs, push_body
from tests.plans import statements


class TestDashboardRoundTrips:
    async def test_thirty_more_townships_cost_no_more_statements(
        self, api: httpx.AsyncClient, admin: dict[str, str], fixture_data: Any,  # noqa: F811
        database: Database, dash_settings: Settings,  # noqa: F811
    ) -> None:
        uncached = dash_settings.model_copy(update={"api": dash_settings.api.model_copy(update={"answer_cache_mb": 0})})
        app = create_app(uncached, database)
        params = {"org": QINGSHAN, "year": 2022}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as fresh:

            async def dashboard() -> tuple[int, int]:
                with statements(database) as sent:
                    r = await fresh.get("/v1/dashboard", params=params)
                assert r.status_code == 200, r.text
                return len(r.json()["units"]), len(sent)

            units_before, sent_before = await dashboard()
            codes = [f"150204{n:03d}000" for n in range(500, 530)]
            async with database.sessions() as s, s.begin():
                streets = [org_store.UnitSpec(code, f"测试街道{n}", "region", "township", QINGSHAN)
                           for n, code in enumerate(codes)]
                await org_store.upsert_units(s, streets)
                await preaggregate.rebuild_all_rollups(s)
            body = push_body(*[obs("QS-07", c, "2022-07-04", 9, 10) for c in codes])
            r = await api.post("/v1/observations", json=body, headers=admin)
            assert r.status_code == 200, r.text
            units_after, sent_after = await dashboard()
        assert (units_before, units_after) == (11, 41)
        assert sent_after == sent_before
