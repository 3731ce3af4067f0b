"""Shared fixtures. moto is imported before anything makes a boto3 client, so that
clients created in tests are mocked."""

from __future__ import annotations

import os

# Safe defaults: no test may ever reach real AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

import moto  # noqa: F401  (import order matters: see the module docstring)
from hypothesis import HealthCheck, settings

# Property tests (tests/properties/): moderate example counts so the family suite stays
# under a minute; under CI (CI=true) the examples are derived from each test's name, the
# same on every run, and no example database is kept.
settings.register_profile(
    "tollgate",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", parent=settings.get_profile("tollgate"), derandomize=True, database=None
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "tollgate")
