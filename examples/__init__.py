"""The example APIs (README "Protect your API Gateway routes"); examples/authorizer.py is the
authorizer wiring they share."""
