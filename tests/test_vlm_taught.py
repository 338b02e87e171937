"""A tiny Qwen2-VL taught to repeat MinerU2.5-format answers, read through the transformers engine.

The model (docray.testing.taught_vlm) never looks at the page: these tests prove the two-stage plumbing through
real transformers ``generate`` — chat template, layout special tokens kept, batching with left padding, end of
turn, the layout and stage-2 parsers — never accuracy.
"""

from __future__ import annotations

import io

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install 'docray[vlm]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install 'docray[vlm]')")

from PIL import Image  # noqa: E402

from docray.models import registry  # noqa: E402
from docray.models.protocols import VlmRequest  # noqa: E402
from docray.models.vlm_transformers import TransformersVlmOptions  # noqa: E402
from docray.operators.vlmparse.prompts import load_prompt_set  # noqa: E402
from docray.operators.vlmparse.reader import PageReader  # noqa: E402
from docray.schema import BlockType  # noqa: E402
from docray.testing.taught_vlm import (  # noqa: E402
    LAYOUT_PROMPT,
    LESSONS,
    SYSTEM,
    taught_model_dir,
    taught_record,
)


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    return taught_model_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def engine(taught):
    vlm = registry.create("vlm", TransformersVlmOptions(model=str(taught), batch_size=4), threads=1)
    yield vlm
    vlm.close()


def png(width: int, height: int, color: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def ask(prompt: str, image: bytes, **kwargs) -> VlmRequest:
    """A MinerU2.5-style request; the layout answer is special tokens, so it keeps them."""
    return VlmRequest(image=image, prompt=prompt, system=SYSTEM, max_tokens=160,
                      skip_special_tokens=prompt != LAYOUT_PROMPT, **kwargs)  # fmt: skip


def test_teaching_is_recorded_and_reused(taught, tmp_path_factory):
    record = taught_record(taught)
    assert record is not None and record["lessons"] == [list(lesson) for lesson in LESSONS]
    assert 0 < record["steps"] and (taught / "model.safetensors").is_file()
    stamp = (taught / "model.safetensors").stat().st_mtime_ns
    assert taught_model_dir(tmp_path_factory) == taught  # the session's folder: not taught again
    assert (taught / "model.safetensors").stat().st_mtime_ns == stamp


def test_the_engine_answers_every_lesson_alone_and_in_a_mixed_batch(engine):
    page = png(612, 792)
    for prompt, answer in LESSONS:
        [response] = engine.generate([ask(prompt, page)])
        assert (response.text, response.finish_reason, response.error) == (answer, "stop", None)
    # one batch of every prompt, images of different sizes (left padding), twice over two generate calls
    sizes = [(1036, 1036), (490, 48), (979, 238), (306, 63)]
    requests = [ask(prompt, png(*size, color)) for color in ((255, 255, 255), (230, 230, 210))
                for (prompt, _), size in zip(LESSONS, sizes)]  # fmt: skip
    responses = engine.generate(requests)
    assert [r.text for r in responses] == [answer for _ in range(2) for _, answer in LESSONS]
    layout = responses[0].text
    assert layout.count("<|box_start|>") == layout.count("<|rotate_up|>") == 5


def test_the_taught_answers_are_confident_and_their_tokens_make_the_text(engine):
    responses = engine.generate([ask(prompt, png(800, 600), logprobs=True) for prompt, _ in LESSONS])
    for response, (_, answer) in zip(responses, LESSONS):
        assert response.text == answer
        assert "".join(token.token for token in response.tokens) == answer
        assert min(token.logprob for token in response.tokens) > -0.7  # every token the clear favourite


def test_page_reader_parses_a_page_in_two_stages_through_transformers(engine):
    reader = PageReader(engine, load_prompt_set("mineru25"))
    pages = [Image.new("RGB", (612, 792), "white"), Image.new("RGB", (1224, 1584), "white")]
    readings = reader.read(pages)
    text = "Taught text with $x^{2}$."
    table = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"
    for reading in readings:
        assert reading.failed is None and reading.errors == []
        assert reading.raw["layout"] == LESSONS[0][1]
        got = [(b.type, tuple(round(v, 3) for v in b.bbox), b.text, b.html, b.latex, b.level) for b in reading.blocks]
        assert got == [
            (BlockType.TITLE, (0.1, 0.06, 0.9, 0.12), text, None, None, 0),
            (BlockType.TEXT, (0.1, 0.15, 0.9, 0.3), text, None, None, 0),
            (BlockType.TABLE, (0.1, 0.34, 0.9, 0.56), "", table, None, 0),
            (BlockType.INTERLINE_EQUATION, (0.25, 0.6, 0.75, 0.68), "", None, "x^{2}+1", 0),
            (BlockType.IMAGE, (0.1, 0.72, 0.6, 0.95), "", None, None, 0),
        ]
        assert [b.label for b in reading.blocks] == ["", "", "", "equation", ""]
