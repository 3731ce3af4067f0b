"""Tollgate: the Chalice app. Routes live in chalicelib/web; this file only assembles them."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.web.protected import protected
from chalicelib.web.routes import routes

app = Chalice(app_name="tollgate")
app.register_blueprint(routes)
app.register_blueprint(protected)
