"""Benchmarks: ``python -m benchmarks.mcp_http`` (see its docstring)."""
