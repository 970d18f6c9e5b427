"""What a tool author raises. None of it depends on the transport.

- ``ToolError``: the tool ran and failed; the client gets a result with ``isError: true`` and
  the message (write it for the end user).
- ``MissingClientCapability``: the tool needs a client capability that was not declared.
- ``InvalidParams`` / ``ResourceNotFound``: the request itself is wrong (a JSON-RPC -32602).
- ``UpstreamFailed``: a resource or prompt of an upstream server could not be had (a JSON-RPC
  error with the message; a tool's upstream failure is a ``ToolError`` instead).

Anything else a handler raises is logged, and the client sees a generic failure message.
"""

from mcpserver.errors import (
    InvalidParams,
    MissingClientCapability,
    ResourceNotFound,
    ToolError,
    UpstreamFailed,
)

__all__ = [
    "InvalidParams",
    "MissingClientCapability",
    "ResourceNotFound",
    "ToolError",
    "UpstreamFailed",
]
