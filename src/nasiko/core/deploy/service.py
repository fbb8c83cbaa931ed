"""Uploads (create, read, watch) and the lifecycle of deployed agents."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nasiko.core.audit import AuditService
from nasiko.core.deploy.models import GitSource, Upload
from nasiko.core.deploy.pipeline import (
    TOPIC,
    DeployPipeline,
    agent_env,
    deployment_from_json,
    deployment_to_json,
)
from nasiko.core.deploy.sources import archive_suffix, check_git_url, save_stream
from nasiko.core.models import Page, Principal, utcnow
from nasiko.core.ports import AgentSpec, Event, EventBus, JobQueue
from nasiko.core.registry.models import Agent
from nasiko.core.registry.service import RegistryService
from nasiko.errors import Conflict, InvalidInput, NasikoError, NotFound

JOB_KIND = "deploy"


class UploadService:
    def __init__(
        self,
        *,
        pipeline: DeployPipeline,
        queue: JobQueue,
        events: EventBus,
        audit: AuditService,
        default_runtime: str,
        max_upload_bytes: int,
    ) -> None:
        self.pipeline = pipeline
        self.uploads = pipeline.uploads
        self.queue = queue
        self.events = events
        self.audit = audit
        self.default_runtime = default_runtime
        self.max_upload_bytes = max_upload_bytes

    def _dir(self, upload_id: str) -> Path:
        return self.pipeline.cfg.data_dir / "uploads" / upload_id

    async def create(
        self,
        principal: Principal,
        *,
        source: dict[str, Any],
        options: dict[str, Any],
        runtime: str | None,
        upload_id: str | None = None,
        agent: Agent | None = None,
    ) -> Upload:
        if principal.kind != "user":
            raise InvalidInput("agents cannot upload agents")
        runtime = runtime or self.default_runtime
        if runtime not in ("process", "docker"):
            raise InvalidInput(
                f"unknown runtime '{runtime}'; use process or docker",
                details=[{"field": "runtime"}],
            )
        now = utcnow()
        upload = Upload(
            id=upload_id or str(uuid.uuid4()),
            owner_id=principal.id,
            source=source,
            options=options,
            runtime=runtime,
            created_at=now,
            updated_at=now,
            agent_id=agent.id if agent else None,
            slug=agent.slug if agent else None,
        )
        await self.uploads.add(upload)
        await self.audit.record(
            "upload.created",
            actor=principal,
            target_type="upload",
            target_id=upload.id,
            details={"source": source.get("kind"), "runtime": runtime},
        )
        await self.queue.enqueue(JOB_KIND, upload.id, {"upload_id": upload.id})
        return upload

    async def from_archive(
        self,
        principal: Principal,
        *,
        filename: str,
        chunks: AsyncIterator[bytes],
        slug: str | None,
        runtime: str | None,
        visibility: str = "private",
        tags: list[str] | None = None,
    ) -> Upload:
        suffix = archive_suffix(filename)
        upload_id = str(uuid.uuid4())
        path = self._dir(upload_id) / f"archive{suffix}"
        try:
            size = await save_stream(chunks, path, limit=self.max_upload_bytes)
        except BaseException:
            shutil.rmtree(self._dir(upload_id), ignore_errors=True)
            raise
        stem = Path(filename).name.removesuffix(suffix)
        source = {
            "kind": "archive",
            "filename": filename,
            "path": str(path),
            "size": size,
            "name": stem,
        }
        return await self.create(
            principal,
            source=source,
            runtime=runtime,
            upload_id=upload_id,
            options={"slug": slug, "visibility": visibility, "tags": tags},
        )

    async def from_git(self, principal: Principal, body: GitSource) -> Upload:
        check_git_url(body.url)
        source = {"kind": "git", "url": body.url, "ref": body.ref, "subdir": body.subdir}
        return await self.create(
            principal,
            source=source,
            runtime=body.runtime,
            options={"slug": body.slug, "visibility": body.visibility},
        )

    async def from_directory(
        self,
        principal: Principal,
        path: Path,
        *,
        slug: str | None,
        visibility: str,
        runtime: str | None = None,
        source_extra: dict[str, Any] | None = None,
    ) -> Upload:
        """A folder on the platform's own disk (the start-up sweep of agents_dir)."""
        upload_id = str(uuid.uuid4())
        dest = self._dir(upload_id) / "package" / path.name
        from nasiko.core.packaging import list_package_files

        files = await asyncio.to_thread(list_package_files, path)
        for rel in files:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path / rel, target)
        source = {
            "kind": "directory",
            "path": str(dest),
            "name": path.name,
            "origin": str(path.resolve()),
            **(source_extra or {}),
        }
        return await self.create(
            principal,
            source=source,
            runtime=runtime,
            upload_id=upload_id,
            options={"slug": slug, "visibility": visibility},
        )

    async def get(self, principal: Principal, upload_id: str) -> Upload:
        upload = await self.uploads.get(upload_id)
        if upload is None or (upload.owner_id != principal.id and not principal.is_superuser):
            raise NotFound(f"no upload '{upload_id}'")
        return upload  # type: ignore[no-any-return]

    async def list(
        self, principal: Principal, *, limit: int, offset: int, status: str | None = None
    ) -> Page[Upload]:
        owner = None if principal.is_superuser else principal.id
        items, total = await self.uploads.list(
            owner_id=owner, limit=limit, offset=offset, status=status
        )
        return Page(items=items, total=total, limit=limit, offset=offset)

    async def watch(self, principal: Principal, upload_id: str) -> AsyncIterator[Upload]:
        """The upload now, then after every change, until it is registered or failed."""
        first = await self.get(principal, upload_id)
        changed = asyncio.Event()

        async def on_event(event: Event) -> None:
            if event.data.get("upload_id") == upload_id:
                changed.set()

        unsubscribe = self.events.subscribe(TOPIC, on_event)
        try:
            yield first
            current = first
            while not current.done:
                with contextlib.suppress(TimeoutError):
                    # The timeout re-reads the record in case an event was missed.
                    await asyncio.wait_for(changed.wait(), timeout=2.0)
                changed.clear()
                latest = await self.uploads.get(upload_id)
                if latest is None:
                    return
                if latest.model_dump() != current.model_dump():
                    current = latest
                    yield current
        finally:
            unsubscribe()


