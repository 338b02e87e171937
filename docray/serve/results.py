"""A task's results as mineru-api answers them: JSON ``{backend, version, results: {name: {...}}}`` or a ZIP.

Per document, from the files ``docray parse`` wrote (``out/<name>/<method>/``): ``md_content`` (``<name>.md``),
``middle_json``, ``model_output`` and ``content_list`` (the JSON files' text, as mineru-api returns them),
``images`` (``{file name: data URI}``).  docray adds ``status`` (ok/partial/error) and, for an error row,
``error`` and ``error_code``.  The ZIP holds ``<name>/<method>/<name>.md`` ... as in MinerU's output folder.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import posixpath
import zipfile
from typing import Any

from docray import __version__
from docray.serve.forms import ParseForm
from docray.serve.store import Task
from docray.storage import url_to_fs

# return flag -> the file suffix it returns, and the JSON key
FILES = (
    ("return_md", ".md", "md_content"),
    ("return_middle_json", "_middle.json", "middle_json"),
    ("return_model_output", "_model.json", "model_output"),
    ("return_content_list", "_content_list.json", "content_list"),
)


def document_folder(fs: Any, out: str, name: str) -> str | None:
    """``out/<name>/<method>`` (one method folder per task), or None when the document wrote no files."""
    base = f"{out}/{name}"
    if not fs.isdir(base):
        return None
    folders = sorted(p for p in fs.ls(base, detail=False) if fs.isdir(p))
    return folders[0].rstrip("/") if folders else None


def _read_text(fs: Any, path: str) -> str | None:
    if not fs.isfile(path):
        return None
    with fs.open(path, "r", encoding="utf-8") as handle:
        return handle.read()


def _images(fs: Any, folder: str) -> dict[str, str]:
    found = {}
    images = f"{folder}/images"
    if not fs.isdir(images):
        return found
    for path in sorted(fs.find(images)):
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        with fs.open(path, "rb") as handle:
            found[posixpath.relpath(path, images)] = f"data:{mime};base64,{base64.b64encode(handle.read()).decode()}"
    return found


def result_json(task: Task, out_url: str) -> dict[str, Any]:
    """The ``/file_parse`` answer for a finished task."""
    form = ParseForm(**task.form)
    fs, out = url_to_fs(out_url)
    rows = {row["name"]: row for row in task.rows}
    results: dict[str, Any] = {}
    for entry in task.files:
        name = entry["name"]
        row = rows.get(name, {"status": "error", "error_code": "not_run", "error": task.error or "the document was not run"})
        item: dict[str, Any] = {"status": row["status"]}
        if row["status"] == "error":
            item.update(error=row.get("error"), error_code=row.get("error_code"))
        folder = document_folder(fs, out, name)
        if folder is not None:
            for flag, suffix, key in FILES:
                if getattr(form, flag):
                    item[key] = _read_text(fs, f"{folder}/{name}{suffix}")
            if form.return_images:
                item["images"] = _images(fs, folder)
        results[name] = item
    return {"backend": form.backend, "version": __version__, "task_id": task.id, "results": results}


def document_markdown(out_url: str, name: str) -> tuple[str, dict[str, str]]:
    """A finished document's Markdown and its images as data URIs (keys: paths under ``images/``)."""
    fs, out = url_to_fs(out_url)
    folder = document_folder(fs, out, name)
    if folder is None:
        return "", {}
    return _read_text(fs, f"{folder}/{name}.md") or "", _images(fs, folder)


def _safe_member(path: str) -> str:
    """A ZIP member name that cannot leave the archive's folder when extracted."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def result_zip(task: Task, out_url: str) -> bytes:
    """The ZIP answer: ``<name>/<method>/<name>.md``, ``_middle.json`` ..., ``images/`` as the flags ask."""
    form = ParseForm(**task.form)
    fs, out = url_to_fs(out_url)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in task.files:
            name = entry["name"]
            folder = document_folder(fs, out, name)
            if folder is None:
                continue
            method = posixpath.basename(folder)
            for flag, suffix, _ in FILES:
                path = f"{folder}/{name}{suffix}"
                if getattr(form, flag) and fs.isfile(path):
                    archive.writestr(_safe_member(f"{name}/{method}/{name}{suffix}"), fs.cat_file(path))
            images = f"{folder}/images"
            if form.return_images and fs.isdir(images):
                for path in sorted(fs.find(images)):
                    member = f"{name}/{method}/images/{posixpath.relpath(path, images)}"
                    archive.writestr(_safe_member(member), fs.cat_file(path))
    return buffer.getvalue()


def error_rows(task: Task) -> list[dict[str, Any]]:
    """The rows of a failed task (409's body): every document's status, error code and message."""
    return [{"name": r["name"], "status": r["status"], "error_code": r.get("error_code"), "error": r.get("error")} for r in task.rows]
