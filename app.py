"""Tollgate: the Chalice app. Routes live in chalicelib/web; this file only assembles them."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.observability import logs
from chalicelib.web.protected import protected
from chalicelib.web.routes import routes

# Chalice's own log set-up would keep only ERROR lines, as plain text: JSON lines instead.
app = Chalice(app_name="tollgate", configure_logs=False)
logs.configure()
app.register_blueprint(routes)
app.register_blueprint(protected)
