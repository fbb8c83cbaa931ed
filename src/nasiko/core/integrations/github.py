"""GitHub for a user: connect a token, list repositories, deploy one, redeploy on push.

The token lives only in the encrypted credential store (kind ``github``, the same record the
OAuth login keeps); nothing here returns it, logs it or puts it in a URL. Cloning goes through
the upload pipeline, which reads that same credential for GitHub hosts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from pydantic import BaseModel, Field

from nasiko.core.audit import AuditService
from nasiko.core.deploy.models import GitSource, Upload
from nasiko.core.deploy.service import AgentLifecycle, UploadService
from nasiko.core.models import Principal
from nasiko.core.ports import CredentialRepo, UserRepo
from nasiko.core.registry.service import RegistryService
from nasiko.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from nasiko.integrations.github import GitHubClient

log = logging.getLogger(__name__)

KIND = "github"
HOOK_KIND = "github_hook"  # per-agent webhook secrets, name = agent id


class GitHubStatus(BaseModel):
    connected: bool
    login: str | None = None
    source: str | None = Field(None, description="'token' (pasted) or 'oauth' (GitHub login).")
    connected_at: str | None = None


class GitHubRepo(BaseModel):
    full_name: str
    name: str
    owner: str
    private: bool
    description: str | None = None
    default_branch: str | None = None
    language: str | None = None
    html_url: str | None = None
    pushed_at: str | None = None
    stars: int = 0


class CloneRequest(BaseModel):
    repository: str = Field(description="OWNER/REPO")
    ref: str | None = Field(None, description="Branch, tag or commit (default branch if empty).")
    subdir: str | None = Field(None, description="Folder inside the repository.")
    slug: str | None = None
    runtime: str | None = None
    visibility: str = "private"


class HookSecret(BaseModel):
    agent: str
    url: str = Field(description="Payload URL to configure on GitHub (content type JSON).")
    secret: str = Field(description="Shown once; GitHub signs each delivery with it.")
    branch: str | None = None


def _repo(item: dict[str, Any]) -> GitHubRepo:
    return GitHubRepo(
        full_name=item["full_name"],
        name=item["name"],
        owner=(item.get("owner") or {}).get("login") or item["full_name"].split("/")[0],
        private=bool(item.get("private")),
        description=item.get("description"),
        default_branch=item.get("default_branch"),
        language=item.get("language"),
        html_url=item.get("html_url"),
        pushed_at=item.get("pushed_at"),
        stars=int(item.get("stargazers_count") or 0),
    )


def sign(secret: str, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256`` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class GitHubService:
    def __init__(
        self,
        *,
        client: GitHubClient,
        credentials: CredentialRepo,
        users: UserRepo,
        uploads: UploadService,
        lifecycle: AgentLifecycle,
        registry: RegistryService,
        audit: AuditService,
        api_url: str,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.users = users
        self.uploads = uploads
        self.lifecycle = lifecycle
        self.registry = registry
        self.audit = audit
        self.api_url = api_url.rstrip("/")

    async def _token(self, principal: Principal) -> str:
        cred = await self.credentials.get(user_id=principal.id, kind=KIND)
        if cred is None:
            raise InvalidInput(
                "GitHub is not connected; run nasiko github login (or log in with GitHub)",
                code="github_not_connected",
            )
        return str(cred.secret)

    @staticmethod
    def _user(principal: Principal) -> None:
        if principal.kind != "user":
            raise Forbidden("only users can connect GitHub")

    async def status(self, principal: Principal) -> GitHubStatus:
        cred = await self.credentials.get(user_id=principal.id, kind=KIND)
        if cred is None:
            return GitHubStatus(connected=False, source=None)
        meta = cred.meta or {}
        return GitHubStatus(
            connected=True,
            login=meta.get("login"),
            source=meta.get("source"),
            connected_at=cred.updated_at.isoformat(),
        )

    async def connect(self, principal: Principal, token: str) -> GitHubStatus:
        self._user(principal)
        token = token.strip()
        if not token:
            raise InvalidInput("give a GitHub token", details=[{"field": "token"}])
        user = await self.client.token_user(token)
        await self.credentials.put(
            user_id=principal.id,
            kind=KIND,
            name="default",
            secret=token,
            meta={"login": user.get("login"), "source": "token"},
        )
        await self.audit.record(
            "github.connected",
            actor=principal,
            target_type="user",
            target_id=principal.id,
            details={"login": user.get("login")},
        )
        return await self.status(principal)

    async def disconnect(self, principal: Principal) -> bool:
        removed = await self.credentials.delete(user_id=principal.id, kind=KIND)
        if removed:
            await self.audit.record(
                "github.disconnected", actor=principal, target_type="user", target_id=principal.id
            )
        return removed

    async def repos(self, principal: Principal, *, query: str | None = None) -> list[GitHubRepo]:
        """The user's repositories (owned, collaborator, organisation), newest push first;
        `query` keeps those whose name or description contains it (case-insensitive)."""
        token = await self._token(principal)
        items = await self.client.paginate(
            "/user/repos", token=token, params={"sort": "pushed", "direction": "desc"}
        )
        repos = [_repo(i) for i in items]
        if query:
            q = query.lower()
            repos = [
                r for r in repos if q in r.full_name.lower() or q in (r.description or "").lower()
            ]
        return repos

    async def clone(self, principal: Principal, body: CloneRequest) -> Upload:
        """Deploy OWNER/REPO through the upload pipeline (the token, if any, is read there)."""
        self._user(principal)
        url = self.client.clone_url(body.repository)
        source = GitSource.model_validate(
            {
                "url": url,
                "ref": body.ref,
                "subdir": body.subdir,
                "slug": body.slug,
                "runtime": body.runtime,
                "visibility": body.visibility,
            }
        )
        upload = await self.uploads.from_git(principal, source)
        log.info("github clone of %s queued as upload %s", body.repository, upload.id)
        return upload

    # ------------------------------------------------------------------ push webhooks

    async def create_hook(self, principal: Principal, key: str) -> HookSecret:
        """A new webhook secret for an agent deployed from git (replaces any earlier one)."""
        agent = await self.registry.get_managed(principal, key)
        source = await self._git_source(agent.id)
        secret = secrets.token_hex(24)
        await self.credentials.put(
            user_id=agent.owner_id,
            kind=HOOK_KIND,
            name=agent.id,
            secret=secret,
            meta={"slug": agent.slug, "ref": source.get("ref")},
        )
        await self.audit.record(
            "github.hook_created", actor=principal, target_type="agent", target_id=agent.id
        )
        return HookSecret(
            agent=agent.slug,
            url=f"{self.api_url}/api/v1/github/webhook?agent={agent.slug}",
            secret=secret,
            branch=source.get("ref"),
        )

    async def _git_source(self, agent_id: str) -> dict[str, Any]:
        record = await self.registry.repo.version(
            agent_id, (await self._agent(agent_id)).current_version
        )
        upload_id = ((record.source if record else None) or {}).get("upload_id")
        upload = await self.uploads.uploads.get(upload_id) if upload_id else None
        if upload is None or upload.source.get("kind") != "git":
            raise InvalidInput("the agent was not deployed from a git repository")
        return dict(upload.source)

    async def _agent(self, key: str) -> Any:
        agent = await self.registry.repo.get(key)
        if agent is None:
            raise NotFound(f"no agent '{key}'")
        return agent

    async def push(
        self, *, agent_key: str, event: str, signature: str | None, body: bytes, payload: Any
    ) -> Upload | None:
        """A GitHub delivery: verified against the agent's secret; a push to the branch the
        agent was deployed from redeploys it. Returns the new upload, or None when ignored."""
        agent = await self.registry.repo.get(agent_key)
        cred = (
            await self.credentials.get(user_id=agent.owner_id, kind=HOOK_KIND, name=agent.id)
            if agent is not None
            else None
        )
        # One answer for an unknown agent and a bad signature: nothing leaks about which.
        if (
            agent is None
            or cred is None
            or not signature
            or not hmac.compare_digest(sign(cred.secret, body), signature)
        ):
            raise Unauthenticated("the webhook signature does not match")
        if event == "ping":
            return None
        if event != "push" or not isinstance(payload, dict):
            return None
        source = await self._git_source(agent.id)
        branch = source.get("ref") or (payload.get("repository") or {}).get("default_branch")
        if payload.get("ref") != f"refs/heads/{branch}" or payload.get("deleted"):
            return None
        owner = await self.users.get(agent.owner_id)
        if owner is None or not owner.is_active:
            raise Forbidden("the agent's owner cannot deploy")
        principal = Principal(kind="user", id=owner.id, name=owner.username, role=owner.role)
        upload = await self.lifecycle.redeploy(principal, agent.id)
        await self.audit.record(
            "github.push_redeploy",
            actor=principal,
            target_type="agent",
            target_id=agent.id,
            details={"after": payload.get("after"), "upload_id": upload.id},
        )
        return upload
