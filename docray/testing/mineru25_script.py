"""Hand-written MinerU2.5 answers for one page, as :class:`~docray.testing.vlm_scripted.ScriptedVlm` rules.

MinerU2.5's weights cannot run here, so tests that need meaningful two-stage answers serve these through a real
engine interface (in process, or over HTTP with ``docray vlm-serve``'s server).  The answers follow MinerU2.5's
output format (layout lines of special tokens with 0..1000 boxes; OTSL tables; ``\\[...\\]`` formulas) and are
written for this project, not taken from the model.  Stage-2 text requests all carry the same prompt, so the text
answer is chosen by the crop's aspect ratio: each text-like region below has a distinct one.
"""

from __future__ import annotations

import io
import math

from PIL import Image

from docray.models.protocols import VlmRequest

# (type, box 0..1000, stage-2 answer or None for regions without a stage-2 request)
PAGE: tuple[tuple[str, tuple[int, int, int, int], str | None], ...] = (
    ("header", (100, 30, 900, 90), "Journal of Scripted Results"),
    ("title", (100, 100, 900, 140), "# 1 Introduction"),
    ("text", (100, 160, 900, 300), "We study the map \\(f(x) = x^2\\) on the unit interval and its fixed points."),
    ("table", (100, 320, 900, 500), "<fcel>Name<fcel>Value<nl><fcel>alpha<fcel>1.5<nl><fcel>beta<ecel><nl>"),
    ("table_caption", (100, 505, 900, 530), "Table 1: Parameters"),
    ("equation", (300, 560, 700, 620), "\\[E = m c^{2}\\]"),
    ("image", (100, 650, 500, 900), None),
    ("image_caption", (100, 905, 500, 930), "Figure 1: A scripted figure"),
    ("page_number", (480, 960, 520, 980), "7"),
)

LAYOUT_ANSWER = "\n".join(
    f"<|box_start|>{x0} {y0} {x1} {y1}<|box_end|><|ref_start|>{kind}<|ref_end|><|rotate_up|>" for kind, (x0, y0, x1, y1), _ in PAGE
)


def _aspect(box: tuple[int, int, int, int], page_aspect: float) -> float:
    """Width/height of a 0..1000 box on a page whose width/height is ``page_aspect``."""
    return (box[2] - box[0]) / max(1, box[3] - box[1]) * page_aspect


def text_answer(request: VlmRequest, page_aspect: float = 612 / 792) -> str:
    """The text answer of the region whose aspect ratio is nearest the request's crop."""
    with Image.open(io.BytesIO(request.image)) as image:
        aspect = image.width / image.height
    regions = [(box, answer) for kind, box, answer in PAGE if answer is not None and kind not in ("table", "equation")]
    _, answer = min(regions, key=lambda r: abs(math.log(_aspect(r[0], page_aspect)) - math.log(aspect)))
    return answer or ""


def rules() -> list[tuple[str, object]]:
    """ScriptedVlm rules answering MinerU2.5's four prompts for :data:`PAGE`."""
    answers = {kind: answer for kind, _, answer in PAGE}
    return [
        ("Layout Detection:", LAYOUT_ANSWER),
        ("Table Recognition:", answers["table"]),
        ("Formula Recognition:", answers["equation"]),
        ("Text Recognition:", text_answer),
    ]
