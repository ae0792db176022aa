"""Issue 10 item 8: a Python client generated from the live /openapi.json works, as a new integrator would try it.

The API runs as in production (`python -m services.api serve`, uvicorn on a free port) over a throw-away SQLite
file, migrated and seeded; `openapi-python-client` (pinned in the dev extras) generates a client from the document
the server serves; the client is installed with pip, without a name override, into a scratch virtualenv outside the
repository; a script in that virtualenv lists indicators, pushes a figure with an integration key and reads a 422's
error details through the generated `Error` model.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.api.main import API_TITLE, create_app
from shared.access import store as access_store
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, Settings
from tests.conftest import migrate_and_seed

BIN = Path(sys.executable).parent
GENERATOR = BIN / "openapi-python-client"
PACKAGE = "digital_government_scorecard_api_client"  # from the title: what an integrator imports

# Runs inside the scratch virtualenv: only the generated package and its own dependencies are importable there.
USE_CLIENT = f'''
import datetime, json, sys

from {PACKAGE} import AuthenticatedClient, Client
from {PACKAGE}.api.indicators import list_indicators
from {PACKAGE}.api.observations import push_observations
from {PACKAGE}.models import Error, IndicatorOut, ObservationBody, ObservationsPush, PushResult

base, key = sys.argv[1], sys.argv[2]
out = {{}}
# Reads are open: a plain Client answers (the document lists the key as optional).
indicators = list_indicators.sync(client=Client(base_url=base), plan="QS2022")
assert isinstance(indicators, list) and all(isinstance(i, IndicatorOut) for i in indicators), indicators
out["indicators"] = sorted(i.code for i in indicators)

writer = AuthenticatedClient(base_url=base, token=key)
row = ObservationBody(indicator="QS-07", org="150204001000", date=datetime.date(2022, 5, 31),
                      numerator=1010, denominator=1281)
pushed = push_observations.sync(client=writer, body=ObservationsPush(observations=[row]), idempotency_key="c-1")
assert isinstance(pushed, PushResult), pushed
out["pushed"] = pushed.to_dict()

bad = ObservationBody(indicator="QS-07", org="150204001000", date=datetime.date(2022, 5, 31),
                      numerator=1300, denominator=1281, value=50)
refused = push_observations.sync_detailed(client=writer, body=ObservationsPush(observations=[bad]))
assert isinstance(refused.parsed, Error), refused
out["refused"] = {{"status": int(refused.status_code), "code": refused.parsed.error.code,
                  "details": refused.parsed.error.details}}
print(json.dumps(out))
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str | Path], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


@pytest.fixture
async def live_api(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(base URL, integration key of 青山区) of a real uvicorn over a throw-away SQLite file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'client.db'}"
    await migrate_and_seed(url)
    engine = make_engine(DatabaseSettings(url=url), "scorecard-tests")
    async with make_sessionmaker(engine)() as session, session.begin():
        _, key = await access_store.create_key(
            session, name="client-test", role="integration", org="150204000000", pepper="", actor="test"
        )
    await engine.dispose()
    port = _free_port()
    env = {**os.environ, "SCORECARD_DB__URL": url, "SCORECARD_API__PORT": str(port), "SCORECARD_API__KEY_PEPPER": ""}
    log = (tmp_path / "api.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "services.api", "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not start:\n" + (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        yield base, key
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_the_document_is_named_for_a_generated_client() -> None:
    spec = create_app(Settings(db=DatabaseSettings(url="sqlite+aiosqlite:///unused.db"))).openapi()
    assert spec["info"]["title"].isascii() and "数字政府建设考评" in spec["info"]["description"]
    assert spec["info"]["title"] == API_TITLE
    ops = {(m, p): op for p, methods in spec["paths"].items() for m, op in methods.items()}
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids)), ids
    assert all(i.isidentifier() and "_v1_" not in i for i in ids), ids
    assert ops[("post", "/v1/observations")]["operationId"] == "push_observations"
    body = ops[("post", "/v1/observations")]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ObservationsPush"}
    components = spec["components"]["schemas"]
    assert components["ObservationsPush"]["properties"]["observations"]["items"] == {
        "$ref": "#/components/schemas/ObservationBody"
    }
    assert set(components["ObservationBody"]["required"]) == {"indicator", "org", "date"}
    assert not [name for name in components if "_v1_" in name or "__" in name]


@pytest.mark.slow
def test_a_generated_client_installs_and_works(live_api: tuple[str, str], tmp_path: Path) -> None:
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: openapi-python-client is pinned in pyproject's dev extras; "
                    "run `.venv/bin/pip install -e '.[dev]'` (or `make install`)")
    base, key = live_api
    document = tmp_path / "openapi.json"
    document.write_text(httpx.get(f"{base}/openapi.json").text, encoding="utf-8")
    # The generator formats its output with ruff, found on PATH.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    _run([GENERATOR, "generate", "--path", document, "--meta", "setup", "--output-path", tmp_path / "client"],
         cwd=tmp_path, env=env)
    assert (tmp_path / "client" / PACKAGE / "api" / "observations" / "push_observations.py").is_file()
    assert (tmp_path / "client" / PACKAGE / "models" / "observations_push.py").is_file()

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", tmp_path / "client"])
    script = tmp_path / "use_client.py"
    script.write_text(USE_CLIENT, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = json.loads(_run([venv / "bin" / "python", script, base, key], cwd=tmp_path, env=clean).stdout)

    assert len(out["indicators"]) == 15 and "QS-07" in out["indicators"]
    assert out["pushed"] == {"inserted": 1, "updated": 0, "unchanged": 0}
    refused = out["refused"]
    assert refused["status"] == 422 and refused["code"] == "invalid_input", refused
    assert refused["details"] and {"row", "field", "message"} <= set(refused["details"][0]), refused
