"""The built-in web pages: the read-only dashboard at /ui/ and the API docs at /docs (Swagger UI 5).

Everything the browser loads comes from this package's `static/` directory (ECharts, Swagger UI, our own JS and
CSS), served at /static: government networks have no internet. Both pages are sent with a Content-Security-Policy
that allows only this server ('self'), and carry no inline script; the page's settings travel in <meta> tags.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from shared.core.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PAGES = HERE / "pages"

# 'self' only. Swagger UI's stylesheet draws its icons as data: SVG images, which load nothing from a network.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _page(name: str, **values: str) -> HTMLResponse:
    text = (PAGES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return HTMLResponse(text, headers=HEADERS)


def install(app: FastAPI, settings: Settings) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return _page("docs.html", title=app.title, openapi_url=str(app.openapi_url))

    @app.get("/ui", include_in_schema=False)
    async def ui_redirect() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=308)

    @app.get("/ui/", include_in_schema=False)
    async def ui() -> HTMLResponse:
        return _page("index.html", default_org=settings.ui.default_org)
