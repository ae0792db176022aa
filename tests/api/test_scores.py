"""A half-year computed by hand for three counties across the four methods, against the API: a tie, an item one
unit does not undertake, an item with two lead units, an adjusted item, a returned and resubmitted item, the
overall methods; the annual score with a missing half; rankings as JSON and XLSX; publications."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from services.api.deps import Database
from shared.schemes.models import SchemeItem
from shared.scores.models import Assessment
from tests.api.test_schemes import baotou
from tests.conftest import MakeKey, bearer

DONGHE, KUNDULUN, QINGSHAN = "150202000000", "150203000000", "150204000000"
SHENPI, GONGAN, ZHENGFUBAN, WEIJIAN = "150200D002", "150200D003", "150200D001", "150200D005"
H1 = "2022H1"


def row(org: str, item: int, points: float, method: str = "monitoring", **extra: Any) -> dict[str, Any]:
    return {"org": org, "item": item, "period": H1, "method": method, "points": points, **extra}


def overall(org: str, method: str, score: float, **extra: Any) -> dict[str, Any]:
    return {"org": org, "period": H1, "method": method, "score": score, "source": "2022年上半年民意调查报告", **extra}


class Scoring:
    """Enters the three units' assessments through the API, as the lead units and the 专班 would."""

    def __init__(self, client: httpx.AsyncClient, scheme: int, keys: dict[str, dict[str, str]]) -> None:
        self.client, self.scheme, self.keys = client, scheme, keys

    async def enter(self, who: str, *rows: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = await self.client.post(
            f"/v1/schemes/{self.scheme}/assessments", json={"assessments": list(rows)}, headers=self.keys[who]
        )
        assert r.status_code == status, r.text
        body: dict[str, Any] = r.json()
        return body

    async def review(self, ids: list[int], action: str = "verify", reason: str | None = None) -> None:
        for i in ids:
            body = {"reason": reason} if action == "return" else None
            r = await self.client.post(f"/v1/assessments/{i}/{action}", json=body, headers=self.keys["office"])
            assert r.status_code == 200, r.text

    async def submit_verified(self, who: str, *rows: dict[str, Any]) -> list[int]:
        ids: list[int] = (await self.enter(who, *rows))["ids"]
        await self.review(ids)
        return ids


@pytest.fixture
async def scoring(client: httpx.AsyncClient, make_key: MakeKey) -> Scoring:
    scheme = (await baotou(client))["id"]
    keys = {"office": bearer(await make_key("admin", "150200D900", name="专班"))}
    for name, org in (("shenpi", SHENPI), ("gongan", GONGAN), ("zhengfuban", ZHENGFUBAN), ("weijian", WEIJIAN)):
        keys[name] = bearer(await make_key("assessor", org, name=name))
    return Scoring(client, scheme, keys)


async def enter_half_year(s: Scoring) -> None:
    # 东河区: item 3 from both lead units (1 and 0.5 → 0.75); item 20 returned, then resubmitted.
    await s.submit_verified("shenpi", row(DONGHE, 19, 0.5), row(DONGHE, 19, 0.25, "field_survey"))
    await s.submit_verified("zhengfuban", row(DONGHE, 3, 1))
    await s.submit_verified("gongan", row(DONGHE, 3, 0.5))
    returned = (await s.enter("weijian", row(DONGHE, 20, 0.3)))["ids"]
    await s.review(returned, "return", "证据不足，请补充平台截图")
    await s.submit_verified("weijian", row(DONGHE, 20, 0.5, note="补充了平台截图"))
    # 昆都仑区 does not undertake item 20; only one of item 3's two lead units has scored it.
    r = await s.client.put(
        f"/v1/schemes/{s.scheme}/applicability",
        json={"applicability": [{"item": 20, "org": KUNDULUN, "applicable": False, "reason": "无此项业务"}]},
        headers=s.keys["office"],
    )
    assert r.status_code == 200, r.text
    await s.submit_verified("shenpi", row(KUNDULUN, 19, 0.5))
    await s.submit_verified("zhengfuban", row(KUNDULUN, 3, 1))
    # 青山区: item 19 verified at 0.25, then adjusted by the 专班 to 0.5 with a reason.
    await s.submit_verified("shenpi", row(QINGSHAN, 19, 0.25), row(QINGSHAN, 19, 0.25, "field_survey"))
    await s.submit_verified("zhengfuban", row(QINGSHAN, 3, 1))
    await s.submit_verified("gongan", row(QINGSHAN, 3, 1))
    await s.enter("office", row(QINGSHAN, 19, 0.5, reason="复核台账后调整"))
    # The overall methods, entered by the 专班 with their source.
    await s.enter(
        "office",
        overall(DONGHE, "public_opinion", 80),
        overall(DONGHE, "third_party", 90),
        overall(KUNDULUN, "public_opinion", 85),
        overall(KUNDULUN, "third_party", 90),
        overall(QINGSHAN, "public_opinion", 81.5),
        overall(QINGSHAN, "third_party", 90),
    )


# By hand: half-year = 0.6 × 日常监测 + 0.2 × 实地调研 + 0.1 × 民意调查 + 0.1 × 第三方评估
DONGHE_TOTAL = Fraction(6, 10) * Fraction(175, 100) + Fraction(2, 10) * Fraction(1, 4) + 8 + 9  # 18.10
KUNDULUN_MONITORING = Fraction(15, 10) * 100 / Fraction(995, 10)  # 1.5 of an applicable 99.5, normalised
KUNDULUN_TOTAL = Fraction(6, 10) * KUNDULUN_MONITORING + Fraction(85, 10) + 9  # 18.4045…
QINGSHAN_TOTAL = Fraction(6, 10) * Fraction(15, 10) + Fraction(2, 10) * Fraction(1, 4) + Fraction(815, 100) + 9


class TestHalfYearByHand:
    async def test_totals_ranks_and_tie(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        assert (Fraction(1810, 100), Fraction(1810, 100)) == (DONGHE_TOTAL, QINGSHAN_TOTAL)
        r = await scoring.client.get("/v1/rankings", params={"scheme": scoring.scheme, "period": H1, "kind": "county"})
        assert r.status_code == 200, r.text
        rows = {x["org"]: x for x in r.json()["rows"]}
        assert [(x["org"], x["rank"], x["total"]) for x in r.json()["rows"][:3]] == [
            (KUNDULUN, 1, 18.40),
            (DONGHE, 2, 18.10),
            (QINGSHAN, 2, 18.10),
        ]
        assert len(rows) == 10 and all(x["rank"] is None and x["status"] == "missing" for x in r.json()["rows"][3:])
        assert rows[KUNDULUN]["status"] == "incomplete"  # item 3 awaits 市公安局, and nobody did 实地调研:
        assert rows[KUNDULUN]["reasons"][-1] == "实地调研 (field_survey) has no verified points: counted as 0"
        assert rows[DONGHE]["by_method"] == {
            "monitoring": 1.75,
            "field_survey": 0.25,
            "public_opinion": 80,
            "third_party": 90,
        }
        assert rows[DONGHE]["by_section"]["monitoring"]["一"] == 1.75

    async def test_exact_scores_and_explanation(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        params = {"scheme": scoring.scheme, "period": H1, "org": KUNDULUN, "explain": "true"}
        k = (await scoring.client.get("/v1/scores", params=params)).json()
        assert Fraction(k["total_exact"]) == KUNDULUN_TOTAL and k["rank"] == 1
        monitoring = k["by_method"][0]
        assert Fraction(monitoring["score_exact"]) == KUNDULUN_MONITORING
        assert monitoring["by_section"][0]["applicable_max"] == 24.5  # item 20 (0.5) not undertaken
        assert 20 not in [i["item"] for i in monitoring["items"]]
        item3 = next(i for i in monitoring["items"] if i["item"] == 3)
        assert (item3["points"], item3["partly_assessed"], len(item3["entries"])) == (1, True, 1)
        assert 1 in monitoring["not_assessed"]
        q = (await scoring.client.get("/v1/scores", params={**params, "org": QINGSHAN})).json()
        item19 = next(i for i in q["by_method"][0]["items"] if i["item"] == 19)
        assert item19["points"] == 0.5
        assert item19["entries"][0]["reason"] == "复核台账后调整"
        assert item19["entries"][0]["entered_at"].endswith("+08:00")  # 北京时间, as a publication's published_at
        assert [e["points"] for e in item19["adjusted"]] == ["1/4"]
        d = (await scoring.client.get("/v1/scores", params={**params, "org": DONGHE})).json()
        item20 = next(i for i in d["by_method"][0]["items"] if i["item"] == 20)
        assert [(e["points"], e["note"]) for e in item20["entries"]] == [("1/2", "补充了平台截图")]
        item3 = next(i for i in d["by_method"][0]["items"] if i["item"] == 3)
        assert (item3["points_exact"], sorted(e["lead_unit"] for e in item3["entries"])) == (
            "3/4",
            [ZHENGFUBAN, GONGAN],
        )
        assert d["by_method"][2]["overall"]["source"] == "2022年上半年民意调查报告"

    async def test_the_explained_score_says_what_the_ranking_says(self, scoring: Scoring) -> None:
        # 昆都仑区 has no 实地调研 at all: incomplete with that reason, whether explained or ranked (the explained
        # path once built an empty item total for the method and called the unit complete).
        await enter_half_year(scoring)
        ranked = (await scoring.client.get(
            "/v1/rankings", params={"scheme": scoring.scheme, "period": H1, "kind": "county"})).json()["rows"]
        for r in ranked:
            for explain in ("false", "true"):
                params = {"scheme": scoring.scheme, "period": H1, "org": r["org"], "explain": explain}
                got = (await scoring.client.get("/v1/scores", params=params)).json()
                assert (got["status"], got["reasons"], got["total"]) == (r["status"], r["reasons"], r["total"]), (
                    r["org"], explain)
        kundulun = next(r for r in ranked if r["org"] == KUNDULUN)
        assert "实地调研 (field_survey) has no verified points: counted as 0" in kundulun["reasons"]

    async def test_points_verified_after_the_offices_adjustment_are_shown_not_counted(self, scoring: Scoring) -> None:
        # 昆都仑区's item 3: 市政府办公室's 1, adjusted by the 专班 to 0.8; then its other lead unit (市公安局) scores
        await enter_half_year(scoring)
        await scoring.enter("office", row(KUNDULUN, 3, 0.8, reason="核减：台账不全"))
        [later] = await scoring.submit_verified("gongan", row(KUNDULUN, 3, 0.5))
        params = {"scheme": scoring.scheme, "period": H1, "org": KUNDULUN, "explain": "true"}
        k = (await scoring.client.get("/v1/scores", params=params)).json()
        item3 = next(i for i in k["by_method"][0]["items"] if i["item"] == 3)
        assert item3["points"] == 0.8  # the 专班's adjustment stands ...
        assert [(e["id"], e["points"]) for e in item3["not_counted"]] == [(later, "1/2")]  # ... and this is shown
        ranked = (await scoring.client.get("/v1/rankings", params={"scheme": scoring.scheme, "period": H1,
                                                                    "kind": "county"})).json()["rows"]
        assert next(r for r in ranked if r["org"] == KUNDULUN)["total"] == k["total"]  # one rule on both paths

    async def test_a_co_lead_unit_assessed_on_its_item_waits_for_nobody(self, scoring: Scoring) -> None:
        # Item 3 is led by 市政府办公室 and 市公安局; 市公安局's own work on it is scored by the others (its own row
        # is a 403), so 市政府办公室's verified points make it whole — not "awaiting every lead unit" for ever.
        await scoring.enter("gongan", row(GONGAN, 3, 1), status=403)
        await scoring.submit_verified("zhengfuban", row(GONGAN, 3, 0.8))
        ranked = (await scoring.client.get("/v1/rankings", params={"scheme": scoring.scheme, "period": H1,
                                                                    "kind": "department"})).json()["rows"]
        gongan = next(r for r in ranked if r["org"] == GONGAN)
        for explain in ("false", "true"):
            params = {"scheme": scoring.scheme, "period": H1, "org": GONGAN, "explain": explain}
            got = (await scoring.client.get("/v1/scores", params=params)).json()
            assert not [r for r in got["reasons"] if "not yet scored by every lead unit" in r], got["reasons"]
            assert got["reasons"] == gongan["reasons"]
        item3 = next(i for i in got["by_method"][0]["items"] if i["item"] == 3)
        assert (item3["points"], item3["partly_assessed"]) == (0.8, False)

    async def test_the_years_notice_explains_its_total_by_its_halves_and_methods(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        h2 = {"period": "2022H2"}
        await scoring.submit_verified("shenpi", row(DONGHE, 19, 0.25, **h2), row(DONGHE, 19, 0.5, "field_survey", **h2))
        await scoring.enter("office", overall(DONGHE, "public_opinion", 70, **h2),
                            overall(DONGHE, "third_party", 80, **h2))
        await scoring.submit_verified("shenpi", row(KUNDULUN, 19, 0.5, **h2))  # no 实地调研 in either half
        await scoring.enter("office", overall(KUNDULUN, "public_opinion", 70, **h2),
                            overall(KUNDULUN, "third_party", 80, **h2))
        params = {"scheme": scoring.scheme, "period": "2022", "kind": "county"}
        year = (await scoring.client.get("/v1/rankings", params=params)).json()
        d = next(r for r in year["rows"] if r["org"] == DONGHE)
        second = Fraction(6, 10) * Fraction(1, 4) + Fraction(2, 10) * Fraction(1, 2) + 7 + 8  # 15.25
        assert d["halves"] == {"2022H1": 18.10, "2022H2": float(second)}
        assert (DONGHE_TOTAL + second) / 2 == Fraction(16675, 1000) and d["total"] == 16.68  # half up
        # each column the mean of its halves', so Σ weight × column gives the total, as in a half-year's notice
        assert d["by_method"] == {"monitoring": 1.0, "field_survey": 0.38, "public_opinion": 75, "third_party": 85}
        assert d["by_section"]["monitoring"]["一"] == 1.0
        k = next(r for r in year["rows"] if r["org"] == KUNDULUN)
        assert "2022H1: 实地调研 (field_survey) has no verified points: counted as 0" in k["reasons"]  # which half
        assert "2022H2: 实地调研 (field_survey) has no verified points: counted as 0" in k["reasons"]
        sheet = openpyxl.load_workbook(io.BytesIO((await scoring.client.get(
            "/v1/rankings", params={**params, "format": "xlsx"})).content)).active
        assert sheet is not None
        headers = [c.value for c in sheet[2]]
        assert headers[3:6] == ["总分", "上半年", "下半年"]
        xlsx_row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1] == DONGHE)
        assert xlsx_row[3:6] == (16.68, 18.1, 15.25) and xlsx_row[6] == 1.0
        said = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1] == KUNDULUN)[-1]  # its 说明
        assert "2022 年下半年：实地调研尚无已核实的分值，按 0 分计" in said and "counted" not in said
        assert "2022 年下半年：实地调研尚无已核实的分值，按 0 分计" in k["reasons_zh"]
        explained = await scoring.client.get("/v1/scores", params={"scheme": scoring.scheme, "period": "2022",
                                                                     "org": DONGHE, "explain": "true"})
        assert explained.status_code == 200 and len(explained.json()["by_method"]) == 4

    async def test_annual_score_with_a_missing_half_is_missing(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        params = {"scheme": scoring.scheme, "period": "2022", "org": DONGHE}
        a = (await scoring.client.get("/v1/scores", params=params)).json()
        assert (a["status"], a["total"], a["rank"]) == ("missing", None, None)
        assert a["reasons"] == ["2022H2 is missing"]
        assert [h["total"] for h in a["halves"]] == [18.10, None]


class TestListingEntries:
    async def test_a_lead_unit_reads_back_its_points_and_the_office_its_queue(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        url = f"/v1/schemes/{scoring.scheme}/assessments"
        got = (await scoring.client.get(url, params={"lead": WEIJIAN, "org": DONGHE})).json()
        assert [(e["status"], e["points"], e["return_reason"]) for e in got["assessments"]] == [
            ("returned", "3/10", "证据不足，请补充平台截图"),  # what 卫健委 was told, and why
            ("verified", "1/2", None),
        ]
        assert got["total"] == 2 and got["assessments"][1]["note"] == "补充了平台截图"
        [pending] = (await scoring.enter("shenpi", row(KUNDULUN, 19, 0.25, "field_survey")))["ids"]
        queue = (await scoring.client.get(url, params={"status": "submitted"})).json()
        assert [(e["id"], e["org"], e["method"], e["item"], e["lead_unit"]) for e in queue["assessments"]] == [
            (pending, KUNDULUN, "field_survey", 19, SHENPI)]
        everything = (await scoring.client.get(url, params={"period": H1})).json()
        page = (await scoring.client.get(url, params={"period": H1, "limit": 2, "offset": 2})).json()
        assert page["total"] == everything["total"] > 4
        assert [e["id"] for e in page["assessments"]] == [e["id"] for e in everything["assessments"][2:4]]

    async def test_bad_filters_are_refused(self, scoring: Scoring) -> None:
        url = f"/v1/schemes/{scoring.scheme}/assessments"
        for params, status, field in (({"org": "150299999999"}, 404, None), ({"period": "2022"}, 422, "period"),
                                      ({"status": "approved"}, 422, "status"), ({"limit": 0}, 422, "limit")):
            r = await scoring.client.get(url, params=params)
            assert r.status_code == status, (params, r.text)
            if field:
                assert r.json()["error"]["details"][0]["field"] == field
        assert (await scoring.client.get("/v1/schemes/999/assessments")).status_code == 404


class TestErrorWording:
    async def test_points_as_text_are_asked_for_as_a_number(self, scoring: Scoring) -> None:
        for bad in ("0.5", True):
            body = await scoring.enter("shenpi", row(DONGHE, 19, bad), status=422)  # type: ignore[arg-type]
            [detail] = body["error"]["details"]
            assert (detail["field"], detail["message"]) == ("assessments[0].points", "Input should be a valid number")

    async def test_a_body_that_is_not_json_says_where(self, scoring: Scoring) -> None:
        r = await scoring.client.post(f"/v1/schemes/{scoring.scheme}/assessments", content=b'{"assessments": [',
                                      headers={**scoring.keys["shenpi"], "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["field"] == "body" and detail["message"].startswith("the body is not valid JSON: ")
        assert "at character" in detail["message"], detail


class TestEntryRules:
    async def count(self, database: Database) -> int:
        async with database.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Assessment)) or 0)

    async def test_assessor_scoring_an_item_it_does_not_lead_is_forbidden(
        self, scoring: Scoring, database: Database
    ) -> None:
        before = await self.count(database)
        r = await scoring.enter("weijian", row(DONGHE, 20, 0.5), row(DONGHE, 19, 0.5), status=403)
        assert r["error"]["details"][0] == {
            "row": 1,
            "field": "item",
            "message": "your unit does not lead item 19; only its lead units score it",
        }
        assert await self.count(database) == before

    async def test_full_marks_of_a_maximum_finer_than_points_are_enterable(self, scoring: Scoring) -> None:
        # Item 6's default maximum is 2/3 (一（三）'s 2 points over three items): 0.6667 is its full marks as
        # points are entered (4 decimals) and counts as 2/3; anything above is refused.
        r = await scoring.enter("office", row(DONGHE, 6, 0.6668), status=422)
        assert "above item 6's maximum of 0.6667 (2/3)" in r["error"]["details"][0]["message"]
        await scoring.enter("office", row(DONGHE, 6, 0.6667))

    async def test_a_lead_unit_may_not_score_its_own_work(self, scoring: Scoring, database: Database) -> None:
        # 考评办法: 各牵头考核单位自身工作及考核分值由市政府办公室数字政府专班予以核实 (the 专班 scores them).
        before = await self.count(database)
        r = await scoring.enter("shenpi", row(DONGHE, 19, 0.5), row(SHENPI, 19, 0.5), status=403)
        assert [(d["row"], d["field"]) for d in r["error"]["details"]] == [(1, "org")]
        assert "数字政府专班" in r["error"]["details"][0]["message"] and await self.count(database) == before

    async def test_every_bad_row_listed_and_nothing_written(self, scoring: Scoring, database: Database) -> None:
        before = await self.count(database)
        r = await scoring.enter(
            "office",
            row(DONGHE, 19, 0.75),  # above the item's 0.5
            row("150202001000", 19, 0.5),  # a street is not assessed
            row(DONGHE, 91, 0.5),  # no such item
            {**row(DONGHE, 19, 0.5), "period": "2023H1"},
            overall(DONGHE, "public_opinion", 80, source=""),
            status=422,
        )
        fields = [(d["row"], d["field"]) for d in r["error"]["details"]]
        assert fields == [(0, "points"), (1, "org"), (2, "item"), (3, "period"), (4, "source")]
        assert "above item 19's maximum of 0.5" in r["error"]["details"][0]["message"]
        assert await self.count(database) == before

    async def test_points_and_scores_finer_than_stored_are_refused(self, scoring: Scoring, database: Database) -> None:
        # Points are kept to 4 decimals and overall scores to 3: 0.00001 and 80.0005 were stored rounded (0, 80.001).
        before = await self.count(database)
        r = await scoring.enter("office", row(DONGHE, 19, 0.00001), row(DONGHE, 20, 1e-300),
                                overall(DONGHE, "public_opinion", 80.0005), status=422)
        assert [(d["row"], d["field"]) for d in r["error"]["details"]] == [(0, "points"), (1, "points"), (2, "score")]
        assert "more than 4 decimals" in r["error"]["details"][0]["message"]
        assert "more than 3 decimals" in r["error"]["details"][2]["message"]
        assert await self.count(database) == before

    async def test_an_adjustment_needs_a_reason(self, scoring: Scoring) -> None:
        await scoring.submit_verified("shenpi", row(DONGHE, 19, 0.25))
        r = await scoring.enter("office", row(DONGHE, 19, 0.5), status=422)
        assert r["error"]["details"][0]["field"] == "reason"

    async def test_a_resend_with_the_same_idempotency_key_replays(self, scoring: Scoring, database: Database) -> None:
        body = {"assessments": [row(DONGHE, 19, 0.5)]}
        headers = {**scoring.keys["shenpi"], "Idempotency-Key": "bt-2022h1-1"}
        url = f"/v1/schemes/{scoring.scheme}/assessments"
        first = await scoring.client.post(url, json=body, headers=headers)
        count = await self.count(database)
        again = await scoring.client.post(url, json=body, headers=headers)
        assert (again.json(), again.headers["Idempotent-Replayed"]) == (first.json(), "true")
        assert await self.count(database) == count
        # The same key and body to another path is another request, not a replay of this one's answer.
        elsewhere = await scoring.client.post("/v1/schemes/99999/assessments", json=body, headers=headers)
        assert elsewhere.status_code == 409 and "different body or path" in elsewhere.text, elsewhere.text
        assert await self.count(database) == count


class TestPublication:
    async def test_xlsx_has_the_numbers_of_the_json(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        params = {"scheme": scoring.scheme, "period": H1, "kind": "county"}
        as_json = (await scoring.client.get("/v1/rankings", params=params)).json()
        r = await scoring.client.get("/v1/rankings", params={**params, "format": "xlsx"})
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[1][:8] == ("排名", "单位代码", "单位名称", "总分", "日常监测", "实地调研", "民意调查", "第三方评估")
        got = [(x[0], x[1], x[3], x[4]) for x in rows[2:-2]]
        want = [(x["rank"], x["org"], x["total"], x["by_method"].get("monitoring")) for x in as_json["rows"]]
        assert got == want
        # Columns and total are each rounded: the 通报 says so (昆都仑区's columns recompute to 18.41, its total 18.40).
        assert rows[-1][0] == "注：" + as_json["rounding"] and "相差 0.01" in as_json["rounding"]

    async def test_published_version_does_not_change_after_an_edit(self, scoring: Scoring) -> None:
        await enter_half_year(scoring)
        url = f"/v1/schemes/{scoring.scheme}/publications"
        p1 = await scoring.client.post(url, json={"period": H1}, headers=scoring.keys["office"])
        assert p1.status_code == 200, p1.text
        assert (p1.json()["version"], len(p1.json()["sha256"])) == (1, 64)
        params = {"scheme": scoring.scheme, "period": H1, "kind": "county", "version": 1}
        published = (await scoring.client.get("/v1/rankings", params=params)).content
        await scoring.enter("office", row(DONGHE, 19, 0, reason="台账不实"))  # an edit after publication
        assert (await scoring.client.get("/v1/rankings", params=params)).content == published
        live_params = {k: v for k, v in params.items() if k != "version"}
        live = (await scoring.client.get("/v1/rankings", params=live_params)).json()
        assert next(x for x in live["rows"] if x["org"] == DONGHE)["total"] == 17.80
        p2 = await scoring.client.post(url, json={"period": H1}, headers=scoring.keys["office"])
        assert p2.json()["version"] == 2 and p2.json()["sha256"] != p1.json()["sha256"]
        v2 = (await scoring.client.get("/v1/rankings", params={**params, "version": 2})).json()
        assert next(x for x in v2["rows"] if x["org"] == DONGHE)["total"] == 17.80
        assert (await scoring.client.get("/v1/rankings", params=params)).content == published
        score = await scoring.client.get(
            "/v1/scores", params={"scheme": scoring.scheme, "period": H1, "org": DONGHE, "version": 1}
        )
        assert score.json()["total"] == 18.10

    async def test_a_publication_is_listed_at_the_moment_its_document_states(self, scoring: Scoring) -> None:
        # The list read it back in the database session's zone (UTC) while the answer to the POST and the
        # published document say Shanghai time: one moment, shown two ways.
        url = f"/v1/schemes/{scoring.scheme}/publications"
        posted = (await scoring.client.post(url, json={"period": H1}, headers=scoring.keys["office"])).json()
        listed = (await scoring.client.get(url)).json()
        params = {"scheme": scoring.scheme, "period": H1, "kind": "county", "version": posted["version"]}
        document = (await scoring.client.get("/v1/rankings", params=params)).json()
        assert listed[-1]["published_at"] == posted["published_at"] == document["publication"]["published_at"]
        assert posted["published_at"].endswith("+08:00")

    async def test_an_assessor_cannot_publish(self, scoring: Scoring) -> None:
        url = f"/v1/schemes/{scoring.scheme}/publications"
        r = await scoring.client.post(url, json={"period": H1}, headers=scoring.keys["shenpi"])
        assert r.status_code == 403


class TestAutomaticMonitoring:
    async def test_linked_item_scores_max_times_achievement_once_verified(
        self, scoring: Scoring, database: Database, make_key: MakeKey
    ) -> None:
        # Configuration (the seed links none): item 19 (0.5 points) follows 全程网办率 QS-07 (target 2022: ≥95).
        async with database.sessions() as session, session.begin():
            item = await session.scalar(
                select(SchemeItem).where(SchemeItem.scheme_id == scoring.scheme, SchemeItem.number == 19)
            )
            assert item is not None
            item.indicator_code = "QS-07"
        push = {
            "observations": [
                {"indicator": "QS-07", "org": QINGSHAN, "date": "2022-06-30", "numerator": 855, "denominator": 1000}
            ]
        }
        r = await scoring.client.post("/v1/observations", json=push, headers=bearer(await make_key("admin")))
        assert r.status_code == 200, r.text
        url = f"/v1/schemes/{scoring.scheme}/automatic"
        r = await scoring.client.post(url, json={"period": H1}, headers=scoring.keys["shenpi"])
        assert r.status_code == 200, r.text
        assert r.json()["submitted"] == 1  # only 青山区 has data; the others are not assessed
        again = await scoring.client.post(url, json={"period": H1}, headers=scoring.keys["shenpi"])
        async with database.sessions() as session:
            states = (await session.scalars(select(Assessment.status).where(Assessment.automatic))).all()
        assert sorted(states) == ["submitted", "superseded"]  # a rerun replaces, never doubles
        r = again
        params = {"scheme": scoring.scheme, "period": H1, "org": QINGSHAN, "explain": "true"}
        before = (await scoring.client.get("/v1/scores", params=params)).json()
        assert before["status"] == "missing"  # submitted, not yet verified
        await scoring.review(r.json()["ids"])
        after = (await scoring.client.get("/v1/scores", params=params)).json()
        item19 = next(i for i in after["by_method"][0]["items"] if i["item"] == 19)
        assert item19["points_exact"] == "9/20"  # 0.5 × (85.5 / 95)
        basis = item19["entries"][0]["basis"]
        assert (basis["value"], basis["target"]["number"], basis["achievement"]) == (85.5, 95, 0.9)
        assert item19["entries"][0]["automatic"] is True


class TestCachedAnswers:
    """Scores and rankings are kept per process under the scheme's revision: a second read is served from
    memory, and every write the scores depend on reaches the next read."""

    async def read(self, s: Scoring) -> tuple[Any, Any, str]:
        score = await s.client.get("/v1/scores", params={"scheme": s.scheme, "period": H1, "org": DONGHE})
        ranking = await s.client.get("/v1/rankings", params={"scheme": s.scheme, "period": H1, "kind": "county"})
        assert score.status_code == ranking.status_code == 200, (score.text, ranking.text)
        mine = next(x for x in ranking.json()["rows"] if x["org"] == DONGHE)
        assert mine["total"] == score.json()["total"]
        return score.json()["total"], score.json()["status"], mine["org_name"]

    async def test_a_second_read_comes_from_memory(self, scoring: Scoring) -> None:
        await scoring.submit_verified("shenpi", row(DONGHE, 19, 0.5))
        first = await self.read(scoring)
        cache = scoring.client._transport.app.state.answers  # type: ignore[attr-defined]
        kept = len(cache)
        assert kept == 2 and await self.read(scoring) == first and len(cache) == kept

    async def test_every_write_reaches_the_next_read(self, scoring: Scoring, database: Database) -> None:
        assert await self.read(scoring) == (None, "missing", "东河区")
        submitted = (await scoring.enter("shenpi", row(DONGHE, 19, 0.5)))["ids"]
        assert (await self.read(scoring))[0] is None  # submitted points do not count
        await scoring.review(submitted)
        assert (await self.read(scoring))[0] == 0.3  # 0.6 × 0.5
        await scoring.enter("office", row(DONGHE, 19, 0.25, reason="复核台账后调整"))
        assert (await self.read(scoring))[0] == 0.15
        r = await scoring.client.put(
            f"/v1/schemes/{scoring.scheme}/applicability",
            json={"applicability": [{"item": 19, "org": DONGHE, "applicable": False, "reason": "无此项业务"}]},
            headers=scoring.keys["office"],
        )
        assert r.status_code == 200, r.text
        assert (await self.read(scoring))[0] == 0  # its only scored item no longer counts
        from shared.core import clock
        from shared.observations import org_tree
        from shared.org_units import store as org_store

        async with database.sessions() as session, session.begin():
            spec = org_store.UnitSpec(DONGHE, "东河区（新）", "region", "county", "150200000000")
            await org_tree.change_tree(session, [spec], today=clock.today())
        assert (await self.read(scoring))[2] == "东河区（新）"
