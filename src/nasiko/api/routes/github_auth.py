from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from nasiko.api.deps import ClientIp, ServicesDep
from nasiko.core.auth import TokenPair
from nasiko.core.github_login import GitHubLogin, with_query

router = APIRouter(prefix="/auth", tags=["auth"])


class ExchangeBody(BaseModel):
    code: str


def _login(svc: ServicesDep) -> GitHubLogin:
    login: GitHubLogin = svc.extensions["github_login"]
    return login


@router.get("/github/login", status_code=302)
async def github_login(
    svc: ServicesDep,
    redirect: str = Query(
        "/", description="Where to land afterwards: a path, or the CLI's http://127.0.0.1 callback."
    ),
) -> RedirectResponse:
    return RedirectResponse(_login(svc).start(redirect), status_code=302)


@router.get("/github/callback", status_code=302)
async def github_callback(
    svc: ServicesDep, ip: ClientIp, code: str = Query(...), state: str = Query(...)
) -> RedirectResponse:
    flow = _login(svc)
    target, pair = await flow.finish(code=code, state=state, source_ip=ip)
    if target.startswith("/"):
        response = RedirectResponse(target, status_code=302)
        response.set_cookie(
            "nasiko_token",
            pair.access_token,
            httponly=True,
            samesite="lax",
            max_age=pair.expires_in,
        )
        return response
    # The CLI gets a one-time code, never the token itself in a URL.
    return RedirectResponse(with_query(target, code=await flow.cli_code(pair)), status_code=302)


@router.post("/exchange", response_model=TokenPair)
async def exchange(body: ExchangeBody, svc: ServicesDep) -> TokenPair:
    return await _login(svc).exchange(body.code)
