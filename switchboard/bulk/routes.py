"""/api/v1/import/: a bulk directory import as a background job, and the jobs' progress."""

from __future__ import annotations

import codecs
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import DirectoryCaller
from switchboard.access.policy import may_import_system_sized
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.bulk import jobs
from switchboard.bulk.kinds import BY_PLURAL
from switchboard.errors import BadRequest, ContentTooLarge, UnsupportedMediaType
from switchboard.kit.pagination import DEFAULT_LIMIT, Limit, decode_pk_cursor, encode_cursor
from switchboard.kit.schemas import Schema, page_of
from switchboard.web.responses import Problem, errors, json_response
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1/import", tags=["import"])

JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl")
CSV_TYPE = "text/csv"
WRITE_CHUNK = 1 << 20  # bytes gathered before one write (and one thread hop)


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {"application/problem+json": {}}}


START: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The job, started",
        "headers": {"Location": {"description": "The job: poll it", "schema": {"type": "string"}}},
    },
    **errors(400, 401, 403),
    413: _problem("The file is larger than the import size limit (smaller for a tenant administrator)"),
    415: _problem("The body is not JSON Lines (application/x-ndjson) or CSV (text/csv)"),
}
READ = errors(400, 401, 403, 404)
FILE_BODY = {"type": "string", "format": "binary"}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": 'The file itself. JSON Lines: one record per line with its "kind". CSV: one '
        "kind per file (?kind=users), a header row of the kind's fields.",
        "content": {media: {"schema": FILE_BODY} for media in (*JSON_LINES_TYPES, CSV_TYPE)},
    }
}


class ProblemOut(Schema):
    file: str
    line: int
    field: str = Field(description="The field (wire name), or empty for the whole row")
    reason: str


class ImportJobOut(Schema):
    """An import job. Poll it until status is no longer running."""

    id: str
    tenant_id: str | None = Field(description="The tenant of the administrator who started it; null: system")
    status: Literal["running", "done", "refused", "stopped", "failed", "interrupted"] = Field(
        description="done: checked (and unless checkOnly, loaded); refused: the check found problems, "
        "nothing was written; stopped: a row was refused during the load (the directory changed since "
        "the check), the batches before it are written; failed: an unexpected error; interrupted: its "
        "server process died. After stopped, failed or interrupted, posting the same file again "
        "resumes after the rows already written."
    )
    phase: Literal["counting", "checking", "loading"] = Field(description="The phase reached")
    check_only: bool
    file: str = Field(description="The stored file's name: upload.jsonl, or <kind>.csv")
    rows_total: int | None = Field(description="Rows in the file, once counted")
    rows_checked: int
    rows_loaded: int = Field(description="Rows loaded so far, rowsSkipped included")
    rows_skipped: int = Field(description="Rows already written by an interrupted import of this file")
    rows_created: int = Field(description="What the check found would be created, then what the load did")
    rows_updated: int
    rows_unchanged: int
    problem_count: int
    problems: list[ProblemOut] = Field(description=f"The first {jobs.MAX_STORED_PROBLEMS} problems")
    message: str | None = Field(description="Why the job failed")
    created_by: str
    created_at: str
    updated_at: str
    finished_at: str | None


ImportJobPage = page_of(ImportJobOut, "importJobs")


def _file_name(request: Request, kind: str | None) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in JSON_LINES_TYPES:
        if kind is not None:
            raise BadRequest.field("kind", "only for text/csv: a JSON Lines record names its own kind")
        return jobs.upload_name(None)
    if media == CSV_TYPE:
        if kind not in BY_PLURAL:
            raise BadRequest.field("kind", f"a CSV file holds one kind: one of {', '.join(BY_PLURAL)}")
        return jobs.upload_name(kind)
    raise UnsupportedMediaType(
        "Send the file as application/x-ndjson (JSON Lines) or text/csv (with ?kind=), "
        f"not {media or 'no content type'}."
    )


