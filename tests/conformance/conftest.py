"""The functional fixtures (env, deps, clock, browser) serve the conformance tests too."""

from tests.functional.conftest import browser, clock, deps, env, http

__all__ = ["browser", "clock", "deps", "env", "http"]
