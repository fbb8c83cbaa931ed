"""Start-up and periodic housekeeping of the deploy layer (run by the worker component).

- Uploads left mid-flight (a crashed worker, a restarted platform) whose lease has expired are
  queued again; the pipeline repeats their current step. Nothing stays "building" forever.
- Agents recorded as running are brought back by their runtime after a platform restart.
- The runtime's view of each agent (crashed, restarting) is mirrored into the registry status.
- `nasiko up` deploys every package under agents_dir that is new or whose source changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from nasiko.core.deploy.pipeline import deployment_from_json
from nasiko.core.deploy.service import JOB_KIND, AgentLifecycle, UploadService
from nasiko.core.models import Principal
from nasiko.errors import NasikoError

log = logging.getLogger(__name__)


async def requeue_unfinished(uploads: UploadService) -> int:
    stale = await uploads.uploads.unfinished()
    for upload in stale:
        await uploads.queue.enqueue(JOB_KIND, upload.id, {"upload_id": upload.id})
    if stale:
        log.info("queued %d unfinished upload(s) again", len(stale))
    return len(stale)


async def recover_agents(lifecycle: AgentLifecycle, *, runtimes: set[str]) -> int:
    """Restart (process) or re-adopt agents that were running when the platform stopped."""
    count = 0
    for agent, _ in await lifecycle.registry.repo.all_live():
        if agent.status not in ("running", "unhealthy") or agent.runtime not in runtimes:
            continue
        try:
            await lifecycle.start(None, agent.id)
            count += 1
        except NasikoError as exc:
            log.warning("could not bring %s back: %s", agent.slug, exc.message)
            await lifecycle.registry.set_runtime_state(agent.id, status="failed")
    return count


async def mirror_status(lifecycle: AgentLifecycle, *, runtimes: set[str]) -> None:
    for agent, _ in await lifecycle.registry.repo.all_live():
        if agent.runtime not in runtimes or agent.status in ("stopped", "registered"):
            continue
        dep = await lifecycle.registry.repo.get_deployment(agent.id)
        if not dep:
            continue
        state = await lifecycle.pipeline.runtimes(dep["runtime"]).status(deployment_from_json(dep))
        status = {
            "running": "running",
            "starting": "unhealthy",
            "unhealthy": "unhealthy",
            "failed": "failed",
            "stopped": "failed",
        }.get(state)
        if status and status != agent.status:
            await lifecycle.registry.set_runtime_state(agent.id, status=status)


def source_hash(path: Path) -> str:
    from nasiko.core.packaging import list_package_files

    digest = hashlib.sha256()
    for rel in sorted(list_package_files(path)):
        digest.update(rel.encode() + b"\0" + (path / rel).read_bytes() + b"\0")
    return digest.hexdigest()


async def deploy_agents_dir(
    uploads: UploadService, owner: Principal, agents_dir: Path
) -> list[str]:
    """Uploads every package folder that is not deployed yet or whose files changed."""
    started = []
    registry = uploads.pipeline.registry
    for folder in sorted(p for p in agents_dir.iterdir() if (p / "Dockerfile").is_file()):
        digest = await asyncio.to_thread(source_hash, folder)
        existing = await registry.repo.get(folder.name)
        if existing is not None and (existing.source or {}).get("hash") == digest:
            continue
        if existing is not None and existing.owner_id != owner.id:
            log.warning("skipping %s: the slug belongs to another user's agent", folder.name)
            continue
        upload = await uploads.from_directory(
            owner, folder, slug=folder.name, visibility="public", source_extra={"hash": digest}
        )
        started.append(upload.id)
    return started


async def housekeeping(
    uploads: UploadService,
    lifecycle: AgentLifecycle,
    *,
    stop: asyncio.Event,
    runtimes: set[str],
    interval: float = 5.0,
    agents_dir: Path | None = None,
    owner: Principal | None = None,
    analyze: Callable[[], Awaitable[None]] | None = None,
) -> None:
    with contextlib.suppress(NasikoError):
        await recover_agents(lifecycle, runtimes=runtimes)
    await requeue_unfinished(uploads)
    if agents_dir is not None and owner is not None and agents_dir.is_dir():
        ids = await deploy_agents_dir(uploads, owner, agents_dir)
        if ids:
            log.info("deploying %d agent(s) from %s", len(ids), agents_dir)
    ticks = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            break
        ticks += 1
        try:
            await mirror_status(lifecycle, runtimes=runtimes)
            if ticks % 6 == 0:
                await requeue_unfinished(uploads)
            if ticks % 720 == 0 and analyze is not None:  # about hourly
                await analyze()
        except NasikoError as exc:
            log.warning("housekeeping: %s", exc.message)
