"""The one Arrow data model of docray: enums, column fields and table schemas.

Three tables flow through a pipeline:

* **documents**: one row per input document (``ingest`` writes it, ``assemble`` completes it).
* **pages**: one row per page (``render`` fans a document out into pages; model stages add
  columns; ``assemble`` gathers them back into their document).
* **blocks**: a list column of the pages table (typed blocks with MinerU's type names).

Every column any operator reads or writes is declared once in :data:`FIELDS`; operators name
columns and the pipeline builder checks the names against this registry when a pipeline is
built.  Coordinates are PDF points, origin top-left, ``[x0, y0, x1, y1]``.
"""

from __future__ import annotations

from enum import Enum, IntFlag

import pyarrow as pa


class Status(str, Enum):
    """Outcome of a document or page."""

    OK = "ok"
    PARTIAL = "partial"  # some pages failed, the rest are usable
    ERROR = "error"


class ErrorCode(str, Enum):
    """Why a document or page failed; stable names to filter on."""

    NOT_FOUND = "not_found"
    READ_FAILED = "read_failed"
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPT = "corrupt"
    ENCRYPTED = "encrypted"
    ZERO_PAGES = "zero_pages"
    TOO_MANY_PAGES = "too_many_pages"
    EMPTY_PAGE_RANGE = "empty_page_range"  # the requested page range selects no page of the document
    RENDER_FAILED = "render_failed"
    RENDER_TIMEOUT = "render_timeout"  # opening or rendering a page-range segment took longer than render.timeout_s
    RENDER_CRASHED = "render_crashed"  # the isolated render process died (e.g. a segfault in pdfium)
    NEEDS_OCR = "needs_ocr"  # pages routed to OCR, and no stage of the pipeline produced their text
    ASSEMBLE_FAILED = "assemble_failed"
    VLM_FAILED = "vlm_failed"  # the vision-language model gave no usable answer for the page
    MODEL_UNAVAILABLE = "model_unavailable"  # the stage's model weights (or tool: LibreOffice for render_office: pdf) are not installed
    MACRO_ONLY = "macro_only"  # an Office container holding macros (vbaProject) but no document part (an add-in)
    LEGACY_OFFICE = "legacy_office"  # a binary (OLE) .doc/.xls/.ppt file; only OOXML/ODF are read
    CONVERT_FAILED = "convert_failed"  # an Office/web/e-book document's structure could not be read (operators/convert)
    INTERNAL = "internal"


class QualityFlag(str, Enum):
    """Why a page's or document's quality score is low."""

    EMPTY = "empty"  # no text extracted
    NEEDS_OCR = "needs_ocr"  # routed to OCR, no OCR text
    GARBLED = "garbled"  # the text layer does not decode to real text
    LOW_OCR_CONFIDENCE = "low_ocr_confidence"
    REPETITIVE = "repetitive"
    SPARSE = "sparse"  # very little text for the page area
    FAILED = "failed"  # the page or document is in error


class DocKind(str, Enum):
    """What a document is, sniffed from its bytes (operators/ingest.py, operators/convert/sniff.py)."""

    PDF = "pdf"
    IMAGE = "image"
    # converted natively to blocks (operators/convert/), no render/layout/OCR
    DOCX = "docx"  # Word (OOXML wordprocessing, .docx/.docm/.dotx)
    PPTX = "pptx"  # PowerPoint (OOXML presentation)
    XLSX = "xlsx"  # Excel (OOXML spreadsheet, .xlsx/.xlsm)
    HTML = "html"
    EPUB = "epub"
    ODT = "odt"  # OpenDocument text
    ODS = "ods"  # OpenDocument spreadsheet
    ODP = "odp"  # OpenDocument presentation
    CSV = "csv"  # delimited text (comma, semicolon, tab, pipe)

    @property
    def converted(self) -> bool:
        """Read from the document's own structure (operators/convert/) rather than rendered as pages."""
        return self not in (DocKind.PDF, DocKind.IMAGE)


