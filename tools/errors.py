"""What a tool author raises. None of it depends on the transport.

- ``ToolError``: the tool ran and failed; the client gets a result with ``isError: true`` and
  the message (write it for the end user).
- ``MissingClientCapability``: the tool needs a client capability that was not declared.
- ``InvalidParams`` / ``ResourceNotFound``: the request itself is wrong (a JSON-RPC -32602).

Anything else a handler raises is logged, and the client sees a generic failure message.
"""

from mcpserver.errors import InvalidParams, MissingClientCapability, ResourceNotFound, ToolError

__all__ = ["InvalidParams", "MissingClientCapability", "ResourceNotFound", "ToolError"]
