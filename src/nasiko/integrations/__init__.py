"""Clients for outside services (GitHub, n8n), speaking their real APIs over httpx."""
