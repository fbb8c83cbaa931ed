"""Log in with GitHub: state handling, finding or creating the account, keeping the token."""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from nasiko.core.audit import AuditService
from nasiko.core.auth import AuthService, TokenPair
from nasiko.core.models import User
from nasiko.core.ports import Cache, CredentialRepo, UserRepo
from nasiko.core.security import JwtSigner
from nasiko.core.users import NewUser, UserService
from nasiko.errors import Conflict, InvalidInput, Unauthenticated
from nasiko.integrations.github import GitHubClient

SCOPE = "read:user user:email repo"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _check_redirect(redirect: str) -> str:
    # Only the CLI's localhost listener or a path on this platform: never an open redirect.
    if redirect.startswith("/") and not redirect.startswith("//"):
        return redirect
    parts = urlsplit(redirect)
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return redirect
    raise InvalidInput(
        "redirect must be a path on this platform or an http://127.0.0.1 URL",
        details=[{"field": "redirect"}],
    )


class GitHubLogin:
    def __init__(
        self,
        *,
        client: GitHubClient,
        signer: JwtSigner,
        auth: AuthService,
        users: UserService,
        user_repo: UserRepo,
        credentials: CredentialRepo,
        cache: Cache,
        audit: AuditService,
        callback_url: str,
    ) -> None:
        self.client = client
        self.signer = signer
        self.auth = auth
        self.users = users
        self.user_repo = user_repo
        self.credentials = credentials
        self.cache = cache
        self.audit = audit
        self.callback_url = callback_url

    def _require_enabled(self) -> None:
        if not self.client.oauth_enabled:
            raise InvalidInput(
                "GitHub login is not enabled here; an operator must set NASIKO_GITHUB_CLIENT_ID "
                "and NASIKO_GITHUB_CLIENT_SECRET",
                code="github_not_configured",
            )

    def start(self, redirect: str) -> str:
        self._require_enabled()
        state = self.signer.issue(
            subject="github-login",
            ttl=timedelta(minutes=10),
            claims={"typ": "oauth_state", "redirect": _check_redirect(redirect)},
        )
        return self.client.authorize_url(redirect_uri=self.callback_url, state=state, scope=SCOPE)

    async def finish(
        self, *, code: str, state: str, source_ip: str | None
    ) -> tuple[str, TokenPair]:
        """Returns where to send the browser next and the new session."""
        self._require_enabled()
        claims = self.signer.verify(state, typ="oauth_state")
        gh_token = await self.client.exchange_code(code, redirect_uri=self.callback_url)
        gh_user = await self.client.current_user(gh_token)
        user = await self._find_or_create(gh_user, source_ip)
        if not user.is_active:
            raise Unauthenticated("the account is not active")
        await self.credentials.put(
            user_id=user.id,
            kind="github",
            name="default",
            secret=gh_token,
            meta={"login": gh_user.get("login"), "source": "oauth"},
        )
        pair = await self.auth.start_session(user)
        await self.audit.record(
            "login.success",
            actor_name=user.username,
            target_type="user",
            target_id=user.id,
            source_ip=source_ip,
            details={"via": "github"},
        )
        return str(claims["redirect"]), pair

    async def _find_or_create(self, gh_user: dict[str, object], source_ip: str | None) -> User:
        gh_id = str(gh_user["id"])
        existing = await self.user_repo.get_by_github_id(gh_id)
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        login = re.sub(r"[^a-zA-Z0-9_.-]", "-", str(gh_user.get("login") or f"gh{gh_id}"))
        email = str(gh_user.get("email") or f"{gh_id}+{login}@users.noreply.github.com")
        for candidate in (login, f"{login}-gh", f"{login}-gh-{secrets.token_hex(3)}"):
            try:
                return await self.users.create(
                    # GitHub users have no usable password: a random one nobody knows.
                    NewUser(username=candidate, email=email, password=secrets.token_urlsafe(24)),
                    actor=None,
                    source_ip=source_ip,
                    github_id=gh_id,
                )
            except Conflict:
                continue
        raise Conflict(f"could not find a free username for GitHub user {login}")

    async def cli_code(self, pair: TokenPair) -> str:
        code = secrets.token_urlsafe(24)
        await self.cache.set(f"oauth_code:{code}", pair.model_dump_json().encode(), ttl=120)
        return code

    async def exchange(self, code: str) -> TokenPair:
        raw = await self.cache.get(f"oauth_code:{code}")
        await self.cache.delete(f"oauth_code:{code}")
        if raw is None:
            raise Unauthenticated("the login code is unknown or expired; run nasiko login again")
        return TokenPair.model_validate(json.loads(raw))


def with_query(url: str, **params: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"
