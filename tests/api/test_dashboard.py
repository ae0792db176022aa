"""GET /v1/dashboard for 青山区 from fixture data (pushes, a collector run, a bad rating, the seeded 包头 2022
scheme) on a fixed day, 2022-07-05: statuses, trends, one warning of every kind, the values of /v1/values, and
a cache that every write invalidates (push, ingest, assessment) with ETag / 304."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest

from services.api.deps import Database
from services.api.main import create_app
from services.api.schemas.dashboard import DashboardOut
from shared.core import clock
from shared.core.settings import DashboardSettings, Settings, SourceSchedule
from shared.ratings.store import write_ratings
from shared.ratings.types import RatingIn
from tests.api.test_schemes import baotou
from tests.builders import FUQIANG, QINGSHAN, XINGFU, obs, push_body
from tests.collector.test_run import ingest_local, sample
from tests.conftest import MakeKey, bearer

TODAY = datetime(2022, 7, 5, 10, 0, tzinfo=clock.SHANGHAI)
KINDS = {"behind_target", "not_reporting", "stale_source", "rating_followup_overdue", "item_overdue"}


@pytest.fixture
def fixed_day(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(clock, "now", lambda: TODAY)
    return TODAY


@pytest.fixture
def dash_settings(settings: Settings) -> Settings:
    # wangban runs every 5 minutes; yichuang daily and has never run (stale_source).
    sources = {
        "wangban": SourceSchedule(every_minutes=5, scope=QINGSHAN),
        "yichuang": SourceSchedule(every_minutes=1440, scope=QINGSHAN),
    }
    return settings.model_copy(update={"dashboard": DashboardSettings(sources=sources, source_grace_minutes=60)})


@pytest.fixture
async def api(dash_settings: Settings, database: Database, fixed_day: datetime) -> Any:
    app = create_app(dash_settings, database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        yield c


@pytest.fixture
async def admin(make_key: MakeKey) -> dict[str, str]:
    return bearer(await make_key("admin"))


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
        yield c


async def push(api: httpx.AsyncClient, admin: dict[str, str], *rows: dict[str, Any]) -> None:
    r = await api.post("/v1/observations", json=push_body(*rows), headers=admin)
    assert r.status_code == 200, r.text


async def townships(api: httpx.AsyncClient) -> list[str]:
    r = await api.get("/v1/org-units", params={"parent": QINGSHAN})
    return [u["code"] for u in r.json()]


@pytest.fixture
async def fixture_data(api, admin, database: Database, dash_settings: Settings, http, fixed_day) -> None:
    await load_qingshan(api, admin, database, dash_settings, http)


async def load_qingshan(
    api: httpx.AsyncClient, admin: dict[str, str], database: Database, dash_settings: Settings, http: Any
) -> None:
    """Every township sends 全程网办率 on 4 July (90/100; 富强路 99, 幸福路 50) and on 5 July except 幸福路;
    wangban's sample export ran today; 富强路 got a 非常不满意 rating on 1 June (deadline passed, 待核实); the
    streets of 青山区 have the district's 2022 targets of 全程网办率 (≥95) and 好差评 (≥90) as township targets."""
    targets = [{"indicator": i, "org": QINGSHAN, "applies_to": "township", "year": 2022, "comparator": ">=",
                "number": n} for i, n in (("QS-07", 95), ("QS-11", 90))]
    r = await api.put("/v1/targets", json={"targets": targets}, headers=admin)
    assert r.status_code == 200, r.text
    codes = await townships(api)
    assert len(codes) == 11 and FUQIANG in codes and XINGFU in codes
    figures = {FUQIANG: 99, XINGFU: 50}
    rows = [obs("QS-07", c, "2022-07-04", figures.get(c, 90), 100) for c in codes]
    rows += [obs("QS-07", c, "2022-07-05", figures.get(c, 90), 100) for c in codes if c != XINGFU]
    await push(api, admin, *rows)
    run = await ingest_local(database, dash_settings, http, "wangban", date(2022, 5, 31),
                             sample("wangban_stats_2022-05-31.xlsx"))
    assert run.status == "succeeded", run.errors
    rating = RatingIn("DASH-1", FUQIANG, "不动产登记", "窗口评价器", 1, datetime(2022, 6, 1, 9, 30), False)
    async with database.sessions() as s, s.begin():
        await write_ratings(s, [rating], source="haochaping", actor="tests", settings=dash_settings.ratings)