class ParseMethod(str, Enum):
    """MinerU's ``-m``: trust the text layer (``txt``), force OCR, or decide per page."""

    AUTO = "auto"
    TXT = "txt"
    OCR = "ocr"


class Route(str, Enum):
    """How a page's text is obtained."""

    TXT = "txt"
    OCR = "ocr"


class RouteReason(str, Enum):
    TEXT_LAYER = "text_layer"  # a usable text layer
    FORCED = "forced"  # the parse method was txt or ocr
    NO_TEXT_LAYER = "no_text_layer"
    GARBLED_TEXT = "garbled_text"  # text layer exists but does not decode to real text
    IMAGE_ONLY = "image_only"  # a scanned page: one image covers the page, little text
    IMAGE_INPUT = "image_input"  # the document is a PNG/JPEG/TIFF/WebP image
    CONVERTED = "converted"  # an Office/web/e-book document whose blocks were read from its structure (operators/convert)


class LayoutFallback(str, Enum):
    """Why a page with layout regions was read line by line instead (operators/textlayer/row_order.py)."""

    CUT_LINES = "cut_lines"  # region borders run through text lines
    SPLIT_ROWS = "split_rows"  # lines side by side on one row (a label and its value) would be read apart
    TEXT_IN_FIGURE = "text_in_figure"  # most of the page's text lies in a figure that would be cropped as a picture
    ROTATED = "rotated"  # OCR read the page turned; layout regions were found on the unturned page (textlayer/upright.py)


class BlockType(str, Enum):
    """Block types, named as MinerU names them (pipeline and VLM backends)."""

    TEXT = "text"
    TITLE = "title"
    LIST = "list"
    INDEX = "index"
    REF_TEXT = "ref_text"
    IMAGE = "image"
    IMAGE_BODY = "image_body"
    IMAGE_CAPTION = "image_caption"
    IMAGE_FOOTNOTE = "image_footnote"
    TABLE = "table"
    TABLE_BODY = "table_body"
    TABLE_CAPTION = "table_caption"
    TABLE_FOOTNOTE = "table_footnote"
    INTERLINE_EQUATION = "interline_equation"
    INLINE_EQUATION = "inline_equation"
    CODE = "code"
    CODE_BODY = "code_body"
    CODE_CAPTION = "code_caption"
    ALGORITHM = "algorithm"
    HEADER = "header"
    FOOTER = "footer"
    PAGE_NUMBER = "page_number"
    PAGE_FOOTNOTE = "page_footnote"
    ASIDE_TEXT = "aside_text"
    PHONETIC = "phonetic"

    @property
    def is_discarded(self) -> bool:
        """Page furniture that MinerU keeps in ``discarded_blocks``, out of the Markdown."""
        return self in _DISCARDED


_DISCARDED = frozenset(
    {BlockType.HEADER, BlockType.FOOTER, BlockType.PAGE_NUMBER, BlockType.ASIDE_TEXT, BlockType.PAGE_FOOTNOTE}
)


class SpanType(str, Enum):
    TEXT = "text"
    INLINE_EQUATION = "inline_equation"
    INTERLINE_EQUATION = "interline_equation"
    IMAGE = "image"
    TABLE = "table"


class FontFlags(IntFlag):
    """Style bits of a text-layer span (docray's own, derived from the PDF font)."""

    NONE = 0
    BOLD = 1
    ITALIC = 2
    MONOSPACE = 4
    SERIF = 8
    SYMBOLIC = 16
    MATH = 32  # an inline formula put in place of its glyphs by the formula stage: the span's text is LaTeX


class FormulaKind(str, Enum):
    """Where a formula sits: inside a text line, or set apart (MinerU's inline_equation / interline_equation)."""

    INLINE = "inline"
    DISPLAY = "display"


