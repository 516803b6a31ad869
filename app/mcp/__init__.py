"""The MCP server: the SDK kernel built from the tool registry, and the sessions that run it over HTTP."""
