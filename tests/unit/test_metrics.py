"""Metrics lines follow CloudWatch's Embedded Metric Format specification.

The schema below restates the specification's document structure (the root `_aws` metadata
object, MetricDirective, DimensionSet, MetricDefinition and their limits); the references
(every dimension a string root member, every metric a number root member) are checked on top,
as JSON Schema cannot express them.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from chalicelib.observability import logs, metrics
from tests.support.logs import captured

UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]  # fmt: skip

EMF = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def assert_emf(document: dict[str, Any]) -> None:
    jsonschema.validate(document, EMF)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str) and 0 < len(value) <= 1024, (name, value)
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool), metric


def test_a_request_summary_is_an_emf_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_STAGE", "dev")
    context, token = logs.begin(
        aws_request_id="l-1", api_request_id="a-1", endpoint="/token", method="POST", source_ip=""
    )
    try:
        metrics.count("TokensIssued", {"GrantType": "refresh_token"})
        metrics.count("RefreshReuse")
        metrics.count("RefreshReuse")
        document = metrics.summary(context, 400)
    finally:
        logs.end(token)
    assert_emf(document)
    directives = {
        tuple(d["Dimensions"][0]): [m["Name"] for m in d["Metrics"]]
        for d in document["_aws"]["CloudWatchMetrics"]
    }
    assert directives == {
        ("Stage", "Endpoint"): ["Requests", "ClientErrors", "ServerErrors"],
        ("Stage", "GrantType"): ["TokensIssued"],
        ("Stage",): ["RefreshReuse"],
    }
    assert (document["Stage"], document["Endpoint"], document["GrantType"]) == (
        "dev",
        "/token",
        "refresh_token",
    )
    assert (document["ClientErrors"], document["ServerErrors"], document["RefreshReuse"]) == (
        1,
        0,
        2,
    )


def test_outside_a_request_a_metric_is_its_own_emf_line() -> None:
    logs.configure()  # as app.py and the command line do
    with captured() as lines:
        metrics.count("LoginFailures")
    (line,) = lines.lines
    assert line["logger"] == "tollgate.metrics"
    assert_emf(json.loads(json.dumps(line)))
    assert line["LoginFailures"] == 1


def test_the_check_can_fail() -> None:
    """A directive naming a dimension the root lacks, or a string metric, is caught."""
    good = metrics.document([("X", {"Endpoint": "/t"}, 1, "Count")], timestamp_ms=1)
    missing = {**good}
    del missing["Endpoint"]
    with pytest.raises(KeyError):
        assert_emf(missing)
    with pytest.raises(AssertionError):
        assert_emf({**good, "X": "1"})
    with pytest.raises(jsonschema.ValidationError):
        assert_emf({**good, "_aws": {**good["_aws"], "Timestamp": "now"}})
