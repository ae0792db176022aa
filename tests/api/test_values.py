"""GET /v1/values: roll-ups computed by hand from small fixtures (PRODUCT.md §2.1–§2.2)."""

from datetime import date

import httpx
import pytest

from shared.observations import org_tree
from shared.seeds.load import SEED_DIR
from tests.builders import FUQIANG, QINGSHAN, XINGFU, obs, push_body
from tests.conftest import MakeKey, bearer


@pytest.fixture
async def admin(make_key: MakeKey) -> dict[str, str]:
    return bearer(await make_key("admin"))


NANCHANG, DONGHU, XIHU = "360100000000", "360102000000", "360103000000"


async def load(client: httpx.AsyncClient, admin: dict[str, str], *rows: dict) -> None:
    r = await client.post("/v1/observations", json=push_body(*rows), headers=admin)
    assert r.status_code == 200, r.text


async def value(client: httpx.AsyncClient, **params: object) -> dict:
    r = await client.get("/v1/values", params=params)
    assert r.status_code == 200, r.text
    [v] = r.json()["values"]
    return v


class TestRollUp:
    async def test_ratio_of_sums_not_mean_of_ratios(self, client, admin) -> None:
        await load(
            client, admin, obs("QS-07", FUQIANG, "2022-05-31", 1, 2), obs("QS-07", XINGFU, "2022-05-31", 90, 100)
        )
        v = await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05-31")
        mean_of_ratios = (50 + 90) / 2
        assert (v["numerator"], v["denominator"]) == (91, 102)
        assert v["value"] == pytest.approx(100 * 91 / 102) and v["value"] != pytest.approx(mean_of_ratios)

    async def test_last_takes_each_units_latest_figure(self, client, admin) -> None:
        await load(
            client,
            admin,
            obs("QS-07", FUQIANG, "2022-05-01", 10, 20),
            obs("QS-07", FUQIANG, "2022-05-20", 15, 20),
            obs("QS-07", XINGFU, "2022-04-30", 30, 40),
            obs("QS-07", XINGFU, "2022-05-10", 35, 40),
        )
        may = await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05")
        assert (may["numerator"], may["denominator"]) == (15 + 35, 20 + 40)
        q2 = await value(client, indicator="QS-07", org=QINGSHAN, period="2022Q2")
        assert (q2["numerator"], q2["denominator"]) == (50, 60)
        april = await value(client, indicator="QS-07", org=XINGFU, period="2022-04")
        assert april["value"] == pytest.approx(75.0)

    async def test_sum_adds_every_day(self, client, admin) -> None:
        # 好差评 QS-11 = 评价总分 / 评价次数 (分): a flow, so days add up.
        await load(
            client,
            admin,
            obs("QS-11", FUQIANG, "2022-05-01", 180, 2),
            obs("QS-11", FUQIANG, "2022-05-02", 100, 1),
            obs("QS-11", XINGFU, "2022-06-01", 60, 1),
        )
        h1 = await value(client, indicator="QS-11", org=QINGSHAN, period="2022H1")
        assert (h1["numerator"], h1["denominator"]) == (340, 4) and h1["value"] == pytest.approx(85.0)
        may = await value(client, indicator="QS-11", org=FUQIANG, period="2022-05")
        assert may["value"] == pytest.approx(280 / 3)

    async def test_count_sums_over_the_tree(self, client, admin) -> None:
        await load(
            client, admin, obs("QS-01", FUQIANG, "2022-05-31", value=10), obs("QS-01", XINGFU, "2022-05-31", value=20)
        )
        v = await value(client, indicator="QS-01", org=QINGSHAN, period="2022")
        assert v["value"] == 30 and v["numerator"] is None

    async def test_rollup_none_is_the_units_own_figure(self, client, admin) -> None:
        # 跨省通办事项数 is a tally of the jurisdiction itself: the streets' lists are not added.
        await load(
            client, admin, obs("QS-10", QINGSHAN, "2022-05-31", value=140), obs("QS-10", FUQIANG, "2022-05-31", value=5)
        )
        v = await value(client, indicator="QS-10", org=QINGSHAN, period="2022-05")
        assert v["value"] == 140 and (v["units_reporting"], v["units_expected"]) == (1, 1)
        assert "own figure only" in v["formula"]

    async def test_half_reported_rollup_is_visible(self, client, admin) -> None:
        await load(client, admin, obs("QS-07", FUQIANG, "2022-05-31", 1, 2), obs("QS-07", XINGFU, "2022-05-31", 1, 2))
        v = await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05")
        assert v["units_reporting"] == 2 and v["units_expected"] == 11  # 青山区 has 11 township-level units

    async def test_no_data(self, client) -> None:
        v = await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05")
        assert v["value"] is None and v["status"] == "no_data" and v["units_reporting"] == 0


