"""The tools served over MCP and REST: one registry, each tool declared once (no Tornado here)."""
