"""A tenant's own tools: upstream MCP servers (gateway mode) and HTTP tools.

``catalogue`` merges them into the tenant's catalogue, ``listing`` keeps what each upstream
offers, ``calls`` and ``connection`` call upstream servers through the official SDK client,
``httptool`` calls HTTP APIs. What is attached to a tenant is described a layer down, in
``tenants.upstreams``; secrets are read through ``tenants.secrets``.
"""