class FormulaSource(str, Enum):
    """What a formula's LaTeX was read from."""

    TEXT_LAYER = "text_layer"  # rebuilt from the PDF's glyphs
    IMAGE_MODEL = "image_model"  # recognised from the page image by a FormulaModel
    NONE = "none"  # found, but no LaTeX could be read (kept as an image)


# --------------------------------------------------------------------------- Arrow types

BBOX = pa.list_(pa.float32(), 4)

SPAN = pa.struct(
    [
        pa.field("text", pa.string()),
        pa.field("bbox", BBOX),
        pa.field("font", pa.string()),
        pa.field("size", pa.float32()),
        pa.field("flags", pa.int32()),  # FontFlags
    ]
)

BLOCK = pa.struct(
    [
        pa.field("type", pa.string()),  # BlockType
        pa.field("bbox", BBOX),
        pa.field("order", pa.int32()),  # reading order on the page; -1 for discarded blocks
        pa.field("level", pa.int16()),  # title level (1 = top), 0 otherwise
        pa.field("text", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("html", pa.string()),
        pa.field("latex", pa.string()),
        pa.field("img_path", pa.string()),
    ]
)

GLYPH = pa.struct(
    [
        pa.field("text", pa.string()),  # one code point; U+FFFD when the font gives no Unicode
        pa.field("font", pa.string()),
        pa.field("size", pa.float32()),
        pa.field("bbox", BBOX),  # tight glyph box (points, top-left origin)
        pa.field("origin", pa.list_(pa.float32(), 2)),  # glyph origin on its baseline
        pa.field("code", pa.int32()),  # the font's character code when text is U+FFFD, else 0
    ]
)

FORMULA = pa.struct(
    [
        pa.field("kind", pa.string()),  # FormulaKind
        pa.field("bbox", BBOX),
        pa.field("latex", pa.string()),  # no delimiters; null when nothing could be read
        pa.field("score", pa.float32()),  # confidence of the LaTeX, 0..1
        pa.field("source", pa.string()),  # FormulaSource
    ]
)

VLM_BLOCK = pa.struct(
    [
        pa.field("type", pa.string()),  # BlockType
        pa.field("bbox", BBOX),  # PDF points; the whole page when the model gave no box (one-shot Markdown)
        pa.field("angle", pa.int16()),  # clockwise rotation of the block's content: 0, 90, 180, 270
        pa.field("level", pa.int16()),  # title level when the model gave one, else 0
        pa.field("text", pa.string()),  # Markdown text, inline math as $...$
        pa.field("html", pa.string()),  # tables
        pa.field("latex", pa.string()),  # display formulas, no delimiters
        pa.field("score", pa.float32()),  # mean token probability of the block's answer; null without log-probs
        pa.field("label", pa.string()),  # the model's own type name
    ]
)

IMAGE_FILE = pa.struct([pa.field("path", pa.string()), pa.field("data", pa.binary())])

LAYOUT_BOX = pa.struct(
    [
        pa.field("type", pa.string()),  # BlockType the detector's class maps to
        pa.field("bbox", BBOX),  # PDF points, top-left origin
        pa.field("score", pa.float32()),
        pa.field("label", pa.string()),  # the detector's own class name (e.g. CDLA "figure_caption")
    ]
)

OCR_LINE = pa.struct(
    [
        pa.field("text", pa.string()),
        pa.field("bbox", BBOX),  # PDF points, axis-aligned box of the (possibly rotated) line
        pa.field("score", pa.float32()),  # recogniser confidence, mean over the line's characters
        pa.field("poly", pa.list_(pa.float32(), 8)),  # the detector's quadrilateral, points
    ]
)

TABLE = pa.struct(
    [
        pa.field("bbox", BBOX),  # the table region (PDF points)
        pa.field("html", pa.string()),  # <table>...</table> with cell text
        pa.field("score", pa.float32()),
        pa.field("num_rows", pa.int32()),
        pa.field("num_cols", pa.int32()),
    ]
)

CROP = pa.struct(
    [
        pa.field("type", pa.string()),  # BlockType of the cropped region (image, table, interline_equation)
        pa.field("bbox", BBOX),
        pa.field("data", pa.binary()),  # encoded JPEG
    ]
)

TIMINGS = pa.map_(pa.string(), pa.float64())  # stage name -> seconds spent on this row

# --------------------------------------------------------------------------- columns

def _col(name: str, type_: pa.DataType, doc: str = "") -> pa.Field:
    return pa.field(name, type_, metadata={"description": doc} if doc else None)


FIELDS: dict[str, pa.Field] = {
    f.name: f
    for f in [
        # identity
        _col("doc_id", pa.string(), "sha256 of the document bytes"),
        _col("source", pa.string(), "input URI; unique per input document"),
        _col("name", pa.string(), "output file stem, unique within a run"),
        _col("mime", pa.string()),
        _col("kind", pa.string(), "DocKind"),
        _col("size_bytes", pa.int64()),
        _col("bytes", pa.large_binary(), "document content; dropped after render"),
        _col("num_pages", pa.int32(), "pages in the document (before any page range)"),
        # outcome
        _col("status", pa.string(), "Status"),
        _col("error", pa.string()),
        _col("error_code", pa.string(), "ErrorCode"),
        _col("timings", TIMINGS),
        # pages
        _col("page_idx", pa.int32(), "0-based page index; -1 on a document's error row"),
        _col("width", pa.float32(), "PDF points"),
        _col("height", pa.float32(), "PDF points"),
        _col("rotation", pa.int16()),
        _col("image", pa.binary(), "encoded page image (PNG/JPEG), or null"),
        _col("image_dpi", pa.float32()),
        _col("route", pa.string(), "Route"),
        _col("route_reason", pa.string(), "RouteReason"),
        _col("num_chars", pa.int32(), "text-layer characters on the page"),
        _col("garbled_ratio", pa.float32(), "share of text-layer chars that are not real text"),
        _col("image_coverage", pa.float32(), "share of the page covered by image objects"),
        _col("spans", pa.list_(SPAN), "text-layer spans"),
        _col("image_boxes", pa.list_(BBOX), "boxes of the page's image objects"),
        _col("blocks", pa.list_(BLOCK)),
        _col("converted_blocks", pa.list_(BLOCK), "blocks read from an Office/web/e-book document's structure (render, operators/convert), in reading order; a caption or footnote follows the figure or table it belongs to; null for PDFs and images"),
        _col("converted_images", pa.list_(IMAGE_FILE), "image files of a converted page ({path: file name, data}) that its converted_blocks refer to"),
        _col("layout_blocks", pa.list_(LAYOUT_BOX), "layout detector output (points)"),
        _col("layout_fallback", pa.string(), "LayoutFallback: why the assembler read the page line by line instead of by its layout regions; null when it used them or had none"),
        _col("ocr_lines", pa.list_(OCR_LINE), "OCR text lines (points of the page as given, whatever its orientation)"),
        _col("ocr_rotation", pa.int16(), "clockwise degrees (0/90/180/270) OCR turned the page image to read it upright; null: not read"),
        _col("tables", pa.list_(TABLE), "recognised tables as HTML"),
        _col("crops", pa.list_(CROP), "image crops of figures, tables and equations (JPEG)"),
        _col("glyphs", pa.list_(GLYPH), "text-layer characters of pages with math (render glyphs: math); dropped by formula"),
        _col("rules", pa.list_(BBOX), "thin straight paths (fraction bars, radical vincula) of pages with glyphs"),
        _col("line_segments", pa.list_(BBOX), "horizontal and vertical line pieces of the page's paths (x0, y0, x1, y1; render line_segments: true, txt pages), for ruled tables"),
        _col("vertical_text", pa.int16(), "displayed direction of a txt page's vertical text: 270 reads bottom to top, 90 top to bottom; null: none (render line_segments: true)"),
        _col("turned_spans", pa.list_(pa.int32()), "indices of the spans whose characters are displayed turned (90 or 270 degrees) on a txt page with vertical text (render line_segments: true)"),
        _col("formulas", pa.list_(FORMULA), "formulas found on the page (inline and display) with their LaTeX"),
        _col("vlm_blocks", pa.list_(VLM_BLOCK), "blocks a vision-language model read on the page, in reading order (vlm stage)"),
        _col("vlm_fields", pa.string(), "handwriting fields as JSON: context, fields, per-field confidence and boxes (vlm stage with a context)"),
        _col("vlm_raw", pa.string(), "the model's raw page-level answers as JSON (layout / page / fields), for debugging"),
        # quality signals (the `quality` operator; see operators/quality.py for definitions)
        _col("ocr_confidence", pa.float32(), "mean OCR confidence of the page's OCR lines, weighted by characters; null without OCR"),
        _col("repetition", pa.float32(), "share of the page's text in repeated lines or n-grams (0 = none, 1 = all)"),
        _col("text_density", pa.float32(), "characters of extracted text per square inch of page"),
        _col("lang", pa.string(), "language of the text as py3langid labels it (ISO 639-1 where one exists, else 639-3), or null for too little text"),
        _col("lang_score", pa.float32(), "language identifier's probability for `lang`"),
        _col("quality_score", pa.float32(), "0..1 usefulness of the extracted text for a corpus (definition in operators/quality.py)"),
        _col("quality_flags", pa.list_(pa.string()), "reasons the score is low (QualityFlag values)"),
        # document outputs
        _col("markdown", pa.string()),
        _col("content_list", pa.string(), "MinerU content_list.json text"),
        _col("middle_json", pa.string(), "MinerU middle.json text (written as a file, not kept)"),
        _col("model_json", pa.string(), "MinerU model.json text: raw layout detections per page (written as a file, not kept)"),
        _col("images", pa.list_(IMAGE_FILE), "image files of the document (images/...)"),
    ]
}

DOCUMENT_COLUMNS = ("doc_id", "source", "name", "mime", "kind", "size_bytes", "bytes", "status", "error", "error_code", "timings")

PAGE_COLUMNS = (
    "doc_id", "source", "name", "mime", "kind", "size_bytes", "num_pages", "page_idx", "width", "height", "rotation",
    "image", "image_dpi", "route", "route_reason", "num_chars", "garbled_ratio", "image_coverage",
    "spans", "image_boxes", "converted_blocks", "converted_images", "status", "error", "error_code", "timings",
)  # fmt: skip

# A page as kept in the pages Parquet table (no image bytes unless asked for; converted blocks are in `blocks`,
# converted images in the document's `images`).
PAGE_RECORD_COLUMNS = tuple(c for c in PAGE_COLUMNS if c not in ("image", "converted_blocks", "converted_images")) + (
    "blocks", "markdown", "layout_fallback"
)

RESULT_COLUMNS = (
    "doc_id", "source", "name", "mime", "kind", "size_bytes", "num_pages", "status", "error", "error_code",
    "timings", "markdown", "content_list", "middle_json", "model_json", "images", "pages",
)  # fmt: skip


def schema_of(columns: tuple[str, ...] | list[str]) -> pa.Schema:
    """Arrow schema for the named columns, in order, from the registry."""
    return pa.schema([field(c) for c in columns])


def field(name: str) -> pa.Field:
    try:
        return FIELDS[name]
    except KeyError:
        raise KeyError(f"unknown column {name!r}; declare it in docray.schema.FIELDS") from None


PAGE_RECORD = pa.struct([FIELDS[c] for c in PAGE_RECORD_COLUMNS])
FIELDS["pages"] = _col("pages", pa.list_(PAGE_RECORD), "the document's page records")

DOCUMENTS = schema_of(DOCUMENT_COLUMNS)
PAGES = schema_of(PAGE_COLUMNS)
RESULTS = schema_of(RESULT_COLUMNS)
