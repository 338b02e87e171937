"""The PP-OCR ONNX engine end to end on synthetic text images (real models from the rapidocr wheels: v6 default, v4)."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docray.models import registry
from docray.models.ocr_ppocr import PpOcrOnnx, PpOcrOptions
from docray.models.page_orientation import turn_image, turn_points
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


@pytest.fixture(scope="module")
def engine_v4() -> PpOcrOnnx:
    return registry.create("ocr", PpOcrOptions(version="v4"), threads=1)


def without_space_restoration(engine: PpOcrOnnx) -> PpOcrOnnx:
    options = engine.options.model_copy(update={"restore_spaces": False})
    return PpOcrOnnx(engine.detector, engine.recognizer, engine.classifier, options)


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


def test_v6_is_the_default_and_v4_stays_selectable(engine, engine_v4):
    assert engine.options.version == "v6" and len(engine.recognizer.charset) > 18000  # multilingual dictionary
    assert engine_v4.options.version == "v4" and len(engine_v4.recognizer.charset) < 7000
    image = text_page(LINES, font_px=21)
    assert word_accuracy(list(LINES), [line.text for line in engine_v4.read([image])[0]]) >= 0.9


def test_spaces_restored_where_the_v4_model_drops_them(engine_v4):
    # measured on this image: v4 word accuracy 0.31 as the model reads it (words run together), 1.0 restored
    image = text_page(LINES, font_px=21)
    restored = [line.text for line in engine_v4.read([image])[0]]
    raw = [line.text for line in without_space_restoration(engine_v4).read([image])[0]]
    assert word_accuracy(list(LINES), restored) >= 0.9
    assert word_accuracy(list(LINES), restored) >= word_accuracy(list(LINES), raw) + 0.3


def test_v6_reads_the_spaces_itself(engine):
    # measured: word accuracy 1.0 on this image without restoration (v4: 0.31); restoration stays harmless
    image = text_page(LINES, font_px=21)
    raw = [line.text for line in without_space_restoration(engine).read([image])[0]]
    assert word_accuracy(list(LINES), raw) >= 0.9


ACCENTED = (
    "Le garçon déjà âgé mangeait où il voulait.",
    "Größere Übungen für schöne Mädchen.",
    "El niño español comió piñas en Málaga.",
)


def test_v6_reads_accented_latin_lines(engine, engine_v4):
    image = text_page(ACCENTED, font_px=24)
    read = [line.text for line in engine.read([image])[0]]
    assert word_accuracy(list(ACCENTED), read) >= 0.85
    accents = set("çéâàùÜöäßñá")
    assert len(accents & set("".join(read))) >= 8  # measured: all 11
    # the Chinese+English v4 recogniser has no such letters in its dictionary
    assert word_accuracy(list(ACCENTED), [line.text for line in engine_v4.read([image])[0]]) < word_accuracy(
        list(ACCENTED), read
    )


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_pages_read_like_the_upright_page(engine, turn):
    upright = text_page(LINES[:4], font_px=21)
    expected = engine.read([upright])[0]
    turned = turn_image(upright, turn)  # the page as scanned, text turned clockwise by `turn`
    (lines,) = engine.read([turned])
    assert [line.text for line in lines] == [line.text for line in expected]
    assert {line.rotation for line in lines} == {(360 - turn) % 360}
    height, width = upright.shape[:2]
    for line, reference in zip(lines, expected):  # boxes in the turned image's pixels, where the text is
        where = turn_points(np.array(reference.quad).reshape(4, 2), turn, width, height)
        box = (where[:, 0].min(), where[:, 1].min(), where[:, 0].max(), where[:, 1].max())
        assert np.allclose(line.box, box, atol=12)  # detection on the turned image differs by a few pixels


def test_upside_down_line_on_an_upright_page_is_turned(engine):
    # the page stays upright (most lines are); the 0/180 line classifier turns the one line
    image = np.array(text_page(LINES[:4], font_px=21))
    flipped = line_crop(LINES[4], font_px=21)[::-1, ::-1]
    image = np.concatenate([image, np.full((60, image.shape[1], 3), 255, np.uint8)])
    image[-50 : -50 + flipped.shape[0], 30 : 30 + flipped.shape[1]] = flipped
    (lines,) = engine.read([image])
    assert {line.rotation for line in lines} == {0}
    assert word_accuracy(list(LINES[:5]), [line.text for line in lines]) >= 0.9


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
    with pytest.raises(WeightNotFoundError, match="OCR language 'korean' is not available.*ppocr/korean_rec.onnx"):
        PpOcrOnnx.from_options(PpOcrOptions(lang="korean", models_dir=str(tmp_path)))
    # v4's recogniser reads Chinese and English only: French needs a Latin recogniser; v6 reads it
    options = PpOcrOptions(lang="fr", version="v4", models_dir=str(tmp_path))
    assert "ppocr/latin_rec.onnx" in PpOcrOnnx.unavailable(options)
    assert PpOcrOnnx.unavailable(options.model_copy(update={"version": "v6"})) is None
    assert "ppocr/cyrillic_rec.onnx" in PpOcrOnnx.unavailable(PpOcrOptions(lang="ru", models_dir=str(tmp_path)))


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
    # a recogniser with its dictionary in the ONNX metadata needs no dictionary file
    (tmp_path / "ppocr" / "xx_dict.txt").unlink()
    engine = PpOcrOnnx.from_options(PpOcrOptions(lang="xx", models_dir=str(tmp_path), use_cls=False))
    assert word_accuracy([LINES[1]], [engine.recognize([line_crop(LINES[1])])[0][0]]) >= 0.9


def test_paddleocr_engine_missing_package_says_how_to_install():
    from docray.models.ocr_paddle import PaddleOcrOptions

    with pytest.raises(ImportError, match=r"pip install 'docray\[paddle\]' and put the models in the models directory"):
        registry.create("ocr", PaddleOcrOptions())
