"""GET /v1/ratings/overdue, POST /v1/ratings/{id}/followup and GET /v1/ingest-runs."""

from datetime import date, datetime

import httpx
import pytest

from services.api.deps import Database
from services.api.main import create_app
from shared.core import clock
from shared.core.settings import RatingSettings
from shared.ingest import store as ingest_store
from shared.ingest.models import GOOD_STATUSES, RUN_STATUSES, IngestRun
from shared.ratings import store as rating_store
from shared.ratings.types import RatingIn
from tests.builders import FUQIANG, QINGSHAN
from tests.conftest import MakeKey, bearer


@pytest.fixture
async def bad_rating(database: Database) -> str:
    async with database.sessions() as s, s.begin():
        await rating_store.write_ratings(
            s,
            [RatingIn("HCP1", FUQIANG, "失业保险金申领", "12345热线", 2, datetime(2022, 6, 1, 10, 0), False)],
            source="t",
            actor="t",
            settings=RatingSettings(),
            today=date(2022, 6, 1),
        )
    return "HCP1"


class TestOverdue:
    async def test_listed_after_the_deadline_only(self, client: httpx.AsyncClient, bad_rating: str) -> None:
        # 2022-06-01 + 15 working days (端午 6月3日 off) = 2022-06-23.
        on_time = await client.get("/v1/ratings/overdue", params={"org": QINGSHAN, "today": "2022-06-23"})
        assert on_time.json() == []
        late = (await client.get("/v1/ratings/overdue", params={"org": QINGSHAN, "today": "2022-06-24"})).json()
        assert [(r["rating_id"], r["followup_state"], r["followup_due_date"]) for r in late] == [
            ("HCP1", "待核实", "2022-06-23")
        ]

    async def test_a_long_list_comes_in_pages_linked_by_their_end(self, client: httpx.AsyncClient, database) -> None:
        async with database.sessions() as s, s.begin():
            await rating_store.write_ratings(
                s,
                [RatingIn(f"HCP{n}", FUQIANG, "失业保险金申领", "网站", 1, datetime(2022, 6, day, 9, 0), False)
                 for n, day in ((1, 2), (2, 1), (3, 1), (4, 6), (5, 7))],
                source="t", actor="t", settings=RatingSettings(), today=date(2022, 6, 30),
            )
        seen, url, params = [], "/v1/ratings/overdue", {"org": QINGSHAN, "today": "2022-08-01", "limit": "2"}
        while url:
            page = await client.get(url, params=params)
            assert page.status_code == 200 and len(page.json()) <= 2
            seen += [r["rating_id"] for r in page.json()]
            link = page.headers.get("link")
            url, params = (link.split(">")[0].lstrip("<"), None) if link else ("", None)
        assert seen == ["HCP2", "HCP3", "HCP1", "HCP4", "HCP5"]  # by deadline, then rating id; each once

    @pytest.mark.parametrize("after", ["HCP1", "2022-06-23", "2022-02-30,HCP1", "20220623,HCP1", "2022-06-23,"])
    async def test_a_page_end_not_as_the_link_gives_it_is_a_422(self, client: httpx.AsyncClient, after: str) -> None:
        r = await client.get("/v1/ratings/overdue", params={"after": after})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "after"

    async def test_rectified_is_no_longer_overdue(self, client, bad_rating: str, make_key: MakeKey) -> None:
        key = bearer(await make_key("admin"))
        r = await client.post("/v1/ratings/HCP1/followup", json={"state": "已整改"}, headers=key)
        assert r.status_code == 200 and r.json()["followup_state"] == "已整改"
        assert r.json()["followup_done_at"].endswith("+08:00")  # Shanghai time, as every moment the API shows
        assert (await client.get("/v1/ratings/overdue", params={"today": "2022-07-01"})).json() == []

    async def test_followup_needs_a_writer_key(self, client, bad_rating: str, make_key: MakeKey) -> None:
        r = await client.post(
            "/v1/ratings/HCP1/followup", json={"state": "已整改"}, headers=bearer(await make_key("viewer"))
        )
        assert r.status_code == 403

    async def test_unknown_rating_is_404(self, client, make_key: MakeKey) -> None:
        r = await client.post(
            "/v1/ratings/NOPE/followup", json={"state": "核实中"}, headers=bearer(await make_key("admin"))
        )
        assert r.status_code == 404


