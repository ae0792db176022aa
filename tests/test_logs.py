"""Issue 10 item 5, logs: JSON lines with SCORECARD_LOG__FORMAT=json, a request id per API request (taken from
X-Request-ID when valid, else made; echoed in the answer), and no personal data on any line."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.core import logs, migrations
from shared.core.settings import LogSettings

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The process's JSON handler on the root logger, writing into a buffer."""
    out = io.StringIO()
    handler = logs.make_handler(LogSettings(format="json"), stream=out)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


class TestJsonLines:
    def test_a_line_is_one_object_with_the_request_id_and_only_known_fields(self, json_lines) -> None:
        token = logs.request_id.set("req-1")
        try:
            logging.getLogger("scorecard.test").warning("写入 %s 行", 3, extra={"status": 201, "password": "x"})
        finally:
            logs.request_id.reset(token)
        logging.getLogger("scorecard.test").info("outside a request")
        first, second = parsed(json_lines)
        assert first["message"] == "写入 3 行" and first["level"] == "WARNING" and first["logger"] == "scorecard.test"
        assert first["request_id"] == "req-1" and first["status"] == 201 and "password" not in first
        assert "request_id" not in second
        assert "写入" in json_lines.getvalue()  # UTF-8, not \\u escapes

    @pytest.mark.parametrize(("sent", "kept"), [("abc-123", True), ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
                                                 ("a" * 65, False), ("has space", False), ("", False), (None, False)])
    def test_a_sent_id_is_kept_only_when_short_and_plain(self, sent: str | None, kept: bool) -> None:
        got = logs.take_request_id(sent)
        assert got == sent if kept else HEX_ID.fullmatch(got)


class TestRequestIds:
    async def test_echoed_when_valid_made_otherwise_and_on_every_answer(self, client, json_lines) -> None:
        r = await client.get("/v1/indicators", headers={"X-Request-ID": "trace-42"})
        assert r.status_code == 200 and r.headers["X-Request-ID"] == "trace-42"
        r = await client.get("/v1/indicators", headers={"X-Request-ID": "bad id\twith tab"})
        assert HEX_ID.fullmatch(r.headers["X-Request-ID"])
        made = (await client.get("/v1/nope")).headers["X-Request-ID"]
        assert HEX_ID.fullmatch(made)
        # A refusal of the request guard (before any route) carries one too.
        r = await client.post("/v1/observations", content=b"x=1", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415 and HEX_ID.fullmatch(r.headers["X-Request-ID"])
        access = [line for line in parsed(json_lines) if line["logger"] == "scorecard.access"]
        assert [(a["method"], a["route"], a["status"]) for a in access] == [
            ("GET", "/v1/indicators", 200), ("GET", "/v1/indicators", 200), ("GET", "unmatched", 404),
            ("POST", "unmatched", 415)]
        assert access[0]["request_id"] == "trace-42" and access[2]["request_id"] == made
        assert all(isinstance(a["ms"], float) for a in access)

    async def test_no_personal_data_on_any_line(self, client, json_lines, make_key) -> None:
        key = await make_key("integration", org="150204000000")
        phone, person = "13800138000", "张三"
        await client.get("/v1/values", params={"indicator": "QS-07", "org": "150204000000", "period": "2022-05",
                                               "phone": phone, "name": person},
                         headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": "203.0.113.9",
                                  "User-Agent": f"agent {phone}"})
        await client.post("/v1/observations", headers={"Authorization": f"Bearer {key}"},
                          json={"observations": [{"indicator": "QS-07", "org": "150204001000", "date": "2022-05-31",
                                                  "numerator": 2, "denominator": 1, "note": phone}]})
        text = json_lines.getvalue()
        assert text, "the requests were logged"
        for secret in (phone, person, key, key.split("_")[1], "203.0.113.9", "127.0.0.1", "Bearer"):
            assert secret not in text, secret


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_api_process_writes_json_lines_only(tmp_path: Path) -> None:
    """`python -m services.api serve` with SCORECARD_LOG__FORMAT=json: uvicorn's start-up lines are JSON too, and
    the access line carries the id the client sent."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}"
    migrations.upgrade(url)
    port = _free_port()
    env = {**os.environ, "SCORECARD_DB__URL": url, "SCORECARD_API__PORT": str(port), "SCORECARD_LOG__FORMAT": "json"}
    err = (tmp_path / "err.log").open("w+")
    server = subprocess.Popen([sys.executable, "-m", "services.api", "serve"], env=env, stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "err.log").read_text()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"}, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "err.log").read_text()
                time.sleep(0.2)
        assert r.headers["X-Request-ID"] == "probe-1"
    finally:
        server.terminate()
        server.wait(timeout=10)
        err.close()
    lines = [json.loads(line) for line in (tmp_path / "err.log").read_text().splitlines()]
    assert any(line["logger"].startswith("uvicorn") for line in lines), lines
    [probe] = [line for line in lines if line.get("request_id") == "probe-1"]
    assert probe["logger"] == "scorecard.access" and probe["route"] == "/healthz" and probe["status"] == 200
