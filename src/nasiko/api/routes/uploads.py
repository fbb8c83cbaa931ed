from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse

from nasiko.api.deps import CurrentPrincipal, ServicesDep
from nasiko.core.deploy.models import GitSource, Upload
from nasiko.core.deploy.service import UploadService
from nasiko.core.models import Page
from nasiko.errors import InvalidInput

router = APIRouter(prefix="/uploads", tags=["uploads"])


def _uploads(svc: ServicesDep) -> UploadService:
    service: UploadService = svc.extensions["uploads"]
    return service


async def _multipart_file(request: Request) -> tuple[str, AsyncIterator[bytes]]:
    """Streams the 'file' part of a multipart body straight through (never all in memory)."""
    from python_multipart.multipart import parse_options_header

    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput(
            "send the archive as multipart/form-data with a 'file' field, or a "
            "JSON body with a git 'url'",
            details=[{"field": "file"}],
        )
    form = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("the multipart body has no 'file' field", details=[{"field": "file"}])

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(1024 * 1024):
            yield chunk

    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    request.state.upload_fields = fields
    request.state.upload_form = form
    return upload.filename or "upload", chunks()


@router.post("", response_model=Upload, status_code=202)
async def create_upload(request: Request, principal: CurrentPrincipal, svc: ServicesDep) -> Upload:
    """An archive (multipart 'file', optional 'slug', 'runtime', 'visibility', 'tags'), or a
    git source as JSON (`url`, `ref`, `subdir`, `slug`, `runtime`, `visibility`)."""
    service = _uploads(svc)
    length = int(request.headers.get("content-length") or 0)
    if length > svc.settings.api.max_upload_bytes:
        from nasiko.errors import PayloadTooLarge

        raise PayloadTooLarge(
            f"the upload is larger than the "
            f"{svc.settings.api.max_upload_bytes // (1024 * 1024)} MiB limit"
        )
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = GitSource.model_validate(json.loads(await request.body()))
        except ValueError as exc:
            raise InvalidInput(f"invalid git source: {exc}") from exc
        return await service.from_git(principal, body)
    filename, chunks = await _multipart_file(request)
    fields = request.state.upload_fields
    tags = [t for t in (fields.get("tags") or "").split(",") if t.strip()] or None
    try:
        return await service.from_archive(
            principal,
            filename=filename,
            chunks=chunks,
            slug=fields.get("slug") or None,
            runtime=fields.get("runtime") or None,
            visibility=fields.get("visibility") or "private",
            tags=tags,
        )
    finally:
        await request.state.upload_form.close()  # the spooled temporary file goes with it


@router.get("", response_model=Page[Upload])
async def list_uploads(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
    status: Literal[
        "queued", "validating", "building", "deploying", "health-checking", "registered", "failed"
    ]
    | None = None,
) -> Page[Upload]:
    return await _uploads(svc).list(principal, limit=limit, offset=offset, status=status)


@router.get("/{upload_id}", response_model=Upload)
async def get_upload(upload_id: str, principal: CurrentPrincipal, svc: ServicesDep) -> Upload:
    return await _uploads(svc).get(principal, upload_id)


@router.get("/{upload_id}/events")
async def upload_events(
    upload_id: str, principal: CurrentPrincipal, svc: ServicesDep
) -> EventSourceResponse:
    """Server-Sent Events: `status` with the whole record on every change, then `end`."""
    service = _uploads(svc)
    await service.get(principal, upload_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = None
        async for upload in service.watch(principal, upload_id):
            last = upload
            yield {"event": "status", "data": upload.model_dump_json()}
        yield {"event": "end", "data": json.dumps({"status": last.status if last else None})}

    return EventSourceResponse(stream(), ping=15)
