"""The HTTP routes of ``docray serve`` (FastAPI): MinerU's ``POST /file_parse``, async ``/tasks``, ``/health``, ``/``."""

import asyncio
import time
from contextlib import asynccontextmanager
from enum import Enum
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, Security, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from docray import __version__
from docray.serve.config import ServeConfig
from docray.serve.docs import add_offline_docs
from docray.serve.gate import Gate
from docray.serve.forms import MINERU_END_PAGE, FormError, ParseForm, build_spec
from docray.serve.limits import ApiKeys, CheckedFile, RateLimiter, Refusal, check_upload
from docray.serve.results import error_rows, result_json, result_zip
from docray.serve.store import FINAL, Task, TaskStatus, TaskStore
from docray.serve.tasks import TaskQueue

class ResultFormat(str, Enum):
    """``GET /tasks/{id}/result?format=``: override the task's response_format_zip."""

    JSON = "json"
    ZIP = "zip"


POLL_S = 0.1
SANDBOX_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
FILES_DESCRIPTION = "PDFs, images, Office (DOCX, PPTX, XLSX), OpenDocument, HTML, EPUB or CSV files, sniffed"
READ_CHUNK = 1 << 20


def mineru_form(
    lang_list: Annotated[list[str], Form(description="OCR language per file (ch, en, korean, japan, ...)")] = [],  # noqa: B006
    backend: Annotated[str, Form(description="pipeline or vlm-transformers / vlm-vllm-engine / vlm-vllm-async-engine / vlm-http-client; hybrid-* answers 400")] = "pipeline",
    parse_method: Annotated[str, Form(description="auto, txt or ocr")] = "auto",
    formula_enable: Annotated[bool, Form()] = True,
    table_enable: Annotated[bool, Form()] = True,
    server_url: Annotated[str | None, Form(description="VLM server for vlm-http-client: only URLs the server allows (--allow-server-url)")] = None,
    return_md: Annotated[bool, Form()] = True,
    return_middle_json: Annotated[bool, Form()] = False,
    return_model_output: Annotated[bool, Form()] = False,
    return_content_list: Annotated[bool, Form()] = False,
    return_images: Annotated[bool, Form(description="images as data URIs")] = False,
    response_format_zip: Annotated[bool, Form(description="a ZIP laid out like MinerU's output folder instead of JSON")] = False,
    start_page_id: Annotated[int, Form(ge=0)] = 0,
    end_page_id: Annotated[int, Form(ge=0)] = MINERU_END_PAGE,
    output_dir: Annotated[str | None, Form(description="accepted for mineru-api clients and ignored: results stay in the server's output root")] = None,
) -> ParseForm:
    del output_dir  # never a client-chosen folder
    try:
        return ParseForm(
            lang_list=lang_list, backend=backend, parse_method=parse_method, formula_enable=formula_enable,
            table_enable=table_enable, server_url=server_url or None, return_md=return_md,
            return_middle_json=return_middle_json, return_model_output=return_model_output,
            return_content_list=return_content_list, return_images=return_images,
            response_format_zip=response_format_zip, start_page_id=start_page_id, end_page_id=end_page_id,
        )  # fmt: skip
    except ValueError as exc:
        raise Refusal(400, str(exc).splitlines()[0] if str(exc) else "invalid form") from exc


