"""The web UI edge (NiceGUI): pages calling the core services in-process. See README.md."""
