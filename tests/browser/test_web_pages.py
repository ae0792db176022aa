"""The built-in web view (/ui/) and the API docs (/docs) in a real headless Chromium (Debian's, driven by
Playwright), against the real app under uvicorn with the dashboard tests' fixture data for 青山区 on 2022-07-05.

Proves: Swagger UI 5 renders this OpenAPI 3.1 document's operations; the dashboard shows every child unit with
the status colour of each cell (computed styles, checked against the JSON) and drawn charts; the other pages
(indicator, 通报 ranking with its XLSX, sources) render their data; an error answer is told in Chinese, with the
API's own message beneath; no console error or CSP violation; no request
leaves 127.0.0.1; Chinese is drawn with a CJK font; when reads require a key, the page asks for one, refuses a
wrong one and keeps the right one in the tab only (never in a URL, cookie or localStorage). Screenshots go to the
pytest temp dir (printed with -s)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shared.access import store as access_store
from shared.core import clock
from shared.core.db import make_engine, make_sessionmaker
from shared.ingest.models import RUN_FAILURES, RUN_STATUSES
from shared.scores import wording
from tests.browser.conftest import Recorded, shot
from tests.browser.live_server import BROWSER_DB, TODAY, LiveServer, server_settings
from tests.builders import FUQIANG, QINGSHAN, XINGFU

# The stylesheet's status colours (services/api/ui/static/ui/app.css), as computed styles report them.
STATUS_BG = {
    "met": "rgb(212, 237, 218)",
    "near": "rgb(255, 243, 205)",
    "behind": "rgb(248, 215, 218)",
    "no_data": "rgb(236, 239, 241)",
    "none": "rgb(255, 255, 255)",
}
KINDS = ["behind_target", "not_reporting", "stale_source", "rating_followup_overdue", "item_overdue"]
SERIES_BLUE = (31, 119, 180)  # the first series colour of the charts
UI = Path(__file__).resolve().parents[2] / "services" / "api" / "ui" / "static" / "ui"


async def ready(rec: Recorded, url: str, page: str) -> None:
    await rec.page.goto(url)
    await rec.page.wait_for_selector(f'#app[data-ready="{page}"]', timeout=15_000)
    assert not await rec.page.locator("#app .error").count(), await rec.page.inner_text("#app")


def assert_clean(rec: Recorded, live_url: str) -> None:
    """Nothing but this server was asked for, and the console stayed quiet (a CSP violation is an error)."""
    outside = [u for u in rec.requests if urlsplit(u).scheme not in ("data", "blob")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert not outside, outside
    assert all(u.startswith(live_url) for u in rec.requests if urlsplit(u).scheme.startswith("http"))
    assert not rec.errors, rec.errors
    assert not rec.console_errors(), rec.console_errors()


async def canvas_pixels(rec: Recorded, selector: str) -> dict[str, Any]:
    """Of the chart's canvas: how many pixels are painted at all, and how many in the first series' colour."""
    return await rec.page.evaluate(
        """([selector, rgb]) => {
            const canvas = document.querySelector(selector + " canvas");
            if (!canvas) return null;
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0, series = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] === 0) continue;
                painted += 1;
                if (Math.abs(data[i] - rgb[0]) < 12 && Math.abs(data[i + 1] - rgb[1]) < 12
                    && Math.abs(data[i + 2] - rgb[2]) < 12) series += 1;
            }
            return {width: canvas.width, height: canvas.height, painted, series};
        }""",
        [selector, list(SERIES_BLUE)],
    )


@pytest.fixture(scope="module")
def dashboard_json(live_url: str) -> dict[str, Any]:
    r = httpx.get(f"{live_url}/v1/dashboard", params={"org": QINGSHAN})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["as_of"] == "2022-07-05" and len(body["units"]) == 11
    return body


class TestApiDocs:
    async def test_swagger_ui_renders_the_operations(self, live_url: str, recorded: Recorded,
                                                     screenshots: Path) -> None:
        page = recorded.page
        await page.goto(f"{live_url}/docs")
        await page.wait_for_selector(".opblock-summary-path", timeout=15_000)
        paths = await page.locator(".opblock-summary-path").all_inner_texts()
        assert {"/v1/dashboard", "/v1/values", "/v1/observations", "/v1/rankings"} <= {p.strip() for p in paths}
        assert len(paths) > 20
        assert "Unable to render" not in await page.inner_text("body")
        assert await page.locator(".info .title").count() == 1
        await shot(recorded, screenshots, "docs")
        assert_clean(recorded, live_url)


class TestDashboardPage:
    async def test_every_unit_with_its_status_colours(self, live_url: str, recorded: Recorded, screenshots: Path,
                                                      dashboard_json: dict[str, Any]) -> None:
        await ready(recorded, f"{live_url}/ui/", "dashboard")
        page = recorded.page
        assert "青山区" in await page.inner_text("h1")
        rows = page.locator("table.matrix tbody tr")
        codes = [await rows.nth(i).get_attribute("data-org") for i in range(await rows.count())]
        assert codes == [QINGSHAN] + [u["code"] for u in dashboard_json["units"]]
        text = await page.inner_text("table.matrix")
        assert all(u["name"] in text for u in dashboard_json["units"])
        # Every cell: the status of the JSON, drawn in that status's colour.
        cells = await page.eval_on_selector_all(
            "table.matrix td.cell[data-indicator]",
            """tds => tds.map(td => [td.closest("tr").dataset.org, td.dataset.indicator, td.dataset.status,
                                    getComputedStyle(td).backgroundColor])""",
        )
        expected = {(row["code"], c["indicator"]): c["status"] or "none"
                    for row in [dashboard_json["jurisdiction"], *dashboard_json["units"]] for c in row["indicators"]}
        assert {(o, i): s for o, i, s, _ in cells} == expected
        for org, indicator, status, colour in cells:
            assert colour == STATUS_BG[status], (org, indicator, status, colour)
        drawn = {(o, i): s for o, i, s, _ in cells}
        assert drawn[(FUQIANG, "QS-07")] == "met" and drawn[(XINGFU, "QS-07")] == "behind"
        assert drawn[(QINGSHAN, "QS-07")] == "near" and drawn[(QINGSHAN, "QS-01")] == "no_data"
        assert {s for *_, s, _ in cells} >= {"met", "near", "behind", "no_data"}
        await shot(recorded, screenshots, "dashboard")
        await shot(recorded, screenshots, "dashboard-full", full_page=True)
        assert_clean(recorded, live_url)

    async def test_trend_chart_is_drawn_with_its_target(self, live_url: str, recorded: Recorded,
                                                        screenshots: Path) -> None:
        await ready(recorded, f"{live_url}/ui/", "dashboard")
        chart = '.chart[data-indicator="QS-07"]'
        await recorded.page.locator(chart).scroll_into_view_if_needed()
        pixels = await canvas_pixels(recorded, chart)
        assert pixels is not None, "no canvas in the 全程网办率 chart"
        assert pixels["width"] > 300 and pixels["height"] > 150
        assert pixels["painted"] > 2000, pixels  # axes, grid, the target line and the series
        assert pixels["series"] > 20, pixels  # the line of 青山区's 4 and 5 July values
        card = recorded.page.locator(".chart-card", has=recorded.page.locator(chart))
        assert "≥95%" in await card.inner_text()
        await card.screenshot(path=str(screenshots / "dashboard-chart.png"))
        assert_clean(recorded, live_url)

    async def test_warnings_of_every_kind(self, live_url: str, recorded: Recorded,
                                          dashboard_json: dict[str, Any]) -> None:
        await ready(recorded, f"{live_url}/ui/", "dashboard")
        groups = recorded.page.locator("details.wgroup")
        kinds = [await groups.nth(i).get_attribute("data-kind") for i in range(await groups.count())]
        assert kinds == KINDS
        shown = await recorded.page.locator("table.warnings tbody tr").count()
        assert shown == len(dashboard_json["warnings"])
        assert "未报送7月5日的全程网办率" in await recorded.page.inner_text("details.wgroup[data-kind=not_reporting]")
        assert_clean(recorded, live_url)

    async def test_overdue_ratings_counted_in_one_warning_count_as_many(
        self, live_url: str, recorded: Recorded, screenshots: Path, dashboard_json: dict[str, Any]
    ) -> None:
        # The fixture has one overdue 差评; a province has thousands: the dashboard lists the oldest and counts the
        # rest in one warning of subject type "ratings" (shared/dashboard/warnings.py). Served as the API would.
        body = json.loads(json.dumps(dashboard_json))
        body["warnings"].append({
            "kind": "rating_followup_overdue", "unit": body["org"]["code"], "unit_name": body["org"]["name"],
            "subject": {"type": "ratings", "code": body["org"]["code"], "name": "另有120条差评"},
            "since": "2022-06-20", "message": "青山区另有120条差评已超过整改期限未整改", "details": {"count": 120}})

        async def counted(route: Any) -> None:
            await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

        await recorded.page.route("**/v1/dashboard?*", counted)
        await ready(recorded, f"{live_url}/ui/", "dashboard")
        group = recorded.page.locator("details.wgroup[data-kind=rating_followup_overdue]")
        listed = len([w for w in dashboard_json["warnings"] if w["kind"] == "rating_followup_overdue"])
        assert f"{listed + 120} 条" in await group.locator("summary").inner_text()
        assert await group.locator("tbody tr").count() == listed + 1
        total = len(dashboard_json["warnings"]) + 120
        assert f"预警（{total}）" in await recorded.page.inner_text("#app")
        await group.screenshot(path=str(screenshots / "dashboard-counted-ratings.png"))
        assert_clean(recorded, live_url)

    async def test_chinese_is_drawn_with_a_cjk_font(self, live_url: str, recorded: Recorded) -> None:
        await ready(recorded, f"{live_url}/ui/", "dashboard")
        cdp = await recorded.page.context.new_cdp_session(recorded.page)
        root = await cdp.send("DOM.getDocument")
        node = await cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": "h1"})
        await cdp.send("CSS.enable")
        fonts = (await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]}))["fonts"]
        cjk = [f for f in fonts if "CJK" in f["familyName"] or "Noto Sans SC" in f["familyName"]]
        assert cjk and sum(f["glyphCount"] for f in cjk) >= len("青山区数字政府建设看板"), fonts


class TestOtherPages:
    async def test_indicator_page_series_of_the_children(self, live_url: str, recorded: Recorded,
                                                         screenshots: Path, dashboard_json: dict[str, Any]) -> None:
        await ready(recorded, f"{live_url}/ui/#/indicator?code=QS-07&g=day", "indicator")
        page = recorded.page
        rows = page.locator("table.series tbody tr[data-org]")
        assert await rows.count() == 11
        fuqiang = page.locator(f'table.series tr[data-org="{FUQIANG}"] td')
        assert (await fuqiang.last.inner_text()).strip() == "99%"
        assert await fuqiang.last.evaluate("td => getComputedStyle(td).backgroundColor") == STATUS_BG["met"]
        pixels = await canvas_pixels(recorded, '.chart[data-indicator="QS-07"]')
        assert pixels is not None and pixels["painted"] > 2000, pixels
        option = await page.evaluate(
            "() => echarts.getInstanceByDom(document.querySelector('.chart[data-indicator=\"QS-07\"]')).getOption()"
        )
        names = [s["name"] for s in option["series"]]
        assert len(names) == 13 and names[-1] == "目标" and "幸福路街道" in names
        assert set(option["series"][-1]["data"]) == {95}
        await shot(recorded, screenshots, "indicator", full_page=True)
        assert_clean(recorded, live_url)

    async def test_ranking_page_and_its_xlsx(self, live_url: str, recorded: Recorded, screenshots: Path) -> None:
        await ready(recorded, f"{live_url}/ui/#/ranking", "ranking")
        page = recorded.page
        assert await page.locator("table.ranking tbody tr").count() == 10
        assert "青山区" in await page.inner_text("table.ranking")
        assert "相差 0.01，以总分为准" in await page.inner_text("p.rounding")  # columns and total rounded apart
        notes = await page.locator("table.ranking td.note").all_inner_texts()
        assert not [n for n in notes if "counted as" in n or "missing" in n]  # every reason told in Chinese
        href = await page.get_attribute("a.download", "href")
        assert href == "/v1/rankings?scheme=1&period=2022H1&kind=county&format=xlsx"
        r = httpx.get(live_url + href)
        assert r.status_code == 200 and r.content[:2] == b"PK"
        assert "spreadsheetml" in r.headers["content-type"]
        await shot(recorded, screenshots, "ranking")
        assert_clean(recorded, live_url)

    async def test_sources_page(self, live_url: str, recorded: Recorded, screenshots: Path) -> None:
        await ready(recorded, f"{live_url}/ui/#/sources", "sources")
        page = recorded.page
        wangban = await page.inner_text('table.sources tr[data-source="wangban"]')
        assert "成功" in wangban and "正常" in wangban
        yichuang = await page.inner_text('table.sources tr[data-source="yichuang"]')
        assert "从未运行" in yichuang and "超时" in yichuang
        last_good = await page.inner_text('table.sources tr[data-source="wangban"] td:nth-child(4)')
        assert last_good != "无" and last_good.endswith("）")  # the run the API marks good: its time (how long ago)
        assert await page.locator("table.runs tbody tr").count() == 1
        remark = page.locator("table.runs tbody tr td span.note")  # in Chinese, from the run's own counts
        run = httpx.get(f"{live_url}/v1/ingest-runs").json()[0]
        skipped = f"、跳过 {run['rows_skipped']} 行（空行、说明、合计或重复行）" if run["rows_skipped"] else ""
        expected = (f"接收 {run['rows_accepted']} 行、拒收 {run['rows_rejected']} 行{skipped}；"
                    f"数据新增 {run['inserted']}、更正 {run['updated']}、未变 {run['unchanged']}")
        assert run["rows_skipped"]  # the fixture's export has its 合计 row: the remark says it was skipped
        assert await remark.inner_text() == expected
        assert await remark.get_attribute("title") == run["message"]  # the collector's words, as the tooltip
        done = datetime.fromisoformat(run["finished_at"])  # in Shanghai time, shown as such
        assert last_good.startswith(f"{done.year}/{done.month}/{done.day} {done:%H:%M:%S}（"), (last_good, done)
        await shot(recorded, screenshots, "sources")
        assert_clean(recorded, live_url)

    def test_every_run_status_has_a_chinese_label_a_remark_and_a_colour(self) -> None:
        # The sources page shows a run's status by RUN[status] || status: an unlisted one would appear in English.
        script = (UI / "app.js").read_text(encoding="utf-8")
        block = re.search(r"const RUN = \{(.*?)\};", script, re.DOTALL)
        assert block is not None
        labels = dict(re.findall(r"(\w+): \"([^\"]+)\"", block.group(1)))
        assert set(labels) == set(RUN_STATUSES), labels
        assert all(re.search(r"[\u4e00-\u9fff]", text) for text in labels.values()), labels
        notes = re.search(r"const RUN_NOTE = \{(.*?)\};", script, re.DOTALL)
        assert notes is not None  # a remark for each status; succeeded and failed are written from the run itself
        assert set(re.findall(r"(\w+): \"", notes.group(1))) == set(RUN_STATUSES) - {"succeeded", "failed"}
        css = (UI / "app.css").read_text(encoding="utf-8")
        assert all(f".r-{status}" in css for status in RUN_STATUSES), [s for s in RUN_STATUSES if f".r-{s}" not in css]
        failures = re.search(r"const FAILURE_TEXT = \{(.*?)\};", script, re.DOTALL)
        assert failures is not None  # what a failed run met, for each kind the run store accepts
        texts = dict(re.findall(r"(\w+): \"([^\"]+)\"", failures.group(1)))
        assert set(texts) == set(RUN_FAILURES) and all(re.search(r"[\u4e00-\u9fff]", t) for t in texts.values())

    async def test_a_failed_run_is_told_by_what_it_met(
        self, live_url: str, recorded: Recorded, screenshots: Path
    ) -> None:
        # The live data has no failed run: the page is shown the real run as one that could not be fetched.
        [run] = httpx.get(f"{live_url}/v1/ingest-runs").json()
        counts = ("rows_read", "rows_accepted", "rows_rejected", "rows_skipped", "inserted", "updated", "unchanged")
        failed = {**run, **dict.fromkeys(counts, 0), "status": "failed", "good": False, "failure": "fetch",
                  "message": "no answer within timeout_seconds (30 s) (3 tries)"}
        await recorded.page.route("**/v1/ingest-runs?*", lambda route: route.fulfill(json=[failed]))
        await ready(recorded, f"{live_url}/ui/#/sources", "sources")
        remark = recorded.page.locator("table.runs tbody tr td span.note")
        assert await remark.inner_text() == ("采集失败：无法从平台取得导出文件（网络、超时或平台返回错误），"
                                             "之后会重试；详情见提示")
        assert await remark.get_attribute("title") == failed["message"]
        wangban = await recorded.page.inner_text('table.sources tr[data-source="wangban"]')
        assert "失败" in wangban and "无" in wangban  # its last run failed; no good run among those shown
        await shot(recorded, screenshots, "sources-failed")

    async def test_an_error_is_told_in_chinese_with_the_apis_words_beneath(
        self, live_url: str, recorded: Recorded, screenshots: Path
    ) -> None:
        page = recorded.page
        await page.goto(f"{live_url}/ui/#/dashboard?org=150299999999")  # a unit that does not exist: 404
        await page.wait_for_selector('#app[data-ready="dashboard"] .error', timeout=15_000)
        assert await page.inner_text("#app .error") == "加载失败：未找到所请求的单位、指标或方案，请检查链接中的代码"
        detail = await page.inner_text("#app .detail")
        assert detail.startswith("服务器信息：") and "150299999999" in detail
        assert await page.get_attribute("#app a[href='#/dashboard']", "href") == "#/dashboard"  # a way back
        await shot(recorded, screenshots, "error-not-found")
        await page.goto(f"{live_url}/ui/#/indicator?code=QS-07&year=20x2")  # not a year: 422
        await page.wait_for_selector("#app .error:has-text('请求参数无效')", timeout=15_000)
        assert not recorded.errors, recorded.errors  # error answers are shown, not thrown

    async def test_pages_are_sent_with_a_self_only_csp(self, live_url: str) -> None:
        for path in ("/ui/", "/docs"):
            r = httpx.get(live_url + path)
            csp = r.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "script-src 'self';" in csp and "http" not in csp, path
            assert "<script>" not in r.text  # no inline script: every script is a file of this server
        assert httpx.get(live_url + "/ui").status_code == 308


class TestWhatABlindProbeFound:
    """A user's walk through the pages by a helper that had not seen the code (stop 20): each defect it met."""

    async def test_a_slow_reply_for_a_page_left_does_not_replace_the_page_asked_for(
        self, live_url: str, recorded: Recorded, dashboard_json: dict[str, Any]
    ) -> None:
        page = recorded.page
        names = {u["code"]: u["name"] for u in dashboard_json["units"]}

        async def slow(route: Any) -> None:
            await asyncio.sleep(1.5)
            await route.continue_()

        await page.route(f"**/v1/dashboard?org={FUQIANG}*", slow)
        await page.goto(f"{live_url}/ui/#/dashboard?org={FUQIANG}")
        await page.wait_for_timeout(200)
        await page.evaluate(f"() => {{ location.hash = '#/dashboard?org={XINGFU}'; }}")
        await page.wait_for_selector(f"#app h1:has-text('{names[XINGFU]}')", timeout=15_000)
        await page.wait_for_timeout(2_000)  # the slow reply has come meanwhile
        assert names[XINGFU] in await page.inner_text("#app h1")
        assert await page.get_attribute("#app", "data-ready") == "dashboard"
        assert not recorded.errors, recorded.errors

    async def test_the_top_bar_stays_on_the_unit_and_year_looked_at(self, live_url: str, recorded: Recorded) -> None:
        await ready(recorded, f"{live_url}/ui/#/dashboard?org={XINGFU}&year=2022", "dashboard")
        page = recorded.page
        assert await page.get_attribute("header nav a[data-nav='indicator']", "href") == (
            f"#/indicator?org={XINGFU}&year=2022")
        assert await page.get_attribute("header nav a[data-nav='dashboard']", "href") == (
            f"#/dashboard?org={XINGFU}&year=2022")
        await page.click("header nav a[data-nav='indicator']")
        await page.wait_for_selector('#app[data-ready="indicator"]', timeout=15_000)
        assert "幸福路街道" in await page.inner_text("#app h1")

    async def test_a_link_with_the_unit_as_a_query_opens_its_dashboard(
        self, live_url: str, recorded: Recorded, dashboard_json: dict[str, Any]
    ) -> None:
        name = next(u["name"] for u in dashboard_json["units"] if u["code"] == XINGFU)
        await ready(recorded, f"{live_url}/ui/?org={XINGFU}&year=2022", "dashboard")
        assert name in await recorded.page.inner_text("#app h1")
        assert recorded.page.url == f"{live_url}/ui/#/dashboard?org={XINGFU}&year=2022"  # the address one shares

    async def test_the_year_list_runs_from_the_first_plan_year_to_this_year(
        self, live_url: str, recorded: Recorded
    ) -> None:
        page = recorded.page
        this_year = int(await page.evaluate(
            "() => new Intl.DateTimeFormat('en', {timeZone: 'Asia/Shanghai', year: 'numeric'}).format(new Date())"))
        # Opened on a year, the page knows only the browser's clock; opened without one, the server's (2022 here).
        for url, last in ((f"{live_url}/ui/#/dashboard?year=2021", this_year), (f"{live_url}/ui/", 2022)):
            await ready(recorded, url, "dashboard")
            years = await page.eval_on_selector_all("select[aria-label='年度'] option", "os => os.map(o => o.value)")
            assert years == [str(y) for y in range(last, 2019, -1)], (url, years)

    async def test_the_error_page_can_retry_and_its_way_back_works_from_the_default_address(
        self, live_url: str, recorded: Recorded
    ) -> None:
        page = recorded.page
        down = {"on": True}

        async def maybe_down(route: Any) -> None:
            if down["on"]:
                await route.fulfill(status=503, json={"error": {"code": "database_unavailable",
                                                                "message": "the database is unavailable"}})
            else:
                await route.continue_()

        await page.route("**/v1/dashboard?*", maybe_down)
        await page.goto(f"{live_url}/ui/#/dashboard")
        await page.wait_for_selector('#app[data-ready="dashboard"] .error', timeout=15_000)
        down["on"] = False
        await page.click("#app a[href='#/dashboard']")  # the address already is #/dashboard
        await page.wait_for_selector("#app table.matrix", timeout=15_000)
        down["on"] = True
        await page.evaluate("() => { location.hash = '#/dashboard?year=2022'; }")
        await page.wait_for_selector("#app .error", timeout=15_000)
        down["on"] = False
        await page.click("#app button.retry")
        await page.wait_for_selector("#app table.matrix", timeout=15_000)

    async def test_the_indicator_page_shows_the_jurisdictions_own_target_where_its_units_have_none(
        self, live_url: str, recorded: Recorded, dashboard_json: dict[str, Any]
    ) -> None:
        with_units = {c["indicator"] for u in dashboard_json["units"] for c in u["indicators"] if c["target"]}
        own = [c for c in dashboard_json["jurisdiction"]["indicators"]
               if c["target"] and c["target"]["number"] is not None and c["indicator"] not in with_units]
        assert own, "the fixture has an indicator targeted at 青山区 only"
        code, number = own[0]["indicator"], own[0]["target"]["number"]
        await ready(recorded, f"{live_url}/ui/#/indicator?code={code}", "indicator")
        page = recorded.page
        assert "无目标" not in await page.inner_text("#app h2")
        option = await page.evaluate(
            f"() => echarts.getInstanceByDom(document.querySelector('.chart[data-indicator=\"{code}\"]')).getOption()"
        )
        assert option["series"][-1]["name"] == "目标" and number in option["series"][-1]["data"]

    async def test_on_a_phone_the_page_fits_and_the_table_scrolls_in_its_box(
        self, live_url: str, browser: Any, screenshots: Path
    ) -> None:
        context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                            timezone_id="Asia/Shanghai", is_mobile=True)
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
        try:
            await page.goto(f"{live_url}/ui/")
            await page.wait_for_selector('#app[data-ready="dashboard"] table.matrix', timeout=15_000)
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 391, width  # no sideways scroll of the whole page
            box = await page.evaluate("() => { const s = document.querySelector('table.matrix').parentElement;"
                                      " return [s.scrollWidth, s.clientWidth]; }")
            assert box[0] > box[1], box  # the matrix scrolls inside its box, its columns as wide as on a desk
            widths = await page.evaluate("() => [document.querySelector('table.matrix').getBoundingClientRect().width,"
                                         " document.querySelectorAll('table.matrix th.ind').length]")
            assert widths[0] >= 118 + 96 + 72 * widths[1], widths
            rows = await page.eval_on_selector_all("table.warnings tbody tr", "rs => rs.map(r => r.offsetHeight)")
            assert rows and max(rows) < 160, rows  # a warning's 说明 is not squeezed into a column of single characters
            assert await page.locator("select[aria-label='年度']").is_visible()
            await page.screenshot(path=str(screenshots / "phone.png"))
            await page.locator("div.warnings").scroll_into_view_if_needed()
            await page.screenshot(path=str(screenshots / "phone-warnings.png"))
            assert not console, console  # a style refused by the CSP would be reported here
        finally:
            await context.close()

    async def test_numbers_carry_their_unit_and_a_missing_indicator_is_a_dash(
        self, live_url: str, recorded: Recorded, dashboard_json: dict[str, Any]
    ) -> None:
        trimmed = json.loads(json.dumps(dashboard_json))
        first = trimmed["units"][0]
        dropped = first["indicators"].pop()["indicator"]  # a unit the indicator's plan does not cover
        await recorded.page.route(f"**/v1/dashboard?org={QINGSHAN}", lambda route: route.fulfill(json=trimmed))
        await ready(recorded, f"{live_url}/ui/#/dashboard?org={QINGSHAN}", "dashboard")
        page = recorded.page
        cell = page.locator(f'table.matrix tr[data-org="{first["code"]}"] td.cell.na')
        assert await cell.count() == 1 and (await cell.inner_text()).strip() == "—"
        assert "没有此指标" in (await cell.get_attribute("title") or "")
        counted = [(c["indicator"], c["unit"]) for c in trimmed["jurisdiction"]["indicators"]
                   if c["value"] is not None and c["unit"] not in (None, "%")]
        assert counted, "the fixture has a value that is not a percentage"
        for code, unit in counted:
            text = await page.inner_text(f'table.matrix tr.own td[data-indicator="{code}"]')
            assert text.strip().endswith(unit), (code, text)
        cards = await page.eval_on_selector_all(".cards .card .big", "bs => bs.slice(1, 6).map(b => +b.textContent)")
        assert sum(cards) == len(trimmed["jurisdiction"]["indicators"]), cards  # the cards add up
        assert dropped

    async def test_a_years_row_shows_its_halves_and_its_reasons_in_chinese(
        self, live_url: str, recorded: Recorded
    ) -> None:
        real = httpx.get(f"{live_url}/v1/rankings", params={"scheme": 1, "period": "2022", "kind": "county"}).json()
        real["rows"][0]["reasons"] = ["2022H1: 实地调研 (field_survey) has no verified points: counted as 0"]
        real["rows"][0]["reasons_zh"] = [wording.chinese(r) for r in real["rows"][0]["reasons"]]
        real["rows"][0].update(total=16.68, halves={"2022H1": 18.1, "2022H2": 15.25})
        await recorded.page.route("**/v1/rankings?*", lambda route: route.fulfill(json=real))
        await ready(recorded, f"{live_url}/ui/#/ranking?scheme=1&period=2022&kind=county", "ranking")
        note = await recorded.page.inner_text(f'table.ranking tr[data-org="{real["rows"][0]["org"]}"] td.note')
        assert note == "2022 年上半年：实地调研尚无已核实的分值，按 0 分计"
        heads = await recorded.page.locator("table.ranking th.half").all_inner_texts()
        row = recorded.page.locator(f'table.ranking tr[data-org="{real["rows"][0]["org"]}"]')
        cells = await row.locator("td.half").all_inner_texts()
        assert (heads, cells) == (["上半年", "下半年"], ["18.1", "15.25"])  # the halves a year's total is the mean of

    async def test_a_city_over_a_districts_plan_shows_no_targets_of_the_district_as_its_own(
        self, live_url: str, recorded: Recorded, dashboard_json: dict[str, Any]
    ) -> None:
        # 包头市 over 青山区's plan: the city has no indicator of its own; its units do.
        city = json.loads(json.dumps(dashboard_json))
        city["jurisdiction"]["indicators"] = []
        await recorded.page.route(f"**/v1/dashboard?org={QINGSHAN}", lambda route: route.fulfill(json=city))
        await ready(recorded, f"{live_url}/ui/#/dashboard?org={QINGSHAN}", "dashboard")
        targets = await recorded.page.locator("table.matrix th.ind .tgt").all_inner_texts()
        assert targets and set(targets) == {"目标见各单位"}, targets
        assert "本级没有规划指标" in await recorded.page.inner_text("#app")

    async def test_a_cells_target_and_completion_reach_a_keyboard_and_a_tap(
        self, live_url: str, recorded: Recorded, screenshots: Path
    ) -> None:
        await ready(recorded, f"{live_url}/ui/", "dashboard")
        page = recorded.page
        cell = page.locator(f'table.matrix tr[data-org="{FUQIANG}"] td[data-indicator="QS-07"]')
        await cell.focus()  # reachable by Tab: the cell takes focus
        detail = page.locator("p.cell-detail")
        said = await detail.inner_text()
        assert "富强路街道" in said and "目标：≥95%" in said and "完成度" in said and "报送单位" in said, said
        assert "目标：≥95%" in (await cell.get_attribute("aria-label") or "")
        other = page.locator(f'table.matrix tr[data-org="{XINGFU}"] td[data-indicator="QS-07"]')
        await other.click()  # a tap on a touch screen
        assert "幸福路街道" in await detail.inner_text()
        await shot(recorded, screenshots, "cell-detail")
        assert_clean(recorded, live_url)

    async def test_the_chart_library_licence_opens_as_text(self, live_url: str) -> None:
        page = httpx.get(f"{live_url}/ui/").text
        for link in re.findall(r'href="(/static/echarts/[^"]+)"', page):
            r = httpx.get(live_url + link)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), (link, r.headers)
        assert len(re.findall(r'href="/static/echarts/', page)) == 2