def create_app(config: ServeConfig) -> FastAPI:
    store = TaskStore(config.db_path())
    queue = TaskQueue(config, store)
    keys = ApiKeys(config.api_keys)
    rate = RateLimiter(config.rate_per_minute)
    max_bytes = int(config.max_upload_mb * 2**20)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        queue.start()
        try:
            yield
        finally:
            queue.stop()
            store.close()

    app = FastAPI(
        title="docray serve", version=__version__, lifespan=lifespan,
        description="MinerU-compatible parsing API (mineru-api's POST /file_parse and async /tasks) on docray's pipelines.",
        docs_url=None, redoc_url=None,  # add_offline_docs: Swagger UI and Redoc from local files, no CDN
    )  # fmt: skip
    add_offline_docs(app)
    app.state.queue = queue
    # key, rate and size are checked before the body is read; the routes ask the key only to know whose task it is
    app.add_middleware(Gate, keys=keys, rate=rate, max_bytes=max_bytes + 256 * 1024, submit_paths=("/file_parse", "/tasks"))

    @app.exception_handler(Refusal)
    async def refused(_request: Request, exc: Refusal) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    # a security scheme (not a header parameter, which Swagger UI drops for Authorization): /docs gets an Authorize
    # button, and its "Try it out" requests send the key
    bearer = HTTPBearer(auto_error=False, description="an API key of this server (--api-key); none if it has no keys")

    def client(credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None) -> str:
        return keys.client_of(f"{credentials.scheme} {credentials.credentials}" if credentials else None)

    async def checked_files(files: list[UploadFile] | None) -> list[CheckedFile]:
        if not files:
            raise Refusal(400, "no files: send one or more as multipart field 'files'")
        if len(files) > config.max_files:
            raise Refusal(413, f"{len(files)} files; this server takes at most {config.max_files} a request")
        checked, total = [], 0
        for upload in files:
            chunks = []
            while chunk := await upload.read(READ_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise Refusal(413, f"the upload is over {config.max_upload_mb:g} MiB")
                chunks.append(chunk)
            checked.append(check_upload(upload.filename or "document", b"".join(chunks)))
        return checked

    def check_form(form: ParseForm, count: int) -> None:
        try:
            for lang in {form.lang_of(i) for i in range(count)}:
                build_spec(form, config, lang)
        except FormError as exc:
            raise Refusal(400, str(exc)) from exc

    async def submit(form: ParseForm, files: list[UploadFile] | None, who: str) -> Task:
        checked = await checked_files(files)
        check_form(form, len(checked))
        return await asyncio.to_thread(queue.submit, form, checked, who)

    def task_links(request: Request, task: Task) -> dict[str, Any]:
        return {
            "task_id": task.id,
            "status": task.status.value,
            "status_url": str(request.url_for("task_status", task_id=task.id)),
            "result_url": str(request.url_for("task_result", task_id=task.id)),
        }

    def own_task(task_id: str, who: str) -> Task:
        task = store.get(task_id)
        if task is None or task.client != who:  # another client's task is not found either
            raise Refusal(404, f"no task {task_id}")
        return task

    def finished_answer(task: Task, as_zip: bool) -> Response:
        out = f"{queue.task_dir(task.id)}/out"
        if task.status == TaskStatus.FAILED:
            return JSONResponse({"task_id": task.id, "status": task.status.value, "error": task.error, "rows": error_rows(task)}, status_code=409)
        if as_zip:
            return Response(result_zip(task, out), media_type="application/zip",
                            headers={"Content-Disposition": f'attachment; filename="{task.id}.zip"'})  # fmt: skip
        return JSONResponse(result_json(task, out))

    @app.post("/file_parse", summary="Parse files and answer when done (mineru-api's endpoint)")
    async def file_parse(
        form: Annotated[ParseForm, Depends(mineru_form)],
        who: Annotated[str, Depends(client)],
        files: Annotated[list[UploadFile] | None, File(description=FILES_DESCRIPTION)] = None,
    ) -> Response:
        task = await submit(form, files, who)
        deadline = time.monotonic() + config.request_timeout_s
        while task.status not in FINAL:
            if time.monotonic() > deadline:
                return JSONResponse({"detail": f"not done within {config.request_timeout_s:g} s; the task goes on",
                                     "task_id": task.id, "status": task.status.value}, status_code=504)  # fmt: skip
            await asyncio.sleep(POLL_S)
            task = store.get(task.id) or task
        return await asyncio.to_thread(finished_answer, task, form.response_format_zip)

    @app.post("/tasks", status_code=202, summary="Queue files for parsing; poll status_url, then fetch result_url")
    async def create_task(
        request: Request,
        form: Annotated[ParseForm, Depends(mineru_form)],
        who: Annotated[str, Depends(client)],
        files: Annotated[list[UploadFile] | None, File(description=FILES_DESCRIPTION)] = None,
    ) -> JSONResponse:
        task = await submit(form, files, who)
        return JSONResponse({**task_links(request, task), "queued_ahead": store.queued_ahead(task)}, status_code=202)

    @app.get("/tasks/{task_id}", name="task_status", summary="A task's status, place in the queue and progress in pages")
    def task_status(request: Request, task_id: str, who: Annotated[str, Depends(client)]) -> dict[str, Any]:
        task = own_task(task_id, who)
        return {
            **task_links(request, task),
            "queued_ahead": store.queued_ahead(task),
            "pages": {"done": task.pages_done, "total": task.pages_total},
            "documents": {"done": task.documents_done, "total": len(task.files)},
            "files": [{"name": f["name"], "pages": f["pages"]} for f in task.files],
            "attempts": task.attempts,
            "created": task.created, "started": task.started, "finished": task.finished,
            "error": task.error,
        }  # fmt: skip

    @app.get("/tasks/{task_id}/result", name="task_result", summary="202 until done; the result; 409 for a failed task")
    def task_result(request: Request, task_id: str, who: Annotated[str, Depends(client)], format: ResultFormat | None = None) -> Response:
        task = own_task(task_id, who)
        if task.status not in FINAL:
            return JSONResponse({**task_links(request, task), "queued_ahead": store.queued_ahead(task)}, status_code=202)
        as_zip = ParseForm(**task.form).response_format_zip if format is None else format == ResultFormat.ZIP
        return finished_answer(task, as_zip)

    @app.get("/tasks/{task_id}/pages/{name}/{page}.png", summary="A page of a task's document, rendered (for the web page)")
    def page_image(task_id: str, name: str, page: int, who: Annotated[str, Depends(client)]) -> Response:
        from docray.serve.pages import render_page

        task = own_task(task_id, who)
        entry = next((f for f in task.files if f["name"] == name), None)  # a name of the task: never a path
        if entry is None:
            raise Refusal(404, f"task {task_id} has no document {name!r}")
        return Response(render_page(entry["stored"], entry["mime"], page), media_type="image/png")

    @app.get("/tasks/{task_id}/markdown/{name}.html", summary="A document's Markdown as HTML, math as MathML (for the web page)")
    def markdown_html(task_id: str, name: str, who: Annotated[str, Depends(client)]) -> Response:
        from docray.serve.render_md import markdown_page
        from docray.serve.results import document_markdown

        task = own_task(task_id, who)
        if task.status != TaskStatus.COMPLETED or not any(f["name"] == name for f in task.files):
            raise Refusal(404, f"task {task_id} has no finished document {name!r}")
        markdown, images = document_markdown(f"{queue.task_dir(task.id)}/out", name)
        return HTMLResponse(markdown_page(markdown, {f"images/{k}": v for k, v in images.items()}),
                            headers={"Content-Security-Policy": SANDBOX_CSP})  # fmt: skip

    @app.get("/health", summary="Liveness and task counts by status")
    def health() -> dict[str, Any]:
        counts = store.counts()
        return {"status": "ok", "version": __version__, "tasks": counts, "queued": counts["pending"],
                "processing": counts["processing"], "queue_size": config.queue_size, "workers": config.workers,
                "recovered_at_start": queue.recovered}  # fmt: skip

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return resources.files("docray.serve").joinpath("static/index.html").read_text(encoding="utf-8")

    return app
