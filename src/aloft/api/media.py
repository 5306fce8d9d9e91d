"""/api/v1/media, /api/v2/media, /api/v1/media/:id, and the media files (/media/...).

Uploads are multipart with one file; an upload endpoint takes a body up to the video limit
plus room for the form around it. The files are served from the database with their own
Content-Type, `nosniff`, a sandboxing CSP and a year of immutable caching: a file's URL
names its content, which never changes.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.errors import error_response
from aloft.api.params import path_id
from aloft.api.responses import json_response
from aloft.errors import AloftError, Invalid
from aloft.services import limits, media
from aloft.services.transcoder import LIMITS

UPLOAD_BODY = LIMITS.video_size + 1024 * 1024
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Accept-Ranges": "bytes",
}


def _entity(ctx: Ctx, row: Any) -> dict[str, Any]:
    return entities.media_attachment(row, ctx.settings.effective_base_url)


def _upload(ctx: Ctx) -> media.Upload:
    p = ctx.params
    if p.has("thumbnail"):
        raise Invalid("thumbnail is not supported on this server")
    sent = p.file("file")
    if sent is None:
        raise Invalid("Validation failed: File can't be blank")
    return media.Upload(sent.filename or "", sent.content_type or "", sent.file.read())


@endpoint(scope="write:media", user=True, upload=UPLOAD_BODY, limit=limits.MEDIA)
def create_v2(ctx: Ctx) -> Any:
    """Images are processed now (200); video and GIFs by the job (202, url null)."""
    p = ctx.params
    row = media.upload(ctx.db, ctx.viewer, _upload(ctx), p.string("description"), p.string("focus"))
    if row.state == media.PROCESSING:
        ctx.request.app.state.jobs.wake()
        return json_response(_entity(ctx, row), 202)
    return _entity(ctx, row)


@endpoint(scope="write:media", user=True, upload=UPLOAD_BODY, limit=limits.MEDIA)
def create_v1(ctx: Ctx) -> Any:
    """As v2, but a video is converted before the answer (the row is claimed for this
    request, so no job takes it meanwhile; if this app dies, the claim runs out and a job
    finishes it)."""
    p = ctx.params
    row = media.upload(
        ctx.db,
        ctx.viewer,
        _upload(ctx),
        p.string("description"),
        p.string("focus"),
        claim_for_caller=True,
    )
    if row.state == media.PROCESSING:
        row = media.finish(ctx.db, row.id) or row
    if row.state == media.FAILED:
        raise Invalid(media.PROCESSING_FAILED)
    return _entity(ctx, row)


@endpoint(scope="write:media", user=True)
def show(ctx: Ctx) -> Any:
    """206 while processing, as Mastodon answers."""
    row = media.get(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return json_response(_entity(ctx, row), 206 if row.state == media.PROCESSING else 200)


@endpoint(scope="write:media", user=True)
def update(ctx: Ctx) -> Any:
    p = ctx.params
    if p.has("thumbnail"):
        raise Invalid("thumbnail is not supported on this server")
    row = media.update(
        ctx.db, ctx.viewer, path_id(ctx.path("id")), p.string("description"), p.string("focus")
    )
    return json_response(_entity(ctx, row), 206 if row.state == media.PROCESSING else 200)


def _byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """One `bytes=a-b` range as (first, last); None to send everything; False if it cannot
    be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first_s, _, last_s = spec.strip().partition("-")
    try:
        if first_s == "":
            length = int(last_s)
            if length <= 0:
                return False
            return max(0, size - length), size - 1
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return False
    return first, min(last, size - 1)


async def serve_file(request: Request) -> Response:
    """GET /media/{id}/{token}/{variant}.{ext}: a stored file (a standby may answer)."""
    started = time.perf_counter()
    state = request.app.state
    try:
        media_id = path_id(request.path_params["id"])
        variant = str(request.path_params["file"]).partition(".")[0]
        found = await run_in_threadpool(
            media.file, state.db, media_id, str(request.path_params["token"]), variant
        )
        response = _file_response(request, found, f'"{media_id}-{variant}"')
    except AloftError as exc:
        response = error_response(exc)
    state.metrics.observe(
        "media.serve_file", request.method, response.status_code, time.perf_counter() - started
    )
    return response


def _file_response(request: Request, found: media.File, etag: str) -> Response:
    headers = {**FILE_HEADERS, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    size = len(found.data)
    wanted = _byte_range(request.headers.get("range", ""), size)
    if wanted is False:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    if isinstance(wanted, tuple):
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        body = found.data[first : last + 1]
        return Response(body, status_code=206, media_type=found.content_type, headers=headers)
    return Response(found.data, media_type=found.content_type, headers=headers)
