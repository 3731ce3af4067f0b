"""Metrics in CloudWatch Embedded Metric Format (EMF): a JSON log line with an `_aws` member
from which CloudWatch Logs extracts the metrics itself (no PutMetricData call, no latency).

During a request, `count` only remembers the metric; the adapter writes them all in the
request's one summary line (`summary`), next to the per-endpoint request metrics. Outside
a request (the admin command line) a metric is written at once, on a line of its own.

Namespace `Tollgate`; every metric has the dimension `Stage` (TOLLGATE_STAGE), so stages
sharing an account stay apart. Per endpoint: Requests, ClientErrors (4xx), ServerErrors
(5xx). Per event: TokensIssued (by GrantType), LoginFailures, LoginsBlocked,
CodeReplays, RefreshReuse, ClientAuthFailures (chalicelib/observability/audit.py).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from chalicelib.observability import logs

NAMESPACE = "Tollgate"
COUNT = "Count"

log = logging.getLogger("tollgate.metrics")

Entry = tuple[str, dict[str, str], float, str]
# Every metric name Tollgate emits (infra/observability.py graphs and alarms on them).
REQUEST_METRICS = ("Requests", "ClientErrors", "ServerErrors")
EVENT_METRICS = (
    "TokensIssued",
    "LoginFailures",
    "LoginsBlocked",
    "CodeReplays",
    "RefreshReuse",
    "ClientAuthFailures",
)


def stage() -> str:
    return os.environ.get("TOLLGATE_STAGE") or "local"


def count(name: str, dimensions: dict[str, str] | None = None, value: float = 1) -> None:
    entry: Entry = (name, dict(dimensions or {}), value, COUNT)
    context = logs.current()
    if context is not None:
        context.metrics.append(entry)
        return
    log.info("metrics", extra={"fields": document([entry])})


def document(entries: list[Entry], timestamp_ms: int | None = None) -> dict[str, Any]:
    """The EMF members for `entries`: one MetricDirective per set of dimension names, the
    dimension values and metric values as root members. A metric named twice is summed."""
    root: dict[str, Any] = {"Stage": stage()}
    directives: dict[tuple[str, ...], dict[str, Any]] = {}
    for name, dimensions, value, unit in entries:
        for dimension, dimension_value in dimensions.items():
            # One root member per dimension name: a clash would mislabel a metric.
            if root.setdefault(dimension, dimension_value) != dimension_value:
                raise ValueError(f"dimension {dimension} given two values in one document")
        names = ("Stage", *sorted(dimensions))
        directive = directives.setdefault(
            names, {"Namespace": NAMESPACE, "Dimensions": [list(names)], "Metrics": []}
        )
        if name in root:
            root[name] += value
        else:
            root[name] = value
            directive["Metrics"].append({"Name": name, "Unit": unit})
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    metadata = {"Timestamp": stamp, "CloudWatchMetrics": list(directives.values())}
    return {"_aws": metadata, **root}


def summary(context: logs.RequestContext, status: int) -> dict[str, Any]:
    """The request's metrics: its endpoint's, then whatever the request counted. Latency
    stays a log member (`latency_ms`): API Gateway's own Latency metric covers the API, and
    each metric per endpoint is billed (README "What it costs")."""
    endpoint = {"Endpoint": context.endpoint}
    entries: list[Entry] = [
        ("Requests", endpoint, 1, COUNT),
        ("ClientErrors", endpoint, 1 if 400 <= status < 500 else 0, COUNT),
        ("ServerErrors", endpoint, 1 if status >= 500 else 0, COUNT),
        *context.metrics,
    ]
    return document(entries)