async def dashboard(api: httpx.AsyncClient, **headers: str) -> httpx.Response:
    r = await api.get("/v1/dashboard", params={"org": QINGSHAN, "year": 2022}, headers=headers)
    assert r.status_code in (200, 304), r.text
    return r


def cell(body: dict[str, Any], org: str, indicator: str) -> dict[str, Any]:
    rows = [body["jurisdiction"], *body["units"]]
    [unit] = [u for u in rows if u["code"] == org]
    [found] = [c for c in unit["indicators"] if c["indicator"] == indicator]
    return found


def warnings(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [w for w in body["warnings"] if w["kind"] == kind]


class TestDashboard:
    async def test_statuses_trends_and_shape(self, api, fixture_data) -> None:
        body = (await dashboard(api)).json()
        DashboardOut.model_validate(body)
        assert body["org"]["code"] == QINGSHAN and body["as_of"] == "2022-07-05"
        assert len(body["units"]) == 11 and len(body["days"]) == 30 and body["days"][0] == "2022-06-06"
        assert body["months"][0] == "2022-01" and len(body["months"]) == 12
        # 富强路 99 % ≥ 95 met; 幸福路 50 % behind; 青山区 (9×90 + 99 + 50) / 1100 = 87.2 % → 0.918 near.
        assert cell(body, FUQIANG, "QS-07")["status"] == "met"
        assert cell(body, XINGFU, "QS-07")["status"] == "behind"
        own = cell(body, QINGSHAN, "QS-07")
        assert own["status"] == "near" and own["value"] == pytest.approx(100 * 959 / 1100)
        assert (own["numerator"], own["denominator"], own["units_reporting"]) == (959, 1100, 11)
        assert cell(body, QINGSHAN, "QS-01")["status"] == "no_data"
        trend = {p["date"]: p["value"] for p in cell(body, XINGFU, "QS-07")["trend"]}
        assert trend["2022-07-04"] == 50 and trend["2022-07-05"] is None and trend["2022-06-06"] is None
        july = cell(body, QINGSHAN, "QS-07")["months"][6]
        assert july["period"] == "2022-07" and july["value"] == pytest.approx(100 * 959 / 1100)
        may = cell(body, QINGSHAN, "QS-07")["months"][4]  # the wangban sample: 9534 / 11126
        assert may["value"] == pytest.approx(100 * 9534 / 11126)
        # 15 indicators of 青山区's plan on every row; 南昌's are not 青山区's
        assert {c["indicator"] for c in body["jurisdiction"]["indicators"]} == {f"QS-{n:02d}" for n in range(1, 16)}
        score = body["jurisdiction"]["score"]
        assert score["scheme_name"] and score["period"] == "2022H1" and score["status"] == "missing"
        assert all(u["score"] is None for u in body["units"])  # streets are not assessed

    async def test_one_warning_of_every_kind(self, api, fixture_data) -> None:
        body = (await dashboard(api)).json()
        assert {w["kind"] for w in body["warnings"]} == KINDS
        [behind] = [w for w in warnings(body, "behind_target") if w["unit"] == XINGFU]
        assert behind["subject"] == {"type": "indicator", "code": "QS-07", "name": "全程网办率"}
        # behind in July and in May (the wangban sample), no figure in June: behind since May
        months = cell(body, XINGFU, "QS-07")["months"]
        assert [m["status"] for m in months[4:7]] == ["behind", "no_data", "behind"]
        assert behind["since"] == "2022-05-01" and "幸福路" in behind["message"]
        # The catalogue expects townships daily: 幸福路 missed 全程网办率 on 5 July; the wangban sample of 31 May
        # (网上可办率's latest day) has no row for 装备制造产业园区.
        absent, zone = sorted(warnings(body, "not_reporting"), key=lambda w: w["subject"]["code"], reverse=True)
        assert (zone["unit"], zone["subject"]["code"], zone["details"]["period"]) == ("150204401000", "QS-05",
                                                                                    "2022-05-31")
        assert absent["unit"] == XINGFU and absent["subject"]["code"] == "QS-07" and absent["since"] == "2022-07-05"
        assert absent["details"]["period"] == "2022-07-05" and "未报送" in absent["message"]
        [stale] = warnings(body, "stale_source")
        assert stale["subject"] == {"type": "source", "code": "yichuang", "name": "yichuang"}
        assert stale["since"] is None and "从未成功运行" in stale["message"]
        [rating] = warnings(body, "rating_followup_overdue")
        assert rating["unit"] == FUQIANG and rating["subject"]["code"] == "DASH-1"
        assert rating["details"]["state"] == "待核实" and rating["since"] > "2022-06-01"
        items = warnings(body, "item_overdue")
        assert items and all(w["unit"] == QINGSHAN and w["since"] <= "2022-07-05" for w in items)
        assert all(w["subject"]["type"] == "item" for w in items) and all(w["message"] for w in body["warnings"])

    async def test_a_city_warns_only_of_figures_of_the_plans_covering_each_row(self, api, fixture_data) -> None:
        # 包头市 over 青山区's plan: 青山区 reports QS-08 itself, so counties report it somewhere — but 东河区 and
        # the other counties are not under the plan (no QS column in their rows): no 未报送 for them.
        r = await api.get("/v1/dashboard", params={"org": "150200000000", "year": 2022})
        assert r.status_code == 200, r.text
        body = r.json()
        columns = {u["code"]: {c["indicator"] for c in u["indicators"]} for u in body["units"]}
        absent = warnings(body, "not_reporting")
        assert absent, "青山区's own streets still missed 全程网办率 on 5 July"
        assert all(w["subject"]["code"] in columns.get(w["unit"], ()) for w in absent), [
            (w["unit"], w["subject"]["code"]) for w in absent]

    async def test_overdue_ratings_beyond_the_listed_are_counted_in_one_warning(
        self, api, fixture_data, database, dash_settings, monkeypatch
    ) -> None:
        from shared.dashboard import warnings as dashboard_warnings

        monkeypatch.setattr(dashboard_warnings, "RATINGS_LISTED", 2)
        more = [RatingIn(f"DASH-{n}", XINGFU if n % 2 else FUQIANG, "社保卡申领", "窗口评价器", 2,
                         datetime(2022, 5, 20 + n, 9), False) for n in range(2, 6)]
        async with database.sessions() as s, s.begin():
            await write_ratings(s, more, source="haochaping", actor="tests", settings=dash_settings.ratings)
        body = (await dashboard(api)).json()
        DashboardOut.model_validate(body)
        found = warnings(body, "rating_followup_overdue")
        listed, [counted] = found[:-1], found[-1:]
        assert [w["subject"]["code"] for w in listed] == ["DASH-2", "DASH-3"]  # the oldest deadlines
        assert counted["subject"] == {"type": "ratings", "code": QINGSHAN, "name": "另有3条差评"}
        assert counted["unit"] == QINGSHAN and counted["details"]["count"] == 3
        assert "期限最早的2条" in counted["message"]
        assert counted["since"] >= listed[-1]["since"]  # the oldest deadline of those not listed
        r = await api.get(counted["details"]["list"])
        assert r.status_code == 200 and len(r.json()) == 5

    async def test_values_agree_with_v1_values(self, api, fixture_data) -> None:
        body = (await dashboard(api)).json()
        checked = 0
        for org, indicator in ((QINGSHAN, "QS-07"), (FUQIANG, "QS-07"), (XINGFU, "QS-07"), (QINGSHAN, "QS-05"),
                               (QINGSHAN, "QS-11"), (FUQIANG, "QS-11"), (QINGSHAN, "QS-01")):
            c = cell(body, org, indicator)
            points = [("2022", c)] + [(m["period"], m) for m in c["months"]] + [(d["date"], d) for d in c["trend"]]
            for period, point in points:
                r = await api.get("/v1/values", params={"indicator": indicator, "org": org, "period": period})
                [v] = r.json()["values"]
                assert point["value"] == v["value"] and point["status"] == v["status"], (org, indicator, period)
                if "achievement" in point:
                    assert point["achievement"] == v["achievement"], (org, indicator, period)
                if "units_reporting" in point:
                    assert point["units_reporting"] == v["units_reporting"], (org, indicator, period)
                checked += 1
            assert c["units_expected"] == v["units_expected"] or period != "2022"
        assert checked == 7 * 43

    async def test_unknown_org_is_404_and_bad_year_422(self, api) -> None:
        r = await api.get("/v1/dashboard", params={"org": "999999999999", "year": 2022})
        assert r.status_code == 404 and "error" in r.json()
        for year in ("1999", "2023", "abc"):
            r = await api.get("/v1/dashboard", params={"org": QINGSHAN, "year": year})
            assert r.status_code == 422 and "error" in r.json(), year


class TestCacheAndEtag:
    async def test_304_round_trip(self, api, fixture_data) -> None:
        first = await dashboard(api)
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.status_code == 200
        again = await dashboard(api, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert (await dashboard(api, **{"If-None-Match": '"other"'})).status_code == 200
        assert (await dashboard(api)).content == first.content  # from the cache: the same bytes

    async def test_a_push_changes_the_answer(self, api, admin, fixture_data) -> None:
        before = await dashboard(api)
        await push(api, admin, obs("QS-07", XINGFU, "2022-07-05", 97, 100))
        after = await dashboard(api, **{"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        body = after.json()
        assert cell(body, XINGFU, "QS-07")["status"] == "met"
        assert [w["unit"] for w in warnings(body, "not_reporting")] == ["150204401000"]  # 幸福路 has reported

    async def test_an_ingest_changes_the_answer(self, api, database, dash_settings, http, fixture_data) -> None:
        before = await dashboard(api)
        run = await ingest_local(database, dash_settings, http, "yichuang", date(2022, 5, 1),
                                 sample("yichuang_stats_2022-05.csv"))
        assert run.status == "succeeded", run.errors
        after = await dashboard(api, **{"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        body = after.json()
        assert not warnings(body, "stale_source")  # yichuang has run now
        assert cell(body, QINGSHAN, "QS-08")["units_reporting"] == 6

    async def test_an_assessment_changes_the_answer(self, api, admin, fixture_data) -> None:
        before = await dashboard(api)
        first = warnings(before.json(), "item_overdue")[0]
        number = int(first["subject"]["code"])
        scheme = await baotou(api)
        [item] = [i for s in scheme["sections"] for g in s["groups"] for i in g["items"] if i["number"] == number]
        row = {"org": QINGSHAN, "item": number, "period": "2022H1", "method": "monitoring",
               "points": item["max_points"]}
        r = await api.post(f"/v1/schemes/{scheme['id']}/assessments", json={"assessments": [row]}, headers=admin)
        assert r.status_code == 200, r.text
        after = await dashboard(api, **{"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        body = after.json()
        assert number not in [int(w["subject"]["code"]) for w in warnings(body, "item_overdue")]
        score = body["jurisdiction"]["score"]
        assert score["status"] != "missing" and score["total"] is not None and score["rank"] is not None
