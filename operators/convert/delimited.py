"""CSV (and other delimited text: semicolon, tab, pipe) to one table on one page.

The dialect is sniffed from the first lines (:func:`docray.operators.convert.sniff.csv_dialect`);
rows shorter than the widest are padded with empty cells, so ragged files keep every value.  Text
is decoded as UTF-8 (with or without BOM), else Windows-1252.
"""

from __future__ import annotations

import csv
import io

from docray.operators.convert.blocks import ConvertedPage, PageBuilder, grid_rows
from docray.operators.convert.sniff import csv_dialect


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def convert(data: bytes) -> list[ConvertedPage]:
    text = decode_text(data)
    dialect = csv_dialect(text[:16384]) or csv.excel
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), dialect) if any(v.strip() for v in row)]
    builder = PageBuilder()
    builder.table(grid_rows([[v.strip() for v in row] for row in rows]))
    return [builder.page()]
