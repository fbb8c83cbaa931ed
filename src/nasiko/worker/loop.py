"""The job loop. Handlers are registered per job kind; each must be idempotent per job key."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from nasiko.bootstrap import Services
from nasiko.core.ports import Job

log = logging.getLogger(__name__)
JobHandler = Callable[[Job], Awaitable[None]]


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(svc: Services, stop: asyncio.Event, *, consumer: str | None = None) -> None:
    """Claim and run jobs until ``stop`` is set; at most ``worker.concurrency`` at once."""
    name = consumer or consumer_name()
    handlers: dict[str, JobHandler] = svc.extensions.setdefault("job_handlers", {})
    slots = asyncio.Semaphore(svc.settings.worker.concurrency)
    running: set[asyncio.Task[None]] = set()

    async def run(job: Job) -> None:
        try:
            handler = handlers.get(job.kind)
            if handler is None:
                log.error("no handler for job kind %r (job %s); dropping it", job.kind, job.id)
            else:
                await handler(job)
            await svc.queue.ack(job)
        except asyncio.CancelledError:
            raise  # not acked: another worker claims it after the idle timeout
        except Exception:
            # Handlers record their own failure state; an escape here is a bug, but the job
            # must not loop forever, so it is acknowledged after logging.
            log.exception("job %s (%s) failed", job.id, job.kind)
            await svc.queue.ack(job)
        finally:
            slots.release()

    log.info("worker %s started", name)
    try:
        while not stop.is_set():
            await slots.acquire()
            try:
                job = await svc.queue.claim(name, block_seconds=0.5)
            except BaseException:
                slots.release()
                raise
            if job is None:
                slots.release()
                continue
            task = asyncio.create_task(run(job), name=f"job-{job.id}")
            running.add(task)
            task.add_done_callback(running.discard)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        log.info("worker %s stopped", name)


async def run_housekeeping(svc: Services, stop: asyncio.Event) -> None:
    """Recover agents and unfinished uploads, mirror runtime status, deploy agents_dir."""
    from nasiko.core.deploy.sweep import housekeeping
    from nasiko.core.models import Principal

    s = svc.settings
    owner = None
    admin = await svc.storage.users.get_by_username(s.admin_username)
    if admin is not None:
        owner = Principal(kind="user", id=admin.id, name=admin.username, role=admin.role)
    await housekeeping(
        svc.extensions["uploads"],
        svc.extensions["lifecycle"],
        stop=stop,
        # Process agents are children of one worker: only embedded mode restarts them here.
        runtimes={"docker"} if s.redis_url else {"process", "docker"},
        agents_dir=s.runtime.agents_dir,
        owner=owner,
        analyze=svc.storage.analyze,
    )
