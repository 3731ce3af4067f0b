"""Structured logs: one JSON object per line on stdout, where Lambda hands them to CloudWatch.

Chalice's own set-up (`Chalice(configure_logs=True)`, its default) gives the logger named
after the app, `tollgate`, a plain-text handler at ERROR and stops propagation. Every
Tollgate logger sits under that name, so every info and warning line was dropped. app.py
turns Chalice's set-up off and calls `configure()` instead.

Every line carries the request it belongs to (`RequestContext`, set by the Chalice adapter,
chalicelib/web/adapter.py): the Lambda request id, API Gateway's request id, the endpoint,
and the client and subject once known. The level is the stage's `TOLLGATE_LOG_LEVEL`
(default INFO), read at every request because `chalice local` sets a stage's environment
only while a request runs. Audit events and request summaries (with their metrics) are
recorded whatever that level.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, TextIO

LOGGER = "tollgate"
LEVEL_VARIABLE = "TOLLGATE_LOG_LEVEL"
DEFAULT_LEVEL = logging.INFO
# Not subject to the stage's level: the audit trail and the metrics must not depend on it.
ALWAYS = ("tollgate.audit", "tollgate.request", "tollgate.metrics")
LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}
LEVELS.update({"ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL})


@dataclass
class RequestContext:
    """What is known about the request being served; every log line of it carries this."""

    aws_request_id: str | None
    api_request_id: str | None
    endpoint: str
    method: str
    source_ip: str | None
    # Shown on error pages and 5xx answers, and in every line: API Gateway's request id on
    # AWS (also in its access log), a fresh one elsewhere.
    reference: str = ""
    client_id: str | None = None
    sub: str | None = None
    grant_id: str | None = None
    # (metric name, dimensions, value, unit): flushed with the request's summary line.
    metrics: list[tuple[str, dict[str, str], float, str]] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "aws_request_id": self.aws_request_id,
            "api_request_id": self.api_request_id,
            "reference": self.reference,
            "endpoint": self.endpoint,
            "method": self.method,
        }
        for name in ("client_id", "sub"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


_current: ContextVar[RequestContext | None] = ContextVar("tollgate_request", default=None)


def begin(
    *,
    aws_request_id: str | None,
    api_request_id: str | None,
    endpoint: str,
    method: str,
    source_ip: str | None,
) -> tuple[RequestContext, Token[RequestContext | None]]:
    context = RequestContext(
        aws_request_id=aws_request_id,
        api_request_id=api_request_id,
        endpoint=endpoint,
        method=method,
        source_ip=source_ip or None,
        reference=api_request_id or uuid.uuid4().hex,
    )
    return context, _current.set(context)


def end(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current() -> RequestContext | None:
    return _current.get()


def note(
    *, client_id: str | None = None, sub: str | None = None, grant_id: str | None = None
) -> None:
    """Remember who the request turned out to be about (its later lines carry it)."""
    context = _current.get()
    if context is None:
        return
    if client_id is not None:
        context.client_id = client_id
    if sub is not None:
        context.sub = sub
    if grant_id is not None:
        context.grant_id = grant_id


# Made once: json.dumps with options builds a new encoder for every line.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: level, logger, message, the request's ids, and the
    record's own structured members (`extra={"fields": {...}}`)."""

    # The formatted second of the latest line: a request's lines share it (gmtime and strftime
    # once per second, not per line). One tuple, replaced whole: safe across threads.
    _second: tuple[int, str] = (-1, "")

    def _stamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second  # read once: another thread may replace it meanwhile
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        return f"{cached[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self._stamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _current.get()
        if context is not None:
            out.update(context.fields())
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(out)


def _stdout() -> TextIO:
    return sys.stdout


class LineHandler(logging.Handler):
    """Writes each record as one line to whatever stream `stream()` gives at the time
    (Lambda's stdout, a test's capture, the command line's stderr)."""

    def __init__(self, stream: Callable[[], TextIO] = _stdout) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            out = self._stream()
            out.write(self.format(record) + "\n")
            out.flush()
        except Exception:
            self.handleError(record)


def level_from(env: Mapping[str, str] | None = None) -> int:
    raw = (env if env is not None else os.environ).get(LEVEL_VARIABLE, "").strip().upper()
    return LEVELS.get(raw, DEFAULT_LEVEL)


def apply_level() -> None:
    """The stage's TOLLGATE_LOG_LEVEL (an unknown value means INFO)."""
    logger = logging.getLogger(LOGGER)
    wanted = level_from()
    if logger.level != wanted:
        logger.setLevel(wanted)


def configure(stream: Callable[[], TextIO] = _stdout) -> logging.Logger:
    """The `tollgate` logger writes JSON lines to `stream` (stdout), and nothing else
    handles them."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        # Chalice's plain-text handler, or ours from an earlier call; others stay (tests).
        if isinstance(handler, logging.StreamHandler | LineHandler):
            logger.removeHandler(handler)
    handler = LineHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    apply_level()
    for name in ALWAYS:
        logging.getLogger(name).setLevel(logging.INFO)
    return logger
