"""The floor for serving stored bytes: a bare Starlette endpoint returning one file's bytes (bench_scores.py)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(os.environ["BENCH_BYTES_FILE"]).read_bytes()
MEDIA_TYPE = os.environ.get("BENCH_BYTES_TYPE", "application/json")


async def serve(_request: Request) -> Response:
    return Response(BODY, media_type=MEDIA_TYPE)


app = Starlette(routes=[Route("/bytes", serve)])
