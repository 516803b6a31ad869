"""Identity and credentials: users, passwords, OAuth clients, tokens and API keys (no Tornado here)."""