class AgentLifecycle:
    """stop / start / restart / redeploy / rollback / logs of deployed agents."""

    def __init__(
        self,
        *,
        registry: RegistryService,
        pipeline: DeployPipeline,
        uploads: UploadService,
        audit: AuditService,
    ) -> None:
        self.registry = registry
        self.pipeline = pipeline
        self.upload_service = uploads
        self.audit = audit

    async def _deployment(self, agent: Agent) -> dict[str, Any]:
        dep = await self.registry.repo.get_deployment(agent.id)
        if not dep:
            raise Conflict(
                f"'{agent.slug}' is not deployed by Nasiko (it was registered by "
                "URL), so it cannot be stopped or started here"
            )
        return dep  # type: ignore[no-any-return]

    async def stop(self, principal: Principal, key: str) -> Agent:
        agent = await self.registry.get_managed(principal, key)
        dep = await self._deployment(agent)
        await self.pipeline.runtimes(dep["runtime"]).stop(deployment_from_json(dep))
        await self.registry.set_runtime_state(agent.id, status="stopped")
        await self.audit.record(
            "agent.stopped", actor=principal, target_type="agent", target_id=agent.id
        )
        return await self.registry.get_visible(principal, agent.id)

    async def start(
        self, principal: Principal | None, key: str, *, version: int | None = None
    ) -> Agent:
        agent = (
            await self.registry.get_managed(principal, key)
            if principal
            else await self.registry.repo.get(key)
        )
        if agent is None:
            raise NotFound(f"no agent '{key}'")
        dep = await self._deployment(agent)
        runtime = self.pipeline.runtimes(dep["runtime"])
        number = version or agent.current_version
        source_dir = dep["source_dir"]
        if number != dep.get("version"):
            record = await self.registry.repo.version(agent.id, number)
            if record is None:
                raise NotFound(f"'{agent.slug}' has no version {number}")
            upload_id = (record.source or {}).get("upload_id")
            upload = await self.pipeline.uploads.get(upload_id) if upload_id else None
            if upload is None or not (upload.result or {}).get("package_root"):
                raise Conflict(f"version {number} of '{agent.slug}' has no stored package")
            source_dir = upload.result["package_root"]
        with contextlib.suppress(NasikoError):  # already stopped or gone
            await runtime.stop(deployment_from_json(dep))
        token = await self.registry.issue_agent_token_for(agent.id)
        env = agent_env(
            self.pipeline.cfg, agent_id=agent.id, slug=agent.slug, version=number, token=token
        )
        from nasiko.core.packaging import inspect_package

        info = await asyncio.to_thread(inspect_package, Path(source_dir), check_names=False)
        spec = AgentSpec(
            agent_id=agent.id,
            slug=agent.slug,
            version=number,
            source_dir=Path(source_dir),
            env={**info.env, **env},
            memory_mb=info.memory_mb,
            cpus=info.cpus,
        )
        stored = deployment_from_json(dep)
        if number == dep.get("version") and hasattr(runtime, "recover"):
            new = await runtime.recover(stored, spec)
        else:

            async def quiet(_: str) -> None:
                return None

            artifact = await runtime.build(spec, log=quiet)
            new = await runtime.start(spec, artifact, log=quiet)
        fields: dict[str, Any] = {
            "status": "running",
            "endpoints": new.endpoints,
            "deployment": deployment_to_json(new, source_dir=Path(source_dir), version=number),
        }
        if number != agent.current_version:
            record = await self.registry.repo.version(agent.id, number)
            assert record is not None
            fields |= {"current_version": number, "card": record.card}
        await self.registry.set_runtime_state(agent.id, **fields)
        if principal:
            await self.audit.record(
                "agent.started",
                actor=principal,
                target_type="agent",
                target_id=agent.id,
                details={"version": number},
            )
        started = await self.registry.repo.get(agent.id)
        if started is None:
            raise NotFound(f"'{agent.slug}' was deleted while it started")
        return started

    async def restart(self, principal: Principal, key: str) -> Agent:
        return await self.start(principal, key)

    async def rollback(self, principal: Principal, key: str, version: int | None) -> Agent:
        agent = await self.registry.get_managed(principal, key)
        target = version or agent.current_version - 1
        if target < 1 or target == agent.current_version:
            raise InvalidInput(
                f"'{agent.slug}' has no earlier version to roll back to",
                details=[{"field": "version"}],
            )
        return await self.start(principal, key, version=target)

    async def redeploy(self, principal: Principal, key: str) -> Upload:
        """Build and deploy the current version's source again, as a new version."""
        agent = await self.registry.get_managed(principal, key)
        record = await self.registry.repo.version(agent.id, agent.current_version)
        upload_id = ((record.source if record else None) or {}).get("upload_id")
        old = await self.pipeline.uploads.get(upload_id) if upload_id else None
        if old is None:
            raise Conflict(f"'{agent.slug}' was not uploaded to Nasiko; nothing to redeploy")
        source = dict(old.source)
        if source["kind"] != "git":
            source = {"kind": "directory", "path": old.result["package_root"], "name": agent.slug}
        return await self.upload_service.create(
            principal, source=source, options=old.options or {}, runtime=old.runtime, agent=agent
        )

    async def logs(self, principal: Principal, key: str, *, tail: int) -> list[str]:
        agent = await self.registry.get_managed(principal, key)
        dep = await self._deployment(agent)
        return await self.pipeline.runtimes(dep["runtime"]).logs(
            deployment_from_json(dep), tail=tail
        )

    async def follow(self, principal: Principal, key: str) -> AsyncIterator[str]:
        agent = await self.registry.get_managed(principal, key)
        dep = await self._deployment(agent)
        async for line in self.pipeline.runtimes(dep["runtime"]).follow_logs(
            deployment_from_json(dep)
        ):
            yield line
