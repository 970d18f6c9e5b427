"""What operators see: Prometheus series (``series``, exported at ``/metrics`` by ``views``),
OpenTelemetry spans (``tracing``, off unless an OTLP endpoint is configured) and the copy of
each part's process-local counters into the series (``bridge``).

``series`` and ``tracing`` are foundation modules, importable from every layer (they import
nothing of the project but its settings); ``bridge`` and ``views`` read the lower layers.
"""
