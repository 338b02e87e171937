"""The PP-OCR ONNX engine end to end on synthetic text images (real models from the rapidocr wheel)."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docray.models import registry
from docray.models.ocr_ppocr import PpOcrOnnx, PpOcrOptions
from docray.models.weights import WeightNotFoundError

LINES = (
    "Optical character recognition reads scanned pages.",
    "The quick brown fox jumps over the lazy dog.",
    "Results were reported for 12 models in 2024.",
    "Each line is detected, cropped and then recognised",
    "with a small network that runs on one CPU thread.",
    "Spaces between English words must be kept intact.",
)
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


def _font(name: str, px: int):
    for root in FONT_DIRS:
        for path in root.rglob(name) if root.is_dir() else ():
            return ImageFont.truetype(str(path), px)
    return ImageFont.load_default(size=px)


def _cjk_font(px: int):
    for root in FONT_DIRS:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.suffix.lower() in (".ttc", ".otf", ".ttf") and any(
                k in path.name for k in ("CJK", "Noto Sans SC", "wqy", "Droid")
            ):
                return ImageFont.truetype(str(path), px)
    return None


def text_page(lines, *, font_px: int, font_name: str = "DejaVuSans.ttf", width: int = 1000) -> np.ndarray:
    image = Image.new("RGB", (width, int(font_px * 1.8 * len(lines) + 2 * font_px)), "white")
    draw = ImageDraw.Draw(image)
    font = _font(font_name, font_px)
    for i, line in enumerate(lines):
        draw.text((font_px, font_px + int(i * font_px * 1.8)), line, fill="black", font=font)
    return np.asarray(image)


def line_crop(text: str, font_px: int = 30) -> np.ndarray:
    """A tight single-line image, as a detector would crop it."""
    font = _font("DejaVuSans.ttf", font_px)
    width = int(font.getlength(text)) + font_px // 2
    image = Image.new("RGB", (width, int(font_px * 1.4)), "white")
    ImageDraw.Draw(image).text((font_px // 4, font_px // 8), text, fill="black", font=font)
    return np.asarray(image)


def word_accuracy(truth: list[str], read: list[str]) -> float:
    expected, got = " ".join(truth).split(), " ".join(read).split()
    matcher = difflib.SequenceMatcher(a=expected, b=got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(expected)


@pytest.fixture(scope="module")
def engine() -> PpOcrOnnx:
    return registry.create("ocr", PpOcrOptions(), threads=1)


def test_reads_english_lines_in_order_with_spaces(engine):
    # ~10 pt text at 150 dpi; measured word accuracy 1.0 (threshold leaves margin)
    image = text_page(LINES, font_px=21)
    (lines,) = engine.read([image])
    assert word_accuracy(list(LINES), [line.text for line in lines]) >= 0.9
    tops = [line.box[1] for line in lines]
    assert tops == sorted(tops)
    for line in lines:
        x0, y0, x1, y1 = line.box
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
        assert 0.5 <= line.score <= 1.0


def test_spaces_restored_where_the_model_drops_them(engine):
    # measured on this image: word accuracy 0.31 as the model reads it (words run together), 1.0 restored
    image = text_page(LINES, font_px=21)
    restored = [line.text for line in engine.read([image])[0]]
    raw_engine = PpOcrOnnx(
        engine.detector,
        engine.recognizer,
        engine.classifier,
        engine.options.model_copy(update={"restore_spaces": False}),
    )
    raw = [line.text for line in raw_engine.read([image])[0]]
    assert word_accuracy(list(LINES), restored) >= 0.9
    assert word_accuracy(list(LINES), restored) >= word_accuracy(list(LINES), raw) + 0.3


def test_upside_down_lines_are_turned(engine):
    image = text_page(LINES[:3], font_px=21)
    (lines,) = engine.read([np.ascontiguousarray(image[::-1, ::-1])])
    assert word_accuracy(list(LINES[:3]), [line.text for line in reversed(lines)]) >= 0.9


def test_read_batches_several_images_and_recognize_takes_crops(engine):
    first, second = text_page(LINES[:2], font_px=21), text_page(LINES[2:4], font_px=18, font_name="DejaVuSerif.ttf")
    blank = np.full((80, 200, 3), 255, dtype=np.uint8)
    results = engine.read([first, blank, second])
    assert len(results) == 3 and results[1] == []
    assert word_accuracy(list(LINES[2:4]), [line.text for line in results[2]]) >= 0.9
    ((text, score),) = engine.recognize([line_crop(LINES[1])])
    assert word_accuracy([LINES[1]], [text]) >= 0.9 and score > 0.8


def test_chinese_line_when_a_cjk_font_exists(engine):
    font = _cjk_font(32)
    if font is None:
        pytest.skip("no CJK font installed")
    image = Image.new("RGB", (600, 80), "white")
    ImageDraw.Draw(image).text((16, 16), "光学字符识别读取扫描页面", fill="black", font=font)
    (lines,) = engine.read([np.asarray(image)])
    assert difflib.SequenceMatcher(a="光学字符识别读取扫描页面", b="".join(l.text for l in lines)).ratio() >= 0.8
    assert " " not in "".join(l.text for l in lines)


def test_missing_language_gives_a_clear_error(tmp_path):
    with pytest.raises(WeightNotFoundError, match="OCR language 'fr' is not available.*ppocr/<lang>_rec.onnx"):
        PpOcrOnnx.from_options(PpOcrOptions(lang="fr", models_dir=str(tmp_path)))


def test_other_language_loads_from_the_models_directory(tmp_path):
    # the shipped recogniser and its dictionary, placed as a 'xx' language in a models directory
    import onnxruntime as ort

    from docray.models.weights import resolve

    rec = resolve("wheel:rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx")
    (tmp_path / "ppocr").mkdir()
    (tmp_path / "ppocr" / "xx_rec.onnx").symlink_to(rec)
    character = (
        ort.InferenceSession(str(rec), providers=["CPUExecutionProvider"])
        .get_modelmeta()
        .custom_metadata_map["character"]
    )
    (tmp_path / "ppocr" / "xx_dict.txt").write_text(character + "\n", encoding="utf-8")
    engine = PpOcrOnnx.from_options(PpOcrOptions(lang="xx", models_dir=str(tmp_path), use_cls=False))
    ((text, _),) = engine.recognize([line_crop(LINES[1])])
    assert word_accuracy([LINES[1]], [text]) >= 0.9


def test_paddleocr_engine_missing_package_says_how_to_install():
    from docray.models.ocr_paddle import PaddleOcrOptions

    with pytest.raises(ImportError, match=r"pip install 'docray\[paddle\]' and put the models in the models directory"):
        registry.create("ocr", PaddleOcrOptions())
