"""DeployPipeline: one upload's steps, run by a worker under a lease.

Every step can run again from its start: a worker that dies mid-step leaves the upload in that
step with an expired lease, and the next worker (the same job re-delivered, or the sweep)
repeats it. Extraction and clones go to fresh folders, builds are keyed by agent version, and
a half-started deployment recorded in the upload is stopped before it is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasiko.a2a import fetch_card, normalize_card
from nasiko.core.deploy.models import MAX_STEP_LOG, Upload
from nasiko.core.deploy.sources import git_clone, github_host, package_dir
from nasiko.core.models import Principal, utcnow
from nasiko.core.packaging import extract_archive, inspect_package
from nasiko.core.packaging.validate import PackageInfo
from nasiko.core.ports import AgentSpec, Deployment, Event, EventBus, Job, Runtime
from nasiko.core.registry.service import RegistryService
from nasiko.core.security import hash_token
from nasiko.errors import (
    BuildFailed,
    Conflict,
    InvalidCard,
    InvalidPackage,
    NasikoError,
    Unavailable,
    UpstreamTimeout,
)

log = logging.getLogger(__name__)
TOPIC = "uploads"
RuntimeProvider = Callable[[str], Runtime]


@dataclasses.dataclass
class PipelineConfig:
    data_dir: Path
    api_url: str
    gateway_url: str
    github_api_url: str
    otel_auto: bool
    health_timeout: float
    github_web_url: str | None = None
    max_files: int = 10_000
    max_bytes: int = 512 * 1024 * 1024
    lease_seconds: float = 30.0


def deployment_to_json(dep: Deployment, *, source_dir: Path, version: int) -> dict[str, Any]:
    return {**dataclasses.asdict(dep), "source_dir": str(source_dir), "version": version}


def deployment_from_json(data: dict[str, Any]) -> Deployment:
    return Deployment(
        runtime=data["runtime"],
        ref=data["ref"],
        endpoints=list(data["endpoints"]),
        artifact=data.get("artifact"),
        extra=dict(data.get("extra") or {}),
    )


def agent_env(
    cfg: PipelineConfig, *, agent_id: str, slug: str, version: int, token: str
) -> dict[str, str]:
    """What every deployed agent gets: telemetry export, its identity, the gateway."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": cfg.api_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{token}",
        "OTEL_SERVICE_NAME": slug,
        "OTEL_RESOURCE_ATTRIBUTES": (
            f"nasiko.agent.id={agent_id},nasiko.agent.slug={slug},"
            f"nasiko.agent.version={version},service.version={version}"
        ),
        "NASIKO_AGENT_ID": agent_id,
        "NASIKO_AGENT_SLUG": slug,
        "NASIKO_AGENT_TOKEN": token,
        "NASIKO_GATEWAY_URL": cfg.gateway_url,
        "NASIKO_OTEL_AUTO": "1" if cfg.otel_auto else "0",
    }


class StepLog:
    """Collects a step's log lines; flushed to the record and announced in small batches."""

    def __init__(self, run: UploadRun, step: str) -> None:
        self.run = run
        self.step = step
        self._last_flush = time.monotonic()

    async def __call__(self, line: str) -> None:
        for part in str(line).rstrip("\n").splitlines() or [""]:
            self.run.upload.step(self.step).log.append(part[:2000])
        if time.monotonic() - self._last_flush > 0.5:
            self._last_flush = time.monotonic()
            await self.run.save()


class UploadRun:
    def __init__(self, pipeline: DeployPipeline, upload: Upload) -> None:
        self.p = pipeline
        self.upload = upload

    @property
    def dir(self) -> Path:
        return self.p.cfg.data_dir / "uploads" / self.upload.id

    async def save(self) -> None:
        for step in self.upload.steps:
            del step.log[:-MAX_STEP_LOG]
        await self.p.uploads.save(self.upload)
        await self.p.events.publish(
            Event(
                TOPIC, "upload.updated", {"upload_id": self.upload.id, "status": self.upload.status}
            )
        )

    async def begin(self, name: str) -> StepLog:
        if name != "registered":  # terminal: the status only says so once registration is done
            self.upload.status = name  # type: ignore[assignment]
        step = self.upload.step(name)
        step.status, step.started_at, step.finished_at = "running", utcnow(), None
        await self.save()
        return StepLog(self, name)

    async def end(self, name: str) -> None:
        step = self.upload.step(name)
        step.status, step.finished_at = "done", utcnow()
        await self.save()


