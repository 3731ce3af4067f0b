"""Plain HTTP for endpoints: request/response types, headers, cookies and pages.

The bottom of the web stack: no framework here. chalicelib/web adapts Chalice onto it.
"""
