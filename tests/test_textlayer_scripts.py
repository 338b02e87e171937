"""Line joins follow the script: Chinese and Japanese lines join without a space, Korean and Latin with one."""

from __future__ import annotations

import io

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from docray.operators.textlayer.paragraphs import is_unspaced, join_lines
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline


def test_join_lines_by_script():
    assert join_lines(["보험업계가 혁신에 돌입한 ", "와중에 국내 보험업"]) == "보험업계가 혁신에 돌입한 와중에 국내 보험업"
    assert join_lines(["中文的文本在这里", "继续下一行"]) == "中文的文本在这里继续下一行"
    assert join_lines(["日本語のテキストは", "カタカナと続く。"]) == "日本語のテキストはカタカナと続く。"
    assert join_lines(["全角（括弧）", "次の行"]) == "全角（括弧）次の行"
    assert join_lines(["中文 text", "continues"]) == "中文 text continues"
    assert join_lines(["结尾", "Latin"]) == "结尾 Latin"


def test_is_unspaced():
    assert all(is_unspaced(ch) for ch in "中あア。（\U00020000")
    assert not any(is_unspaced(ch) for ch in "한ㄱaЖ1 ")


def test_korean_and_chinese_pdf_through_fast(tmp_path):
    """Two-line Korean and Chinese paragraphs of a real PDF (Adobe CID fonts, text read by pdfium)."""
    for font in ("HYSMyeongJo-Medium", "STSong-Light"):
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(300, 300))
    c.setFont("HYSMyeongJo-Medium", 12)
    c.drawString(20, 250, "보험업계가 혁신에 돌입한 ")  # a trailing space in the text layer, as in real Korean PDFs
    c.drawString(20, 235, "와중에 국내 보험업")
    c.setFont("STSong-Light", 12)
    c.drawString(20, 150, "中文的文本在这里")
    c.drawString(20, 135, "继续下一行")
    c.save()
    pdf = tmp_path / "scripts.pdf"
    pdf.write_bytes(buffer.getvalue())
    run_pipeline(load_pipeline("fast"), [str(pdf)], str(tmp_path / "out"), executor=LocalExecutor())
    markdown = next((tmp_path / "out" / "files").rglob("*.md")).read_text(encoding="utf-8")
    assert "돌입한 와중에" in markdown
    assert "这里继续" in markdown
