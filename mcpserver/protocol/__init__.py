"""The MCP protocol over Streamable HTTP (and stdio): both eras, one dispatcher."""
