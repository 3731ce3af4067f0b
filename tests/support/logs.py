"""Test helpers for what Tollgate logs: its JSON lines as dicts, and API Gateway proxy events."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.observability.logs import LOGGER, JsonFormatter


class Lines(logging.Handler):
    """Every record the `tollgate` loggers emit, formatted exactly as on stdout, then parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def audit(self, event: str | None = None) -> list[dict[str, Any]]:
        """The audit records (of one event, if named)."""
        found = [r for r in self.lines if r["logger"] == "tollgate.audit"]
        return [r for r in found if event is None or r["event"] == event]

    def events(self) -> list[str]:
        return [r["event"] for r in self.audit()]

    def requests(self) -> list[dict[str, Any]]:
        """The per-request summary lines (with their metrics)."""
        return [r for r in self.lines if r["logger"] == "tollgate.request"]


@contextmanager
def captured() -> Iterator[Lines]:
    logger = logging.getLogger(LOGGER)
    lines = Lines()
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)


def proxy_event(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    request_id: str = "apigw-request-1",
    source_ip: str = "203.0.113.9",
    stage: str = "dev",
    context_path: str | None = None,
    api_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (Lambda proxy) event, as API Gateway hands it to the handler.
    `context_path`: the path the caller used (default `/<stage><path>`; a custom domain's
    has no stage)."""
    all_headers = {"Host": "api.example.test", **(headers or {})}
    context: dict[str, Any] = {"apiId": api_id} if api_id is not None else {}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "requestId": request_id,
            "stage": stage,
            "path": f"/{stage}{path}" if context_path is None else context_path,
            "identity": {"sourceIp": source_ip},
            **context,
        },
        "body": body,
        "isBase64Encoded": False,
    }