class TestIngestRuns:
    async def test_lists_runs_with_counts_and_errors(self, client, database: Database) -> None:
        async with database.sessions() as s, s.begin():
            await ingest_store.add_run(
                s,
                IngestRun(
                    source_id="wangban",
                    status="succeeded",
                    started_at=datetime(2022, 6, 1, 1, 0),
                    rows_read=11,
                    rows_accepted=10,
                    rows_rejected=1,
                    errors=[{"row": 7, "field": "区划代码", "message": "unknown"}],
                    warnings=[],
                ),
            )
        runs = (await client.get("/v1/ingest-runs", params={"source": "wangban"})).json()
        assert [(r["rows_read"], r["rows_rejected"], r["errors"][0]["row"]) for r in runs] == [(11, 1, 7)]
        assert (await client.get("/v1/ingest-runs", params={"source": "other"})).json() == []

    async def test_moments_are_in_shanghai_time_on_either_backend(self, any_database: Database, settings) -> None:
        # PostgreSQL handed them back in UTC ("…Z"), SQLite without any zone (a browser reads that as its own).
        started = clock.now().replace(microsecond=0)
        async with any_database.sessions() as s, s.begin():
            await ingest_store.add_run(s, IngestRun(source_id="zoned", status="succeeded", started_at=started,
                                                    finished_at=started, errors=[], warnings=[]))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, any_database)),
                                     base_url="http://api") as c:
            run = (await c.get("/v1/ingest-runs", params={"source": "zoned"})).json()[0]
        assert run["started_at"] == run["finished_at"] == started.isoformat()
        assert run["started_at"].endswith("+08:00")

    async def test_each_run_says_whether_it_left_its_source_current(self, client, database: Database) -> None:
        """`good`: the statuses after which a source's figures are current (the web view's 最近成功 column)."""
        async with database.sessions() as s, s.begin():
            for n, status in enumerate(RUN_STATUSES):
                await ingest_store.add_run(s, IngestRun(source_id="every", status=status,
                                                        failure="fetch" if status == "failed" else None,
                                                        started_at=datetime(2022, 6, 1, 1, n), errors=[], warnings=[]))
        runs = (await client.get("/v1/ingest-runs", params={"source": "every"})).json()
        assert {r["status"]: r["good"] for r in runs} == {status: status in GOOD_STATUSES for status in RUN_STATUSES}
        assert sum(r["good"] for r in runs) == 3  # succeeded, skipped, not_modified
        assert {r["status"]: r["failure"] for r in runs if r["failure"]} == {"failed": "fetch"}

    async def test_an_unknown_status_is_refused_with_the_known_ones(self, client) -> None:
        r = await client.get("/v1/ingest-runs", params={"status": "ok"})
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["field"] == "status" and "use one of running, succeeded, failed" in detail["message"]
        assert (await client.get("/v1/ingest-runs", params={"status": "abandoned"})).json() == []

    @pytest.mark.parametrize(("status", "failure"), [("failed", None), ("failed", "timeout"), ("succeeded", "fetch")])
    async def test_only_a_failed_run_has_a_failure_and_one_of_the_listed(
        self, database: Database, status: str, failure: str | None
    ) -> None:
        async with database.sessions() as s:
            with pytest.raises(ValueError, match="a failed run says which of"):
                await ingest_store.add_run(s, IngestRun(source_id="x", status=status, failure=failure,
                                                        started_at=datetime(2022, 6, 1), errors=[], warnings=[]))

    async def test_an_integration_key_follows_up_only_its_own_subtree(
        self, client, bad_rating: str, make_key: MakeKey, database: Database
    ) -> None:
        # HCP1 is a 富强路街道 (青山区) rating: a 东河区 platform may not touch it, a 青山区 one may.
        elsewhere = bearer(await make_key("integration", org="150202000000"))
        r = await client.post("/v1/ratings/HCP1/followup", json={"state": "已整改"}, headers=elsewhere)
        assert r.status_code == 403 and "outside this key's subtree" in r.json()["error"]["message"], r.text
        late = (await client.get("/v1/ratings/overdue", params={"org": QINGSHAN, "today": "2022-06-24"})).json()
        assert [x["followup_state"] for x in late] == ["待核实"]  # nothing changed
        own = bearer(await make_key("integration", org=QINGSHAN))
        r = await client.post("/v1/ratings/HCP1/followup", json={"state": "核实中"}, headers=own)
        assert r.status_code == 200 and r.json()["followup_state"] == "核实中", r.text
