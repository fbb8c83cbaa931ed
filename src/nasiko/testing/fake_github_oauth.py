"""A fake GitHub OAuth provider speaking GitHub's real web-flow endpoints, for tests.

GET  /login/oauth/authorize      -> 302 to redirect_uri?code=…&state=… (auto-approves)
POST /login/oauth/access_token   -> {"access_token", "token_type", "scope"} (Accept: json)
GET  /user, GET /user/emails     -> the signed-in user (API base = the same server)
"""

from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from nasiko.testing.platform import free_port


class FakeGitHubOAuth:
    def __init__(
        self,
        *,
        client_id: str = "test-client",
        client_secret: str = "test-secret",
        user: dict[str, Any] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.user = user or {"id": 4242, "login": "octocat", "name": "The Octocat", "email": None}
        self.emails = [{"email": "octocat@github.example", "primary": True, "verified": True}]
        self.codes: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def authorize(request: Request) -> Response:
            q = request.query_params
            if q.get("client_id") != self.client_id:
                return JSONResponse({"error": "unknown client"}, status_code=404)
            code = secrets.token_hex(8)
            self.codes[code] = q["redirect_uri"]
            target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
            return RedirectResponse(target, status_code=302)

        async def access_token(request: Request) -> Response:
            form = await request.form()
            code = str(form.get("code"))
            ok = (
                form.get("client_id") == self.client_id
                and form.get("client_secret") == self.client_secret
                and self.codes.pop(code, None) == form.get("redirect_uri")
            )
            if not ok:
                # GitHub answers 200 with an error body for a bad code.
                return JSONResponse(
                    {
                        "error": "bad_verification_code",
                        "error_description": "The code passed is incorrect or expired.",
                    }
                )
            token = "gho_" + secrets.token_hex(18)
            self.tokens.add(token)
            return JSONResponse(
                {
                    "access_token": token,
                    "token_type": "bearer",
                    "scope": "read:user,user:email,repo",
                }
            )

        def authorized(request: Request) -> bool:
            auth = request.headers.get("authorization", "")
            return auth.split(" ", 1)[-1] in self.tokens

        async def user(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            return JSONResponse(self.user)

        async def emails(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            return JSONResponse(self.emails)

        return Starlette(
            routes=[
                Route("/login/oauth/authorize", authorize),
                Route("/login/oauth/access_token", access_token, methods=["POST"]),
                Route("/user", user),
                Route("/user/emails", emails),
            ]
        )

    def __enter__(self) -> FakeGitHubOAuth:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
