"""What an operator attaches to a tenant besides tool sets: remote MCP servers (gateway mode)
and tools that call an HTTP API, with the header templates that reference tenant secrets.

``models`` describes them (loaded with ``tenants.models``), ``spec`` validates them, and
``config`` turns them into the frozen view the request path gets with the tenant
(``TenantView.own_tools``). The code that calls them lives a layer up, in ``tools.upstream``.
"""
