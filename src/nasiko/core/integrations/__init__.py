"""Integrations with outside services for users: GitHub (deploy from a repository) and n8n
(a workflow as an A2A agent). Services here; HTTP clients in `nasiko.integrations`."""