@pytest.fixture(scope="module")
async def keyed(live_url: str, pg_server_url: str) -> AsyncIterator[tuple[str, str]]:
    """A second API process over the same data whose reads require a key, and a viewer key for it."""
    settings = server_settings(pg_server_url.rsplit("/", 1)[0] + f"/{BROWSER_DB}")
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"read_requires_key": True})})
    engine = make_engine(settings.db, "scorecard-browser-keyed")
    async with make_sessionmaker(engine)() as s, s.begin():
        _, key = await access_store.create_key(s, name="browser-viewer", role="viewer", org=None,
                                               pepper=settings.api.key_pepper, actor="tests")
    await engine.dispose()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clock, "now", lambda: TODAY)
        server = LiveServer(settings)
        try:
            yield server.start(), key
        finally:
            server.stop()


class TestReadsBehindAKey:
    async def test_the_page_asks_for_a_key_and_keeps_it_in_the_tab_only(
        self, keyed: tuple[str, str], recorded: Recorded, screenshots: Path
    ) -> None:
        url, key = keyed
        page = recorded.page
        await page.goto(f"{url}/ui/")
        form = page.locator("form.keyform")
        await form.wait_for(timeout=15_000)
        assert "需要 API 密钥" in await form.inner_text()
        await shot(recorded, screenshots, "key-form")
        await form.locator("input").fill("sc_not-a-key")  # a wrong key: asked again, nothing shown
        await form.locator("button").click()
        await page.wait_for_timeout(500)
        await page.locator("form.keyform").wait_for(timeout=15_000)
        assert not await page.locator("table").count()
        await page.locator("form.keyform input").fill(f"  {key} ")  # pasted with spaces around it
        await page.locator("form.keyform button").click()
        # (data-ready is already set by the refused tries: wait for the dashboard itself)
        await page.wait_for_selector("#app h1:has-text('青山区')", timeout=15_000)
        await page.wait_for_selector("#app table tbody tr", timeout=15_000)
        assert not await page.locator("form.keyform").count()
        await shot(recorded, screenshots, "dashboard-with-key")
        stored = await page.evaluate("() => [sessionStorage.getItem('scorecard-key'), localStorage.length,"
                                     " document.cookie, location.href]")
        assert stored[0] == key and stored[1] == 0 and stored[2] == "" and key not in stored[3]
        assert not recorded.errors, recorded.errors  # no script error (the 401s are answers, not faults)
        assert all(key not in u for u in recorded.requests)  # sent as a header, never in a URL
