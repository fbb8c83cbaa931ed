"""Builds the integration services onto `Services` (called from the composition root).

wire_integrations(svc)                   # after wire_deploy
app.mount(N8N_MOUNT, svc.extensions["n8n_adapter"])   # on the API app
"""

from __future__ import annotations

from typing import Any

from nasiko.core.integrations.github import GitHubService
from nasiko.core.integrations.n8n import N8nService
from nasiko.integrations.n8n import N8nClient
from nasiko.integrations.n8n_adapter import DEFAULT_TRUSTED, N8nAdapterApp

N8N_MOUNT = "/n8n-agents"


def wire_integrations(
    svc: Any,
    *,
    adapter_url: str | None = None,
    n8n_timeout: float | None = None,
    trusted_networks: tuple[str, ...] = DEFAULT_TRUSTED,
) -> None:
    """`adapter_url`: where the gateway reaches the n8n adapter (default: the API's URL +
    ``/n8n-agents``); `n8n_timeout`: seconds a workflow may stay silent before its task fails
    (default: 90 % of the gateway's request timeout, so the caller gets the task's failure with
    its reason rather than the gateway's 504)."""
    s = svc.settings
    timeout = n8n_timeout or max(1.0, s.gateway.request_timeout * 0.9)
    svc.extensions["github_integration"] = GitHubService(
        client=svc.extensions["github"],
        credentials=svc.storage.credentials,
        users=svc.storage.users,
        uploads=svc.extensions["uploads"],
        lifecycle=svc.extensions["lifecycle"],
        registry=svc.registry,
        audit=svc.audit,
        api_url=s.api_url,
    )
    client = N8nClient(svc.http)  # the shared outbound client; closed with the services
    n8n = N8nService(
        client=client,
        credentials=svc.storage.credentials,
        registry=svc.registry,
        audit=svc.audit,
        adapter_url=adapter_url or f"{s.api_url}{N8N_MOUNT}",
    )
    svc.extensions["n8n"] = n8n
    svc.extensions["n8n_adapter"] = N8nAdapterApp(
        n8n.resolve, client, timeout=timeout, trusted_networks=trusted_networks
    )
