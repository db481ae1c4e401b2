"""The agent's HTTP server: the /api/v1 JSON API, /healthz and plugin routes."""
