from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from nasiko.api.app import create_app
from nasiko.bootstrap import Services


@pytest.fixture
async def api(svc: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(svc)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://nasiko.test") as client:
        yield client
