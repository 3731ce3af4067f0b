"""An API of your own, protected by Tollgate's standalone authorizer.

The authorizer validates the access token and decides by scope, with the route policy in
routes.json (it is the authorizer's TOLLGATE_ROUTE_POLICY). This app only reads who called
from the authorizer's context: it never sees or checks a token itself.

Locally, with Tollgate running (`make run`), its routes are really guarded:

    TOLLGATE_ISSUER=http://127.0.0.1:8000 TOLLGATE_AUDIENCE=http://127.0.0.1:8001/ \
        chalice local --port 8001

On AWS, beside a stage, with an authorizer of its own attached by ARN (examples/authorizer.py):

    make deploy-example EXAMPLE=protected-api STAGE=dev

(README.md, "Protect your API Gateway routes").
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from chalice.app import BadRequestError, Chalice, NotFoundError, Request

from examples.authorizer import tollgate_authorizer

app = Chalice(app_name="protected-api")

HERE = Path(__file__).resolve().parent
tollgate = tollgate_authorizer(app, HERE)

# A stand-in for your data: reports per user, in memory.
REPORTS: dict[str, dict[str, dict[str, Any]]] = {}


def request() -> Request:
    current = app.current_request
    assert current is not None  # set by Chalice for every route call
    return current


def caller() -> dict[str, str]:
    """sub, client_id and scope, as the authorizer's context carries them (flat strings)."""
    context = request().context.get("authorizer") or {}
    return {name: str(context.get(name, "")) for name in ("sub", "client_id", "scope")}


@app.route("/health", methods=["GET"])
def health() -> dict[str, Any]:
    """Public: no authorizer."""
    return {"ok": True}


@app.route("/.well-known/oauth-protected-resource", methods=["GET"])
def protected_resource() -> dict[str, Any]:
    """RFC 9728 (no token): the audience tokens must carry, who issues them, the scopes."""
    policy = json.loads((HERE / "routes.json").read_text(encoding="utf-8"))
    return {
        "resource": os.environ["TOLLGATE_AUDIENCE"],
        "authorization_servers": [os.environ["TOLLGATE_ISSUER"]],
        "scopes_supported": sorted({scope for scopes in policy.values() for scope in scopes}),
        "bearer_methods_supported": ["header"],
    }


@app.route("/profile", methods=["GET"], authorizer=tollgate)
def profile() -> dict[str, Any]:
    """Any valid token."""
    who = caller()
    return {"sub": who["sub"], "client_id": who["client_id"], "scopes": who["scope"].split()}


@app.route("/reports", methods=["GET"], authorizer=tollgate)
def list_reports() -> dict[str, Any]:
    """reports:read"""
    mine = REPORTS.get(caller()["sub"], {})
    return {"reports": sorted(mine.values(), key=lambda r: str(r["id"]))}


@app.route("/reports/{report_id}", methods=["GET"], authorizer=tollgate)
def get_report(report_id: str) -> dict[str, Any]:
    """reports:read"""
    report = REPORTS.get(caller()["sub"], {}).get(report_id)
    if report is None:
        raise NotFoundError("no such report")
    return report


@app.route("/reports", methods=["POST"], authorizer=tollgate)
def create_report() -> dict[str, Any]:
    """reports:write"""
    body = request().json_body
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        raise BadRequestError('send {"title": "..."}')
    report = {"id": secrets.token_hex(4), "title": body["title"][:200]}
    REPORTS.setdefault(caller()["sub"], {})[str(report["id"])] = report
    return report
