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
