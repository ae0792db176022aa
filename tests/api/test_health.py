import httpx


class TestHealth:
    async def test_healthz(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}

    async def test_readyz_reports_migrations_current(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready"}

    async def test_metrics_are_prometheus_text(self, client: httpx.AsyncClient) -> None:
        await client.get("/healthz")
        r = await client.get("/metrics")
        assert r.status_code == 200
        assert 'scorecard_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text

    async def test_docs_page_uses_no_cdn(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/docs")
        assert r.status_code == 200
        assert "cdn" not in r.text.lower() and "/static/swagger/swagger-ui-bundle.js" in r.text
        asset = await client.get("/static/swagger/swagger-ui-bundle.js")
        assert asset.status_code == 200 and len(asset.content) > 100_000
        spec = (await client.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.") and "/v1/indicators" in spec["paths"]

    async def test_unknown_path_has_error_shape(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/nope")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