class DeployPipeline:
    def __init__(
        self,
        *,
        cfg: PipelineConfig,
        uploads: Any,
        registry: RegistryService,
        users: Any,
        credentials: Any,
        events: EventBus,
        runtimes: RuntimeProvider,
    ) -> None:
        self.cfg = cfg
        self.uploads = uploads
        self.registry = registry
        self.users = users
        self.credentials = credentials
        self.events = events
        self.runtimes = runtimes

    async def handle(self, job: Job) -> None:
        await self.run(job.payload["upload_id"], worker=f"{socket.gethostname()}-{os.getpid()}")

    async def run(self, upload_id: str, *, worker: str) -> None:
        owner = f"{worker}:{uuid.uuid4().hex[:8]}"
        upload = await self.uploads.get(upload_id)
        if upload is None or upload.done:
            return
        if not await self.uploads.acquire(upload_id, owner, lease=self.cfg.lease_seconds):
            log.info("upload %s is being handled by another worker", upload_id)
            return
        upload = await self.uploads.get(upload_id)
        assert upload is not None
        run = UploadRun(self, upload)
        heartbeat = asyncio.create_task(self._heartbeat(upload_id, owner))
        try:
            await self._steps(run)
        except NasikoError as exc:
            await self._fail(run, exc.message, details=exc.details)
        except Exception as exc:  # a bug must still end the upload, not leave it "building"
            log.exception("upload %s crashed", upload_id)
            await self._fail(run, f"internal error ({type(exc).__name__}); see the server log")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self.uploads.release(upload_id, owner)

    async def _heartbeat(self, upload_id: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self.cfg.lease_seconds / 3)
            await self.uploads.renew(upload_id, owner, lease=self.cfg.lease_seconds)

    async def _fail(self, run: UploadRun, message: str, *, details: Any = None) -> None:
        up = run.upload
        running = [s for s in up.steps if s.status == "running"]
        if running:
            step = running[-1]
            step.status, step.finished_at = "failed", utcnow()
            step.log.append(f"error: {message}")
            if isinstance(details, dict) and details.get("log_tail"):
                step.log += [str(x) for x in details["log_tail"]][-30:]
        dep = (up.result or {}).get("deployment")
        if dep and up.status != "registered":
            with contextlib.suppress(NasikoError):
                await self.runtimes(up.runtime).stop(deployment_from_json(dep))
        if up.agent_id and (up.result or {}).get("token_hash"):
            await self.registry.retire_agent_tokens(up.agent_id, only=up.result["token_hash"])
        up.status, up.error, up.finished_at = "failed", message, utcnow()
        await run.save()

    # ------------------------------------------------------------------ steps

    async def _steps(self, run: UploadRun) -> None:
        up = run.upload
        up.result = up.result or {}
        info = await self._validate(run)
        runtime = self.runtimes(up.runtime)
        spec = await self._spec(run, info)
        out = await run.begin("building")
        artifact = await runtime.build(spec, log=out)
        up.result["artifact"] = artifact
        await run.end("building")

        out = await run.begin("deploying")
        stale = up.result.get("deployment")
        if stale:  # a previous attempt started it; never leave two running
            with contextlib.suppress(NasikoError):
                await runtime.stop(deployment_from_json(stale))
        deployment = await runtime.start(spec, artifact, log=out)
        up.result["deployment"] = deployment_to_json(
            deployment, source_dir=spec.source_dir, version=spec.version
        )
        await run.end("deploying")

        out = await run.begin("health-checking")
        card = await self._health(run, runtime, deployment, info, out)
        await run.end("health-checking")
        await self._register(run, info, card, deployment, spec)

    async def _validate(self, run: UploadRun) -> PackageInfo:
        up = run.upload
        out = await run.begin("validating")
        src = up.source
        name = src.get("name")
        if src["kind"] == "archive":
            dest = run.dir / "package"
            if dest.exists():
                shutil.rmtree(dest)
            result = await asyncio.to_thread(
                extract_archive,
                Path(src["path"]),
                dest,
                max_files=self.cfg.max_files,
                max_bytes=self.cfg.max_bytes,
            )
            await out(f"extracted {result.files} files ({result.bytes} bytes)")
            root = result.root
            name = result.top_level or name
        elif src["kind"] == "git":
            token = await self._git_token(up)
            commit = await git_clone(
                src["url"], run.dir / "checkout", ref=src.get("ref"), token=token, log=out
            )
            up.source = {**src, "commit": commit}
            root = package_dir(run.dir / "checkout", src.get("subdir"))
            if not name:
                name = Path(src.get("subdir") or "").name or Path(
                    src["url"].rstrip("/")
                ).name.removesuffix(".git")
        elif src["kind"] == "directory":
            root = Path(src["path"])
        else:
            raise InvalidPackage(f"unknown source kind '{src['kind']}'")
        info = await asyncio.to_thread(inspect_package, root, name=name)
        for warning in info.warnings:
            await out(f"warning: {warning}")
        await out(
            f"package '{info.name}': {info.layout} layout, runs "
            f"{' '.join(info.process.command)} (from {info.process.source})"
        )
        up.result = {**(up.result or {}), "package_root": str(root), "package": info.name}
        await self._choose_agent(run, info)
        await run.end("validating")
        return info

    async def _git_token(self, up: Upload) -> str | None:
        if not github_host(up.source["url"], self.cfg.github_api_url, self.cfg.github_web_url):
            return None
        cred = await self.credentials.get(user_id=up.owner_id, kind="github")
        return cred.secret if cred else None

    async def _choose_agent(self, run: UploadRun, info: PackageInfo) -> None:
        """New agent, or a new version of the uploader's agent with the same slug."""
        up = run.upload
        if up.agent_id and up.slug:
            return
        slug = (up.options or {}).get("slug") or _slug(info.name)
        existing = await self.registry.repo.get(slug)
        if existing is not None:
            owner = await self.users.get(up.owner_id)
            if existing.owner_id != up.owner_id and not (owner and owner.is_superuser):
                raise Conflict(
                    f"the slug '{slug}' belongs to another user's agent; upload with another slug",
                    details={"slug": slug},
                )
            up.agent_id = existing.id
        else:
            up.agent_id = str(uuid.uuid4())
        up.slug = slug

    async def _spec(self, run: UploadRun, info: PackageInfo) -> AgentSpec:
        up = run.upload
        assert up.agent_id and up.slug
        existing = await self.registry.repo.get(up.agent_id)
        version = up.result.get("version") if up.result else None
        if version is None:
            version = await self.registry.repo.next_version(up.agent_id) if existing else 1
            up.result["version"] = version
        # The running version keeps its token until this one is registered (blue/green).
        token = await self.registry.issue_agent_token_for(up.agent_id, keep_previous=True)
        up.result["token_hash"] = hash_token(token)
        env = {
            **info.env,
            **agent_env(self.cfg, agent_id=up.agent_id, slug=up.slug, version=version, token=token),
        }
        return AgentSpec(
            agent_id=up.agent_id,
            slug=up.slug,
            version=version,
            source_dir=Path(up.result["package_root"]),
            env=env,
            memory_mb=info.memory_mb,
            cpus=info.cpus,
            port=None,
        )

    async def _health(
        self,
        run: UploadRun,
        runtime: Runtime,
        deployment: Deployment,
        info: PackageInfo,
        out: StepLog,
    ) -> dict[str, Any]:
        endpoint = deployment.endpoints[0]
        deadline = time.monotonic() + self.cfg.health_timeout
        await out(f"waiting for an agent card at {endpoint}")
        last = "no answer yet"
        while True:
            try:
                card, url = await fetch_card(endpoint, client=self.registry.http, timeout=3)
                await out(f"agent card found at {url}")
                return card
            except InvalidCard:
                raise
            except (Unavailable, UpstreamTimeout) as exc:
                last = exc.message
                answered = [d for d in exc.details or [] if "HTTP" in str(d.get("error", ""))]
                if answered and len(answered) == len(exc.details or []) and info.card:
                    await out("the agent serves no card; using the package's card file")
                    return _package_card(info.card, endpoint)
            state = await runtime.status(deployment)
            if state in ("failed", "stopped"):
                raise BuildFailed(
                    f"the agent exited before it became healthy ({last})",
                    details={"log_tail": await runtime.logs(deployment, tail=30)},
                )
            if time.monotonic() > deadline:
                raise BuildFailed(
                    f"the agent did not become healthy within {self.cfg.health_timeout:.0f}s: "
                    f"{last}",
                    details={"log_tail": await runtime.logs(deployment, tail=30)},
                )
            await asyncio.sleep(0.3)

    async def _register(
        self,
        run: UploadRun,
        info: PackageInfo,
        card: dict[str, Any],
        deployment: Deployment,
        spec: AgentSpec,
    ) -> None:
        up = run.upload
        out = await run.begin("registered")
        owner = await self.users.get(up.owner_id)
        principal = Principal(
            kind="user",
            id=up.owner_id,
            name=owner.username if owner else "?",
            role=owner.role if owner else "user",
        )
        assert up.agent_id is not None  # chosen while validating
        source = {**up.source, "upload_id": up.id}
        source.pop("path", None)
        dep_json = up.result["deployment"]
        existing = await self.registry.repo.get(up.agent_id)
        if existing is None:
            opts = up.options or {}
            agent = await self.registry.create(
                principal,
                card=card,
                card_original=info.card,
                source=source,
                slug=up.slug,
                visibility=opts.get("visibility", "private"),
                tags=opts.get("tags") or [],
                endpoints=deployment.endpoints,
                status="running",
                runtime=up.runtime,
                artifact=deployment.artifact,
                agent_id=up.agent_id,
            )
            await self.registry.set_runtime_state(agent.id, deployment=dep_json)
        else:
            previous = await self.registry.repo.get_deployment(existing.id)
            await self.registry.new_version(
                principal,
                existing,
                card=card,
                card_original=info.card,
                source=source,
                artifact=deployment.artifact,
                note="redeployed",
                version=spec.version,
                extra={
                    "status": "running",
                    "endpoints": deployment.endpoints,
                    "deployment": dep_json,
                    "runtime": up.runtime,
                },
            )
            if previous and previous.get("ref") != deployment.ref:
                # The new version is healthy: only now is the old one stopped.
                with contextlib.suppress(NasikoError):
                    await self.runtimes(previous["runtime"]).stop(deployment_from_json(previous))
        await self.registry.retire_agent_tokens(up.agent_id, keep=up.result.get("token_hash"))
        await out(
            f"registered as {up.slug} v{spec.version}; gateway URL "
            f"{self.cfg.gateway_url}/agents/{up.slug}"
        )
        up.result["gateway_url"] = f"{self.cfg.gateway_url}/agents/{up.slug}"
        up.status = "registered"
        up.step("registered").status = "done"
        up.step("registered").finished_at = up.finished_at = utcnow()
        await run.save()


def _slug(name: str) -> str:
    from nasiko.core.registry.service import slug_from

    return slug_from(name)


def _package_card(raw: dict[str, Any], endpoint: str) -> dict[str, Any]:
    card = normalize_card(raw)
    if not card.get("supportedInterfaces"):
        card["supportedInterfaces"] = [
            {"url": f"{endpoint}/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ]
    return card