def _too_large(limit: int, principal: Principal) -> ContentTooLarge:
    if not may_import_system_sized(principal):
        return ContentTooLarge(
            f"The file is larger than a tenant administrator's import limit of {limit:,} bytes: split "
            "it into smaller files, or have a system administrator import it."
        )
    return ContentTooLarge(f"The file is larger than the import limit of {limit:,} bytes.")


async def _receive(request: Request, path: Path, limit: int, too_large: ContentTooLarge) -> None:
    """Stream the body to `path` (never held whole), within `limit` bytes (else `too_large`),
    checking it is UTF-8."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    decoder = codecs.getincrementaldecoder("utf-8")()
    path.parent.mkdir(parents=True)
    try:
        with await anyio.to_thread.run_sync(path.open, "wb") as stream:

            def write(data: bytes, final: bool = False) -> None:
                try:
                    decoder.decode(data, final)
                except UnicodeDecodeError as exc:
                    raise BadRequest.field("body", "the file is not UTF-8 text") from exc
                stream.write(data)

            size, pending = 0, bytearray()
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                pending += chunk
                if len(pending) >= WRITE_CHUNK:
                    await anyio.to_thread.run_sync(write, bytes(pending))
                    pending.clear()
            await anyio.to_thread.run_sync(write, bytes(pending), True)
        if size == 0:
            raise BadRequest.field("body", "the file is empty")
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise


@router.post(
    "/",
    status_code=202,
    response_model=ImportJobOut,
    responses=START,
    openapi_extra=REQUEST_BODY,
    summary="Start a bulk import",
)
async def start_import(
    request: Request,
    principal: DirectoryCaller,
    kind: Annotated[
        str | None,
        Query(max_length=20, description=f"CSV only: the kind the file holds ({', '.join(BY_PLURAL)})"),
    ] = None,
    check_only: Annotated[
        bool, Query(alias="checkOnly", description="Check every row, write nothing")
    ] = False,
) -> Response:
    """Imports (upserts) directory objects from one file, in the background: every row is checked
    first, and only a file without problems is loaded, in batches. System administrators and tenant
    administrators (within their tenant: other tenants' objects read as not found). Answers 202
    with the job; poll its Location. Posting a file again after an interrupted import resumes it."""
    jobs.require_importer(principal)
    file_name = _file_name(request, kind)
    settings = services_of(request).settings
    job_id = uuid.uuid4().hex
    upload = jobs.uploads_dir(settings.data_dir, job_id) / file_name
    limit = jobs.upload_limit(settings, principal)
    await _receive(request, upload, limit, _too_large(limit, principal))
    db = database_of(request)

    def create() -> None:
        with db.transaction() as session:
            job = jobs.create_job(session, principal, job_id, file_name, check_only)
        jobs.start(db, principal, job, upload, jobs.checkpoints_dir(settings.data_dir))

    try:
        await run_in_threadpool(create)
    except BaseException:
        shutil.rmtree(upload.parent, ignore_errors=True)
        raise
    view = await jobs.read_job(db.reader, principal, job_id)
    audit_write(request, 202, f"import:{job_id}", principal.tenant_pk)
    response = json_response(view, 202)
    response.headers["Location"] = f"/api/v1/import/{job_id}/"
    return response


@router.get("/", response_model=ImportJobPage, responses=errors(400, 401, 403), summary="List import jobs")
async def list_imports(
    request: Request,
    principal: DirectoryCaller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The import jobs the caller may see (system: all; a tenant administrator: its tenant's),
    newest first; follow nextCursor."""
    jobs.require_importer(principal)
    reader = database_of(request).reader
    items, last = await jobs.read_jobs(reader, principal, decode_pk_cursor(cursor), limit)
    total = await jobs.count_jobs(reader, principal)
    next_cursor = encode_cursor(str(last)) if last is not None else None
    return json_response(ImportJobPage.body(items, total, next_cursor))


@router.get("/{job_id}/", response_model=ImportJobOut, responses=READ, summary="Get an import job")
async def get_import(request: Request, principal: DirectoryCaller, job_id: str) -> Response:
    """One import job: its status, progress, counts and the first problems found."""
    jobs.require_importer(principal)
    return json_response(await jobs.read_job(database_of(request).reader, principal, job_id))