class TestAchievement:
    async def test_higher_is_better_near(self, client, admin) -> None:
        # 青山区 全程网办率 2022 target "≥95"; 91/102 = 89.2 % → achievement 0.939 ≥ 0.9 → near.
        await load(
            client, admin, obs("QS-07", FUQIANG, "2022-05-31", 1, 2), obs("QS-07", XINGFU, "2022-05-31", 90, 100)
        )
        v = await value(client, indicator="QS-07", org=QINGSHAN, period="2022")
        assert v["target"]["number"] == 95 and v["target"]["comparator"] == ">="
        assert v["achievement"] == pytest.approx((100 * 91 / 102) / 95) and v["status"] == "near"

    async def test_higher_is_better_met_is_capped(self, client, admin) -> None:
        await load(client, admin, obs("QS-07", FUQIANG, "2022-05-31", 99, 100))
        v = await value(client, indicator="QS-07", org=QINGSHAN, period="2022H1")
        assert v["status"] == "met" and v["achievement"] == 1.0

    async def test_lower_is_better(self, client, admin) -> None:
        target = {"indicator": "HCP-BAD", "org": QINGSHAN, "year": 2022, "comparator": "<=", "number": 5}
        assert (await client.put("/v1/targets", json={"targets": [target]}, headers=admin)).status_code == 200
        await load(client, admin, obs("HCP-BAD", FUQIANG, "2022-05-31", 1, 10))
        v = await value(client, indicator="HCP-BAD", org=QINGSHAN, period="2022-05")
        assert v["value"] == pytest.approx(10.0) and v["achievement"] == pytest.approx(0.5)
        assert v["status"] == "behind"

    async def test_text_only_target_is_shown_never_scored(self, client, admin) -> None:
        await load(client, admin, obs("QS-01", QINGSHAN, "2023-05-31", value=1300))
        v = await value(client, indicator="QS-01", org=QINGSHAN, period="2023")
        assert v["target"]["text"] == "根据需求随时布点" and v["achievement"] is None and v["status"] is None

    async def test_street_inherits_no_district_target(self, client, admin) -> None:
        await load(client, admin, obs("QS-07", FUQIANG, "2022-05-31", 1, 2))
        v = await value(client, indicator="QS-07", org=FUQIANG, period="2022")
        assert v["target"] is None and v["status"] is None


class TestShapes:
    async def test_children_and_several_indicators_in_one_call(self, client, admin) -> None:
        await load(client, admin, obs("QS-07", FUQIANG, "2022-05-31", 1, 2), obs("QS-05", FUQIANG, "2022-05-31", 3, 4))
        r = await client.get(
            "/v1/values", params={"indicator": "QS-07,QS-05", "org": QINGSHAN, "period": "2022-05", "children": "true"}
        )
        values = r.json()["values"]
        assert len(values) == 22  # 11 children of 青山区 × 2 indicators
        fq = {v["indicator"]: v["value"] for v in values if v["org"] == FUQIANG}
        assert fq == {"QS-07": pytest.approx(50.0), "QS-05": pytest.approx(75.0)}

    async def test_series_by_month(self, client, admin) -> None:
        await load(client, admin, obs("QS-07", FUQIANG, "2022-04-30", 1, 2), obs("QS-07", FUQIANG, "2022-06-01", 3, 4))
        r = await client.get(
            "/v1/values",
            params={
                "indicator": "QS-07",
                "org": FUQIANG,
                "from": "2022-04-01",
                "to": "2022-06-30",
                "granularity": "month",
            },
        )
        series = [(v["period"], v["value"]) for v in r.json()["values"]]
        assert series == [("2022-04", 50.0), ("2022-05", None), ("2022-06", 75.0)]

    @pytest.mark.parametrize("period", ["2022-13", "2022Q5", "22", "last week"])
    async def test_bad_period_is_422(self, client, period) -> None:
        r = await client.get("/v1/values", params={"indicator": "QS-07", "org": QINGSHAN, "period": period})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "period"

    async def test_unknown_indicator_is_404(self, client) -> None:
        r = await client.get("/v1/values", params={"indicator": "NOPE", "org": QINGSHAN, "period": "2022"})
        assert r.status_code == 404 and "NOPE" in r.json()["error"]["message"]


class TestNanchangMiaopiSums:
    async def test_city_and_counties_are_added(self, client, admin, database) -> None:  # type: ignore[no-untyped-def]
        # NC-13's 2025 target is "市县两级合计" (seed 004): the city's own items plus each county's.
        text = (SEED_DIR / "divisions_150000_360100.csv").read_text(encoding="utf-8")
        async with database.sessions() as s, s.begin():
            await org_tree.import_divisions(s, text, prefix="360100", today=date(2026, 12, 1))
        await load(client, admin, obs("NC-13", NANCHANG, "2023-06-30", value=30),
                   obs("NC-13", DONGHU, "2023-06-30", value=12), obs("NC-13", XIHU, "2023-06-30", value=3))
        v = await value(client, indicator="NC-13", org=NANCHANG, period="2023")
        assert v["value"] == 45 and v["units_reporting"] == 3
        assert v["target"]["number"] == 47 and v["target"]["rounded_up"] is True and v["status"] == "near"


class TestKeptAnswers:
    """The same question at the same data revision is answered from memory; a write makes a new answer."""

    async def test_a_repeat_from_memory_and_a_write_reaches_the_next_read(self, client, admin) -> None:
        await load(client, admin, obs("QS-07", FUQIANG, "2022-05-31", 1, 2))
        first = await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05")
        answers = client._transport.app.state.answers  # type: ignore[attr-defined]
        kept = len(answers)
        assert await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05") == first
        assert len(answers) == kept  # no second entry: the repeat was a look-up
        await load(client, admin, obs("QS-07", XINGFU, "2022-05-31", 90, 100))
        after = await value(client, indicator="QS-07", org=QINGSHAN, period="2022-05")
        assert (first["numerator"], after["numerator"]) == (1, 91) and len(answers) == kept + 1
