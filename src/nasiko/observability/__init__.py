"""Observability adapters: the OTLP receiver, forwarding, self-tracing and Prometheus metrics.

`nasiko.observability.wiring.register(svc)` puts a TraceService at ``svc.extensions["traces"]``
(and the forwarder, background jobs and closers next to it). Importing this package starts
nothing.
"""
