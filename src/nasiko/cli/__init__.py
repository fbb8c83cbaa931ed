"""The `nasiko` command line (Typer). Talks to the platform over HTTP through nasiko.client."""
