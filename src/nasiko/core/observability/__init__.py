"""Observability domain: spans, token usage and cost, trace queries and retention.

Public entry points: `TraceService` (service.py), `PriceTable` (prices.py), `extract_usage`
(usage.py) and the models (models.py). Storage is behind `TraceRepo` (ports.py).
"""
