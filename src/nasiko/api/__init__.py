"""The REST API edge (FastAPI) under /api/v1."""
