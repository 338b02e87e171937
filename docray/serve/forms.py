"""MinerU's ``/file_parse`` form fields, checked, and the docray pipeline specs they run as."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from docray.schema import ParseMethod
from docray.serve.config import ServeConfig

MINERU_END_PAGE = 99999  # mineru-api's default end_page_id: to the last page


class FormError(ValueError):
    """A form value the server refuses: answered 400 with this message."""


class ParseForm(BaseModel):
    """The options of one parse request (``POST /file_parse`` and ``POST /tasks`` share them)."""

    model_config = ConfigDict(extra="forbid")

    lang_list: list[str] = Field(default_factory=list, description="OCR language per file (MinerU's codes); the last one repeats")
    backend: str = Field("pipeline", description="pipeline or a vlm-* backend; hybrid-* is refused (400)")
    parse_method: ParseMethod = Field(ParseMethod.AUTO, description="auto, txt or ocr")
    formula_enable: bool = Field(True, description="formula recognition")
    table_enable: bool = Field(True, description="table recognition")
    server_url: str | None = Field(None, description="OpenAI-compatible VLM server for vlm-http-client (only those the server allows)")
    return_md: bool = Field(True, description="answer md_content (<name>.md)")
    return_middle_json: bool = Field(False, description="answer middle_json (<name>_middle.json, as text)")
    return_model_output: bool = Field(False, description="answer model_output (<name>_model.json, as text)")
    return_content_list: bool = Field(False, description="answer content_list (<name>_content_list.json, as text)")
    return_images: bool = Field(False, description="answer images: {file name: data URI}")
    response_format_zip: bool = Field(False, description="answer a ZIP laid out like MinerU's output folder")
    start_page_id: int = Field(0, ge=0, description="first page, 0-based")
    end_page_id: int = Field(MINERU_END_PAGE, ge=0, description="last page, 0-based, inclusive")

    def lang_of(self, index: int) -> str | None:
        """The language of the ``index``-th file (MinerU pairs lang_list with files; the last one repeats)."""
        langs = [lang for lang in self.lang_list if lang]
        if not langs:
            return None
        return langs[min(index, len(langs) - 1)]

    def end_page(self) -> int | None:
        return None if self.end_page_id >= MINERU_END_PAGE else self.end_page_id


def checked_server_url(form: ParseForm, config: ServeConfig) -> str | None:
    """The VLM server a vlm-http-client request uses: the client's only when the server allows it."""
    if form.server_url:
        allowed = {url.rstrip("/") for url in config.allowed_server_urls}
        if form.server_url.rstrip("/") not in allowed:
            raise FormError("server_url is not allowed by this server (it fetches no client-chosen URL); "
                            "the operator allows URLs with --allow-server-url")  # fmt: skip
        return form.server_url
    return config.vlm_server_url


def build_spec(form: ParseForm, config: ServeConfig, lang: str | None):
    """The pipeline spec for ``form`` (one language), as ``docray parse`` builds it; raises :class:`FormError`."""
    from docray.cli import ParseOptionError, mineru_parse_spec, ocr_unavailable

    if form.backend.startswith("hybrid-"):
        raise FormError(f"backend {form.backend} is not supported by docray yet; use pipeline or a vlm-* backend")
    if form.start_page_id > form.end_page_id:
        raise FormError(f"start_page_id {form.start_page_id} is after end_page_id {form.end_page_id}")
    url = checked_server_url(form, config) if form.backend == "vlm-http-client" else None
    if form.server_url and form.backend != "vlm-http-client":
        checked_server_url(form, config)  # refused all the same when not allowed
    try:
        spec = mineru_parse_spec(
            backend=form.backend, pipeline=config.pipeline if form.backend == "pipeline" else None, url=url,
            method=form.parse_method.value, start=form.start_page_id, end=form.end_page(), lang=lang,
            formula=form.formula_enable, table=form.table_enable,
        )  # fmt: skip
    except ParseOptionError as exc:
        raise FormError(str(exc)) from exc
    problem = ocr_unavailable(spec)
    if problem:
        raise FormError(problem)
    return spec
