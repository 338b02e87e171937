"""Office and OpenDocument files to PDF with LibreOffice, for ``render.render_office: pdf``.

``soffice --headless --convert-to pdf`` lays the document out as the office suite prints it; render
then takes the PDF route (text layer, page images, layout, OCR where needed), so pages and boxes are
the printed ones instead of the converted blocks' stacked column.  LibreOffice is a system package
(Debian: ``libreoffice-writer-nogui``, ``-calc-nogui``, ``-impress-nogui``), found on ``PATH``; each
conversion runs in a fresh temporary profile, with a time limit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from docray.operators.base import DocrayError
from docray.schema import DocKind, ErrorCode

PDF_KINDS = frozenset({DocKind.DOCX, DocKind.PPTX, DocKind.XLSX, DocKind.ODT, DocKind.ODS, DocKind.ODP})
_SUFFIX = {DocKind.DOCX: "docx", DocKind.PPTX: "pptx", DocKind.XLSX: "xlsx", DocKind.ODT: "odt", DocKind.ODS: "ods", DocKind.ODP: "odp"}
TIMEOUT_S = 300.0


def soffice() -> str | None:
    """The LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def office_to_pdf(data: bytes, kind: DocKind, timeout_s: float = TIMEOUT_S) -> bytes:
    """The PDF LibreOffice prints of an Office/OpenDocument file; raises :class:`DocrayError` when it cannot."""
    executable = soffice()
    if executable is None:
        raise DocrayError(
            ErrorCode.MODEL_UNAVAILABLE,
            "render_office: pdf needs LibreOffice (soffice on PATH; Debian: libreoffice-writer-nogui, -calc-nogui, "
            "-impress-nogui); or use render_office: native",
        )
    with tempfile.TemporaryDirectory(prefix="docray-soffice-") as tmp:
        source = Path(tmp) / f"document.{_SUFFIX[kind]}"
        source.write_bytes(data)
        command = [
            executable, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore", "--nolockcheck",
            "--convert-to", "pdf", "--outdir", tmp, str(source),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise DocrayError(ErrorCode.CONVERT_FAILED, f"LibreOffice took more than {timeout_s:g} s to print the document") from exc
        output = Path(tmp) / "document.pdf"
        if done.returncode != 0 or not output.exists():
            said = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip()[-300:]
            raise DocrayError(ErrorCode.CONVERT_FAILED, f"LibreOffice could not print the document (exit {done.returncode}): {said}")
        return output.read_bytes()
