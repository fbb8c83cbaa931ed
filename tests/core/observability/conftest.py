from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nasiko.bootstrap import Services
from nasiko.core.observability.service import TraceService
from nasiko.observability.wiring import register


@pytest.fixture
async def traces(svc: Services) -> AsyncIterator[TraceService]:
    service = register(svc)
    yield service
    await service.close()
