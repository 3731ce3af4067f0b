"""Structured logs reach the Lambda's output: JSON lines with the request's ids.

The app is imported in a fresh interpreter as Lambda imports it, so Chalice's own logging
set-up runs exactly as it does there, and its handler output is read from the process's own
stdout and stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Client "web" asks to revoke a token issued to client "post": the revocation endpoint logs a
# warning and answers 200 (chalicelib/endpoints/revocation.py).
HANDLER = """
import json
from urllib.parse import urlencode

from app import app
from chalicelib import deps as wiring
from chalicelib.clock import FakeClock
from chalicelib.tokens import access_token
from tests.support.logs import proxy_event
from tests.support.oauth import ISSUER, SECRET, basic, seed, settings

clock = FakeClock()
deps = wiring.in_memory(settings(), clock)
seed(deps)
wiring.override(deps)
token, _ = access_token.mint(
    deps.signer, issuer=ISSUER, audience=ISSUER, sub="sub-alice", client_id="post",
    scopes=["openid"], now=clock.now(), ttl=300,
)
event = proxy_event(
    "POST",
    "/revoke",
    headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": basic("web", SECRET),
    },
    body=urlencode({"token": token}),
    request_id="apigw-req-42",
)


class LambdaContext:
    aws_request_id = "lambda-req-7"
    function_name = "tollgate-dev-APIHandler"


answer = app(event, LambdaContext())
assert answer["statusCode"] == 200, answer
"""


def _handler_output(env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", HANDLER],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    lines = (done.stdout + done.stderr).splitlines()
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return [p for p in parsed if isinstance(p, dict)]


def test_a_warning_inside_an_endpoint_reaches_the_handler_output_as_json() -> None:
    records = _handler_output()
    warnings = [r for r in records if r.get("level") == "WARNING"]
    assert len(warnings) == 1, records
    (warning,) = warnings
    assert "revocation by web of a token issued to post" in warning["message"]
    assert warning["logger"] == "tollgate.revocation"
    assert warning["aws_request_id"] == "lambda-req-7"
    assert warning["api_request_id"] == "apigw-req-42"
    assert warning["endpoint"] == "/revoke"
    assert warning["client_id"] == "web"


def test_each_request_ends_with_a_summary_line() -> None:
    (summary,) = [r for r in _handler_output() if r.get("logger") == "tollgate.request"]
    assert summary["status"] == 200
    assert summary["method"] == "POST"
    assert summary["endpoint"] == "/revoke"
    assert summary["aws_request_id"] == "lambda-req-7"
    assert summary["api_request_id"] == "apigw-req-42"
    assert summary["reference"] == "apigw-req-42"
    assert summary["client_id"] == "web"
    assert isinstance(summary["latency_ms"], float) and summary["latency_ms"] >= 0


def test_the_stage_s_level_silences_info_but_never_the_audit_trail() -> None:
    import os

    env = dict(os.environ, TOLLGATE_LOG_LEVEL="ERROR")
    records = _handler_output(env)
    assert not [r for r in records if r.get("level") == "WARNING"]
    loggers = {r.get("logger") for r in records}
    assert {"tollgate.audit", "tollgate.request"} <= loggers


@pytest.mark.parametrize(
    ("raw", "level"),
    [("", 20), ("debug", 10), ("WARNING", 30), (" error ", 40), ("loud", 20)],
)
def test_the_level_comes_from_tollgate_log_level(raw: str, level: int) -> None:
    from chalicelib.observability import logs

    assert logs.level_from({"TOLLGATE_LOG_LEVEL": raw}) == level


@pytest.mark.parametrize(
    ("created", "stamp"),
    [
        (1_800_000_000.25, "2027-01-15T08:00:00.250Z"),
        (1_800_000_000.999, "2027-01-15T08:00:00.999Z"),  # the same second, formatted once
        (1_800_000_001.0, "2027-01-15T08:00:01.000Z"),  # the next second
        (1_799_999_999.5, "2027-01-15T07:59:59.500Z"),  # and back (another thread's line)
    ],
)
def test_each_line_s_time_is_its_own_record_s_to_the_millisecond(
    created: float, stamp: str
) -> None:
    import logging

    from chalicelib.observability.logs import JsonFormatter

    formatter = JsonFormatter()
    for when, expected in ((created - 1, None), (created, stamp), (created, stamp)):
        record = logging.LogRecord("tollgate", logging.INFO, __file__, 1, "m", None, None)
        record.created, record.msecs = when, (when - int(when)) * 1000
        line = json.loads(formatter.format(record))
        assert expected is None or line["time"] == expected
