"""The MCP server: the plugins' tools, checks, events and audit for any Model Context
Protocol client, behind the same approval gate as everything else (docs/mcp.md)."""
