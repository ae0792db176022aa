"""Every statement of the everyday paths finds its rows of the growing tables by an index: none reads a whole
table of figures, history, pre-aggregates, assessments, ratings, runs or logs (see tests/plans.py). A table read
whole costs nothing in a test and seconds to minutes a request once the province has years of data. And the
statements a read sends do not grow with the units it covers: a dashboard over 41 townships asks the database
what it asks over 11 (no statement per unit or per cell)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from services.api.deps import Database
from services.api.main import create_app
from services.collector import mapping
from services.collector.run import LocalFile, ingest_once
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
from tests.api.test_scores import H1, KUNDULUN, Scoring, enter_half_year, row, scoring  # noqa: F401 (fixture)
from tests.builders import FUQIANG, QINGSHAN, XINGFU, obs, push_body
from tests.collector.exports import SAMPLES, shipped
from tests.plans import plans, statements


class TestScoring:
    async def test_entering_reviewing_and_reading_scores(
        self, scoring: Scoring, database: Database  # noqa: F811 (the imported fixture)
    ) -> None:
        await enter_half_year(scoring)
        async with plans(database) as seen:
            ids = (await scoring.enter("gongan", row(KUNDULUN, 3, 0.5)))["ids"]  # its second lead unit
            await scoring.review(ids)
            r = await scoring.client.post(f"/v1/schemes/{scoring.scheme}/publications", json={"period": H1},
                                          headers=scoring.keys["office"])
            assert r.status_code == 200, r.text
            reads = (("/v1/scores", {"org": KUNDULUN}), ("/v1/rankings", {"kind": "county"}),
                     ("/v1/rankings", {"kind": "county", "version": 1}),
                     ("/v1/scores", {"org": KUNDULUN, "version": 1}))
            for path, params in reads:
                r = await scoring.client.get(path, params={"scheme": scoring.scheme, "period": H1, **params})
                assert r.status_code == 200, r.text
        assert len(seen.notices) > 20  # the plans were seen
        assert seen.full_scans() == []


class TestEverydayPaths:
    async def test_push_correct_read_dashboard_ratings_and_runs(
        self, api: httpx.AsyncClient, admin: dict[str, str], fixture_data: Any, database: Database  # noqa: F811
    ) -> None:
        async with plans(database) as seen:
            for rows in ([obs("QS-07", FUQIANG, "2022-07-03", 97, 100)],  # new
                         [obs("QS-07", XINGFU, "2022-07-04", 60, 100)]):  # a correction
                r = await api.post("/v1/observations", json=push_body(*rows),
                                   headers={**admin, "Idempotency-Key": f"index-paths-{rows[0]['org']}"})
                assert r.status_code == 200, r.text
            reads = [
                ("/v1/dashboard", {"org": QINGSHAN, "year": 2022}),
                ("/v1/values", {"indicator": "QS-07", "org": QINGSHAN, "period": "2022"}),
                ("/v1/values", {"indicator": "QS-07", "org": FUQIANG, "period": "2022-07"}),
                ("/v1/ratings/overdue", {"org": QINGSHAN, "today": "2022-07-05"}),
                ("/v1/ingest-runs", {"source": "wangban"}),
                ("/v1/ingest-runs", {}),
                ("/metrics", {}),
                ("/readyz", {}),
            ]
            for path, params in reads:
                r = await api.get(path, params=params)
                assert r.status_code == 200, (path, r.text)
            [late] = (await api.get("/v1/ratings/overdue", params={"today": "2022-07-05"})).json()
            r = await api.post(f"/v1/ratings/{late['rating_id']}/followup", json={"state": "核实中"}, headers=admin)
            assert r.status_code == 200, r.text
        assert len(seen.notices) > 20
        assert seen.full_scans() == []


class TestCollector:
    async def test_ingest_a_correction_with_a_conflicting_repeat(
        self, database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        header = "统计月份,大厅名称,区划代码,依申请政务服务事项总数,纳入综合窗口办理事项数,一窗综合受理率\n"
        qingshan = "2022-05,青山区政务服务中心,150204000000,491,398,81.06%\n"
        fuqiang = "2022-05,富强路街道便民服务中心,150204004000,503,{},79.52%\n"

        async def ingest(source: str, local: LocalFile) -> Any:
            async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as client:
                run = await ingest_once(database.sessions, shipped(source), day=date(2022, 5, 1 if source ==
                                        "yichuang" else 31), settings=settings, client=client, local=local)
            assert run.status == "succeeded", run.message
            return run

        first = (header + qingshan + fuqiang.format(400)).encode("utf-8-sig")
        await ingest("yichuang", LocalFile(first, "y.csv"))
        monkeypatch.setattr(mapping, "CHUNK_ROWS", 2)  # the repeat in a later chunk
        again = header + qingshan.replace("398", "399") + fuqiang.format(421) + fuqiang.format(430)
        async with plans(database) as seen:
            await ingest("wangban", LocalFile((SAMPLES / "wangban_stats_2022-05-31.xlsx").read_bytes(), "w.xlsx"))
            ratings = (SAMPLES / "haochaping_detail_2022-05-31.csv").read_bytes()
            await ingest("haochaping", LocalFile(ratings, "h.csv"))
            # a correction, and a conflict that withdraws 富强路's corrected figure
            run = await ingest("yichuang", LocalFile(again.encode("utf-8-sig"), "y.csv"))
        assert (run.updated, run.rows_rejected) == (1, 2)  # 青山区 corrected; 富强路's two rows conflict
        assert len(seen.notices) > 20
        assert seen.full_scans() == []


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
