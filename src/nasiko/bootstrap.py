"""Composition root: open every adapter the settings call for, build the services, close all.

    async with open_services(settings) as svc:
        ...

Embedded mode (no REDIS_URL): in-memory cache, rate limiter, event bus and job queue.
Server mode (REDIS_URL set): all of those on Redis, shared by every replica.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis

from nasiko.core.audit import AuditService
from nasiko.core.auth import AuthService
from nasiko.core.github_login import GitHubLogin
from nasiko.core.ports import Cache, EventBus, JobQueue, RateLimiter, Runtime
from nasiko.core.registry.service import RegistryService
from nasiko.core.registry.view import MemoryRegistryView
from nasiko.core.security import JwtSigner
from nasiko.core.users import UserService
from nasiko.integrations.github import GitHubClient
from nasiko.settings import Settings
from nasiko.storage.cache import MemoryCache, MemoryRateLimiter, RedisCache, RedisRateLimiter
from nasiko.storage.crypto import KeyRing
from nasiko.storage.events import MemoryEventBus, RedisEventBus
from nasiko.storage.queue import MemoryJobQueue, RedisStreamQueue
from nasiko.storage.sql.store import SqlStorage

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    keyring: KeyRing
    storage: SqlStorage
    cache: Cache
    rate_limiter: RateLimiter
    events: EventBus
    queue: JobQueue
    redis: aioredis.Redis | None
    audit: AuditService
    users: UserService
    auth: AuthService
    registry: RegistryService
    registry_view: MemoryRegistryView
    http: httpx.AsyncClient  # shared outbound client (card fetches, integrations)
    # Filled by later layers (deploy, chat, traces, …) through `extensions`.
    extensions: dict[str, Any] = field(default_factory=dict)
    generated_admin_password: str | None = None

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            checks["database"] = await self.storage.check()
        except Exception as exc:  # reported, not raised: /readyz must answer
            checks["database"] = {"ok": False, "error": type(exc).__name__}
        if self.redis is not None:
            try:
                await self.redis.ping()
                checks["redis"] = {"ok": True}
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                checks["redis"] = {"ok": False, "error": str(exc)}
        return checks


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, *, migrate: bool = True, ensure_admin: bool = True
) -> AsyncIterator[Services]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring = KeyRing.from_settings(
        settings.secret_key.get_secret_value() if settings.secret_key else None,
        settings.data_dir,
        production=settings.env == "production",
    )
    storage = SqlStorage.open(settings.sql_url, keyring)
    redis_client: aioredis.Redis | None = None
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(storage.close)
        if migrate:
            await storage.migrate()
        cache: Cache
        limiter: RateLimiter
        events: EventBus
        queue: JobQueue
        if settings.redis_url:
            redis_client = aioredis.from_url(settings.redis_url)
            stack.push_async_callback(redis_client.aclose)
            cache = RedisCache(redis_client)
            limiter = RedisRateLimiter(redis_client)
            events = RedisEventBus(redis_client)
            queue = RedisStreamQueue(
                redis_client, claim_idle_seconds=settings.worker.claim_idle_seconds
            )
        else:
            cache, limiter, events, queue = (
                MemoryCache(),
                MemoryRateLimiter(),
                MemoryEventBus(),
                MemoryJobQueue(),
            )
        await events.start()
        stack.push_async_callback(events.close)
        stack.push_async_callback(queue.close)
        audit = AuditService(storage.audit)
        users = UserService(
            storage.users,
            storage.tokens,
            audit,
            allow_registration=settings.auth.allow_registration,
        )
        auth = AuthService(
            users=storage.users,
            tokens=storage.tokens,
            cache=cache,
            audit=audit,
            signer=JwtSigner(keyring.signing_keys),
            access_ttl=timedelta(minutes=settings.auth.access_token_minutes),
            refresh_ttl=timedelta(days=settings.auth.refresh_token_days),
            max_failures=settings.auth.login_max_failures,
            lockout_seconds=settings.auth.login_lockout_seconds,
        )
        http = httpx.AsyncClient(timeout=10, follow_redirects=False)
        stack.push_async_callback(http.aclose)
        registry = RegistryService(
            repo=storage.registry,
            users=storage.users,
            events=events,
            audit=audit,
            http=http,
            gateway_url=settings.gateway_url,
        )
        auth.agent_resolver = registry.resolve_agent_token
        auth.events = users.events = events
        view = MemoryRegistryView(storage.registry, events)
        await view.start()
        stack.push_async_callback(view.close)
        svc = Services(
            settings=settings,
            keyring=keyring,
            storage=storage,
            cache=cache,
            rate_limiter=limiter,
            events=events,
            queue=queue,
            redis=redis_client,
            audit=audit,
            users=users,
            auth=auth,
            registry=registry,
            registry_view=view,
            http=http,
        )
        svc.extensions["component_probes"] = component_probes(svc)
        # The gateway and router look the view up here.
        svc.extensions["registry_view"] = view
        svc.extensions.setdefault("counters", {})["agents"] = storage.registry.count
        github = GitHubClient(
            oauth_url=settings.github.oauth_url,
            api_url=settings.github.api_url,
            client_id=settings.github.client_id,
            client_secret=settings.github.client_secret.get_secret_value()
            if settings.github.client_secret
            else None,
        )
        stack.push_async_callback(github.close)
        svc.extensions["github"] = github
        svc.extensions["github_login"] = GitHubLogin(
            client=github,
            signer=auth.signer,
            auth=auth,
            users=users,
            user_repo=storage.users,
            credentials=storage.credentials,
            cache=cache,
            audit=audit,
            callback_url=f"{settings.api_url}/api/v1/auth/github/callback",
        )
        wire_deploy(svc, stack)
        from nasiko.core.integrations.wiring import wire_integrations

        wire_integrations(svc)
        from nasiko.observability.wiring import register as register_observability

        register_observability(svc)
        wire_chat(svc)
        if ensure_admin:
            svc.generated_admin_password = await users.ensure_admin(
                username=settings.admin_username,
                email=settings.admin_email,
                password=settings.admin_password.get_secret_value()
                if settings.admin_password
                else None,
            )
        yield svc


def wire_deploy(svc: Services, stack: contextlib.AsyncExitStack) -> None:
    """Runtimes (created on first use), the deploy pipeline, uploads and agent lifecycle."""
    from nasiko.core.deploy.pipeline import DeployPipeline, PipelineConfig
    from nasiko.core.deploy.service import JOB_KIND, AgentLifecycle, UploadService
    from nasiko.errors import ConfigurationError

    s = svc.settings
    runtimes: dict[str, Runtime] = {}

    def runtime(name: str) -> Runtime:
        if name not in runtimes:
            if name == "process":
                from nasiko.runtime.process import ProcessRuntime

                runtimes[name] = ProcessRuntime(
                    s.data_dir / "runtime",
                    inherit_site_packages=s.runtime.inherit_site_packages,
                    build_timeout=s.worker.build_timeout,
                    start_timeout=s.runtime.start_timeout,
                )
            elif name == "docker":
                from nasiko.runtime.docker import DockerRuntime

                runtimes[name] = DockerRuntime.from_settings(s)
            else:
                raise ConfigurationError(f"unknown runtime '{name}'")
        return runtimes[name]

    async def close_runtimes() -> None:
        for rt in runtimes.values():
            await rt.close()

    stack.push_async_callback(close_runtimes)
    pipeline = DeployPipeline(
        cfg=PipelineConfig(
            data_dir=s.data_dir,
            api_url=s.api_url,
            gateway_url=s.gateway_url,
            github_api_url=s.github.api_url,
            github_web_url=s.github.oauth_url,
            otel_auto=s.runtime.otel_auto_instrument,
            health_timeout=s.worker.health_timeout,
            lease_seconds=s.worker.lease_seconds,
            max_files=s.api.max_archive_files,
            max_bytes=s.api.max_archive_bytes,
        ),
        uploads=svc.storage.uploads,
        registry=svc.registry,
        users=svc.storage.users,
        credentials=svc.storage.credentials,
        events=svc.events,
        runtimes=runtime,
    )
    uploads = UploadService(
        pipeline=pipeline,
        queue=svc.queue,
        events=svc.events,
        audit=svc.audit,
        default_runtime=s.runtime.default,
        max_upload_bytes=s.api.max_upload_bytes,
    )
    lifecycle = AgentLifecycle(
        registry=svc.registry, pipeline=pipeline, uploads=uploads, audit=svc.audit
    )

    async def stop_on_delete(agent: Any) -> None:
        from nasiko.core.deploy.pipeline import deployment_from_json
        from nasiko.errors import NasikoError

        dep = await svc.registry.repo.get_deployment(agent.id)
        if dep:
            with contextlib.suppress(NasikoError):
                await runtime(dep["runtime"]).stop(deployment_from_json(dep))

    svc.registry.on_delete.append(stop_on_delete)
    svc.extensions["runtimes"] = runtimes
    svc.extensions["uploads"] = uploads
    svc.extensions["lifecycle"] = lifecycle
    svc.extensions.setdefault("job_handlers", {})[JOB_KIND] = pipeline.handle


def wire_chat(svc: Services) -> None:
    """The chat store (the gateway's chat-log sink), the router index and the chat service."""
    from nasiko.core.chat.log import ChatLogStore
    from nasiko.core.chat.service import ChatService
    from nasiko.core.routing.service import RouterService

    s = svc.settings
    router = RouterService(svc.registry_view, threshold=s.router.threshold)
    svc.extensions["router_service"] = router
    svc.extensions["chat_log_sink"] = ChatLogStore(svc.storage.chat)
    svc.extensions["chat"] = ChatService(
        repo=svc.storage.chat,
        registry=svc.registry,
        router=router,
        cache=svc.cache,
        timeout=s.gateway.request_timeout,
    )


def component_probes(svc: Services) -> dict[str, Any]:
    """Health of the other components as `nasiko status` shows it (over HTTP: in server mode
    they are other processes; in embedded mode the same calls prove the listeners answer)."""

    def probe(url: str) -> Any:
        async def check() -> dict[str, Any]:
            try:
                resp = await svc.http.get(f"{url}/healthz", timeout=2.0)
            except httpx.HTTPError as exc:
                return {"ok": False, "url": url, "error": type(exc).__name__}
            return {"ok": resp.status_code == 200, "url": url}

        return check

    async def worker() -> dict[str, Any]:
        return {"ok": True, "queue_depth": await svc.queue.depth()}

    return {
        "gateway": probe(svc.settings.gateway_url),
        "router": probe(svc.settings.router_url),
        "worker": worker,
    }
