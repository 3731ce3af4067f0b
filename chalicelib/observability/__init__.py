"""Logs, audit events and metrics: JSON lines on stdout, which Lambda sends to CloudWatch.

    logs.py     the JSON formatter, the `tollgate` logger's set-up, the request context
    audit.py    one function per security event (README "Audit events")
    metrics.py  CloudWatch Embedded Metric Format, flushed with each request's summary line

Standard library only: importing it costs the cold start next to nothing (bench/logging_cost.py).
"""
