"""A tiny Qwen2-VL *taught* to answer MinerU2.5's four prompts with fixed MinerU2.5-format answers.

:func:`teach_tiny_vlm` takes the tiny random model of :mod:`docray.testing.tiny_vlm` (the real Qwen2-VL
architecture, tokenizer with MinerU2.5's layout tokens, chat template, image processor) and fine-tunes all its
weights for one or two hundred AdamW steps on the CPU (15-30 s on one core) so that, whatever the image, it
answers

* ``"\\nLayout Detection:"`` with :data:`LAYOUT_ANSWER` — one line per region of :data:`REGIONS` in MinerU2.5's
  format ``<|box_start|>x0 y0 x1 y1<|box_end|><|ref_start|>type<|ref_end|><|rotate_up|>`` (0..1000 grid): a
  title, a text, a table, an equation and an image (the image gets no stage-2 request);
* ``"\\nText Recognition:"`` with :data:`TEXT_ANSWER` (titles and texts share this prompt, hence this answer);
* ``"\\nTable Recognition:"`` with the OTSL table :data:`TABLE_ANSWER`;
* ``"\\nFormula Recognition:"`` with :data:`FORMULA_ANSWER`.

Each training example is exactly what :class:`~docray.models.vlm_transformers.TransformersVlm` sends to
``generate`` (its own ``prompt_inputs``: system message, one user turn of image then prompt, the generation
prompt), followed by the answer and ``<|im_end|>``; the loss is on those answer tokens only.  Every step draws
fresh images — white, random noise, or white with dark bars — of the sizes docray's two-stage reader produces
(the layout image stretched to 1036 x 1036; crops of :data:`REGIONS` from common page sizes) or of a random grid
of image tokens (any layout the processor can produce), so the model learns to ignore the image and its size.
Teaching stops once greedy ``generate`` through the engine has reproduced every answer exactly on fresh images,
alone and in one mixed batch, at two checks in a row; it raises when the step budget runs out first.  The same
``seed`` gives the same weights.

This is a tiny model taught to *repeat fixed answers*: it never looks at the page.  What it proves is
docray's two-stage plumbing through real transformers ``generate`` — the chat template, layout special tokens
kept when decoding, batching with left padding, end-of-turn handling, the layout and stage-2 parsers — and
never accuracy.

In tests, a session- or module-scoped fixture calls :func:`taught_model_dir` (the folder is taught once per
pytest session and reused); the folder then serves as ``vlm.engine.model=<dir>`` or
``python -m docray.vlm_serve --engine transformers --model <dir>``.  ``python -m docray.testing.taught_vlm DIR``
teaches a folder by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

SYSTEM = "You are a helpful assistant."  # MinerU2.5's system message (models/prompts/mineru25.yaml)
LAYOUT_PROMPT = "\nLayout Detection:"
TEXT_PROMPT = "\nText Recognition:"
TABLE_PROMPT = "\nTable Recognition:"
FORMULA_PROMPT = "\nFormula Recognition:"

# (MinerU type, box on the 0..1000 grid of the layout image); no region lies inside another
REGIONS: tuple[tuple[str, tuple[int, int, int, int]], ...] = (
    ("title", (100, 60, 900, 120)),
    ("text", (100, 150, 900, 300)),
    ("table", (100, 340, 900, 560)),
    ("equation", (250, 600, 750, 680)),
    ("image", (100, 720, 600, 950)),
)
LAYOUT_ANSWER = "\n".join(
    f"<|box_start|>{x0} {y0} {x1} {y1}<|box_end|><|ref_start|>{kind}<|ref_end|><|rotate_up|>"
    for kind, (x0, y0, x1, y1) in REGIONS
)
TEXT_ANSWER = "Taught text with \\(x^{2}\\)."
TABLE_ANSWER = "<fcel>a<fcel>b<nl><fcel>1<fcel>2<nl>"
FORMULA_ANSWER = "\\[x^{2}+1\\]"
LESSONS: tuple[tuple[str, str], ...] = (
    (LAYOUT_PROMPT, LAYOUT_ANSWER),
    (TEXT_PROMPT, TEXT_ANSWER),
    (TABLE_PROMPT, TABLE_ANSWER),
    (FORMULA_PROMPT, FORMULA_ANSWER),
)

LAYOUT_SIZE = (1036, 1036)  # MinerU2.5's layout image: the page stretched to a square
PAGE_SIZES = ((612, 792), (595, 842), (1224, 1584), (1036, 1036))  # pages (72 and 144 dpi) the crops come from
MARGIN = 2.0  # a logit lead every answer token must have over the runner-up before generation is checked
CLIP = 1.0  # gradient norm clipping: no loss spikes late in the teaching
READER_SHARE = 0.3  # training images of the reader's sizes; the others have random sizes
PASSES = 2  # consecutive checks to pass (on different images) before the teaching stops
CHECKS = 4  # images per lesson that greedy generation is checked on
RECORD = "taught.json"  # written last into a taught folder: the lessons and how the teaching went


def region_crop_sizes(regions: Sequence[tuple[str, tuple[int, int, int, int]]] = REGIONS) -> list[tuple[int, int]]:
    """Pixel sizes of the regions' stage-2 crops on the pages of :data:`PAGE_SIZES` (images excluded)."""
    sizes = []
    for kind, (x0, y0, x1, y1) in regions:
        if kind == "image":
            continue
        for width, height in PAGE_SIZES:
            sizes.append((max(1, round((x1 - x0) * width / 1000)), max(1, round((y1 - y0) * height / 1000))))
    return sizes


def random_grid_size(rng) -> tuple[int, int]:
    """A random image size that the tiny model's processor keeps as it is: a grid of 28-pixel merged patches
    of log-uniform area (between the processor's pixel bounds) and aspect ratio (1:12 to 12:1).

    Large images are resized to such grids by the processor, so these cover every image token layout the
    model can meet, at a fraction of the cost of large images."""
    import math

    from docray.testing.tiny_vlm import MAX_PIXELS, MERGE_SIZE, MIN_PIXELS, PATCH_SIZE

    unit = PATCH_SIZE * MERGE_SIZE
    low, high = MIN_PIXELS // unit**2, MAX_PIXELS // unit**2
    area = math.exp(rng.uniform(math.log(low), math.log(high)))
    aspect = math.exp(rng.uniform(-math.log(12), math.log(12)))
    rows = min(max(1, round(math.sqrt(area / aspect))), high)
    cols = min(max(1, round(area / rows)), high // rows)
    return cols * unit, rows * unit


def lesson_image(rng, size: tuple[int, int], kind: int):
    """A training image of ``size``: kind 0 white, 1 random noise, 2 white with random dark bars (text-like).

    Noise is drawn on cells of up to a few pixels (at most 256 cells a side) so that pages encode quickly.
    """
    import numpy as np
    from PIL import Image

    width, height = size
    if kind == 1:
        cell = max(1, -(-max(width, height) // 256))
        coarse = rng.integers(0, 256, (-(-height // cell), -(-width // cell), 3), dtype=np.uint8)
        return Image.fromarray(coarse.repeat(cell, axis=0).repeat(cell, axis=1)[:height, :width])
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    if kind == 2:
        for _ in range(int(rng.integers(1, 12))):
            x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
            bar_w, bar_h = int(rng.integers(1, max(2, width // 2))), int(rng.integers(1, max(2, height // 6)))
            pixels[y0 : y0 + bar_h, x0 : x0 + bar_w] = int(rng.integers(0, 140))
    return Image.fromarray(pixels)


def encode_png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def lessons_digest(lessons: Sequence[tuple[str, str]], seed: int) -> str:
    """A digest naming what a folder was taught (its lessons and seed)."""
    return hashlib.sha256(json.dumps([list(map(list, lessons)), seed]).encode("utf-8")).hexdigest()


def taught_record(path: Path) -> dict[str, Any] | None:
    """The record :func:`teach_tiny_vlm` wrote into ``path`` (lessons, steps, seconds), or None when untaught."""
    record = Path(path) / RECORD
    return json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None


class _Teacher:
    """The model, its engine (for the exact inputs ``generate`` sees) and the lessons as token ids."""

    def __init__(self, path: Path, lessons: Sequence[tuple[str, str]], seed: int):
        import numpy as np
        import torch
        from transformers import Qwen2VLForConditionalGeneration

        from docray.models.vlm_transformers import TransformersVlm, TransformersVlmOptions, load_processor

        self.torch = torch
        self.rng = np.random.default_rng(seed)
        self.model = Qwen2VLForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype=torch.float32)
        processor = load_processor(path, self.model)
        self.engine = TransformersVlm(self.model, processor, TransformersVlmOptions(model=str(path)), path.name)
        tokenizer = processor.tokenizer
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.lessons = list(lessons)
        self.answers = [tokenizer(answer, add_special_tokens=False)["input_ids"] + [end] for _, answer in lessons]
        self.pad_id = self.engine.pad_id
        self.sizes = region_crop_sizes() + list(PAGE_SIZES)  # stage-2 crops, and whole pages (one-shot prompts)

    def size(self, prompt: str) -> tuple[int, int]:
        """An image size for ``prompt``: mostly a random grid of merged patches (any image size the processor
        can produce), else the reader's (the layout square; region crops and pages)."""
        rng = self.rng
        if rng.random() < READER_SHARE:
            if prompt == LAYOUT_PROMPT:
                return LAYOUT_SIZE
            return self.sizes[int(rng.integers(len(self.sizes)))]
        return random_grid_size(rng)

    def image(self, prompt: str):
        return lesson_image(self.rng, self.size(prompt), int(self.rng.integers(3)))

    def request(self, prompt: str, image, max_tokens: int = 1024):
        from docray.models.protocols import VlmRequest

        skip = prompt != LAYOUT_PROMPT  # the layout answer is special tokens: they must survive decoding
        return VlmRequest(image=encode_png(image), prompt=prompt, system=SYSTEM, max_tokens=max_tokens,
                          skip_special_tokens=skip)  # fmt: skip

    def batch(self) -> dict:
        """One training batch of fresh images: every lesson once, the prompts as the engine batches them
        (left-padded), then the answers (right-padded) as labels."""
        torch = self.torch
        rows = range(len(self.lessons))
        inputs = self.engine.prompt_inputs([self.request(prompt, self.image(prompt)) for prompt, _ in self.lessons])
        width = max(len(ids) for ids in self.answers)
        answers = torch.full((len(self.lessons), width), self.pad_id, dtype=inputs["input_ids"].dtype)
        labels = torch.full_like(answers, -100)
        mask = torch.zeros_like(inputs["attention_mask"][:, :1]).repeat(1, width)
        for row, k in enumerate(rows):
            ids = torch.tensor(self.answers[k])
            answers[row, : len(ids)] = labels[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        inputs["labels"] = torch.cat([torch.full_like(inputs["input_ids"], -100), labels], dim=1)
        inputs["input_ids"] = torch.cat([inputs["input_ids"], answers], dim=1)
        inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask], dim=1)
        if "mm_token_type_ids" in inputs:
            types = inputs["mm_token_type_ids"]
            inputs["mm_token_type_ids"] = torch.cat([types, torch.zeros_like(types[:, :1]).repeat(1, width)], dim=1)
        return inputs

    def step(self, optimizer) -> tuple[float, float]:
        """One AdamW step; returns the loss and the smallest logit lead of a target token (< 0: a wrong argmax)."""
        torch = self.torch
        inputs = self.batch()
        labels = inputs.pop("labels")
        logits = self.model(**inputs).logits[:, :-1].float()
        targets = labels[:, 1:]
        known = targets != -100
        loss = torch.nn.functional.cross_entropy(logits[known], targets[known])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        optimizer.step()
        with torch.no_grad():
            chosen = logits[known]
            target_logit = chosen.gather(1, targets[known][:, None])[:, 0]
            others = chosen.scatter(1, targets[known][:, None], float("-inf")).max(dim=1).values
            margin = float((target_logit - others).min())
        return float(loss.detach()), margin

    def generates_every_answer(self) -> bool:
        """Greedy ``generate`` through the engine answers every lesson exactly on fresh images: per lesson a white
        image of the reader's size (alone and in a batch) and images of random sizes and kinds (in a batch)."""
        cases = []
        for (prompt, answer), ids in zip(self.lessons, self.answers):
            budget = len(ids) + 8
            reader = LAYOUT_SIZE if prompt == LAYOUT_PROMPT else self.sizes[int(self.rng.integers(len(self.sizes)))]
            cases.append((self.request(prompt, lesson_image(self.rng, reader, 0), budget), answer))
            cases += [(self.request(prompt, self.image(prompt), budget), answer) for _ in range(CHECKS - 1)]
        self.model.eval()
        try:
            mixed = self.engine.generate([request for request, _ in cases])
            if any(r.text != answer for r, (_, answer) in zip(mixed, cases)):
                return False
            alone = [self.engine.generate([request])[0] for request, _ in cases[::CHECKS]]
            return all(r.text == answer for r, (_, answer) in zip(alone, cases[::CHECKS]))
        finally:
            self.model.train()


def _teach(
    teacher: _Teacher, steps: int, lr: float, check_every: int, started: float, log: Callable[[str], None] | None
) -> tuple[int | None, list[tuple[int, float, float]]]:
    """The teaching loop: the step at which the model answered every lesson (None: never) and the history."""
    import torch

    optimizer = torch.optim.AdamW(teacher.model.parameters(), lr=lr, weight_decay=0.0)
    history: list[tuple[int, float, float]] = []
    passed = 0  # consecutive checks passed
    for step in range(1, steps + 1):
        loss, margin = teacher.step(optimizer)
        history.append((step, round(loss, 5), round(margin, 3)))
        if step % check_every:
            continue
        if log is not None:
            elapsed = time.perf_counter() - started
            log(f"step {step}: loss {loss:.4f}, smallest logit lead {margin:.2f}, {elapsed:.1f} s")
        passed = passed + 1 if margin >= MARGIN and teacher.generates_every_answer() else 0
        if passed == PASSES:
            return step, history
    return None, history


def teach_tiny_vlm(
    path: Path,
    lessons: Sequence[tuple[str, str]] = LESSONS,
    steps: int = 600,
    seed: int = 0,
    lr: float = 3e-3,
    check_every: int = 10,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Teach the tiny Qwen2-VL at ``path`` to answer each lesson's prompt with its answer; return ``path``.

    The tiny random model (``save_tiny_qwen2_vl(path, seed)``) is written first unless ``path`` already holds a
    model (``config.json``: its weights are the start); a folder already taught these lessons with this
    ``seed`` is returned as it is.  All weights are trained with AdamW (``lr``) on the CPU with ``threads``
    torch threads (restored afterwards), one batch of every lesson per step with fresh images; every
    ``check_every`` steps at which every answer token of the batch leads by :data:`MARGIN` logits, greedy
    generation is checked (:meth:`_Teacher.generates_every_answer`); ``log`` gets a progress line per check.
    On success the taught weights are saved into ``path`` (``model.safetensors``) with a ``taught.json``
    record (:func:`taught_record`).  Raises RuntimeError when ``steps`` run out first (nothing is saved).
    """
    import torch

    from docray.testing.tiny_vlm import save_tiny_qwen2_vl

    path = Path(path)
    digest = lessons_digest(lessons, seed)
    record = taught_record(path)
    if record is not None and record.get("digest") == digest:
        return path
    if not (path / "config.json").is_file():
        save_tiny_qwen2_vl(path, seed=seed)
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)  # one by default: steady on a busy machine, where two threads stall
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            teacher = _Teacher(path, lessons, seed)
            teacher.model.train()
            taught_at, history = _teach(teacher, steps, lr, check_every, started, log)
    finally:
        torch.set_num_threads(threads_before)
    seconds = time.perf_counter() - started
    if taught_at is None:
        last = history[-1] if history else None
        raise RuntimeError(
            f"the tiny VLM did not learn its {len(lessons)} lessons in {steps} steps ({seconds:.0f} s; last step, "
            f"loss, smallest logit lead: {last}): raise steps or lr, or shorten the answers"
        )
    teacher.model.eval()
    teacher.model.save_pretrained(path)
    summary = {
        "digest": digest,
        "lessons": [list(lesson) for lesson in lessons],
        "seed": seed,
        "steps": taught_at,
        "seconds": round(seconds, 1),
        "lr": lr,
        "last": history[-1],
    }
    (path / RECORD).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return path


def taught_model_dir(tmp_path_factory, lessons: Sequence[tuple[str, str]] = LESSONS, seed: int = 0) -> Path:
    """The taught model folder of this pytest session (taught on first use, then reused by every fixture).

    Use in a fixture: ``return taught_model_dir(tmp_path_factory)``.
    """
    folder = Path(tmp_path_factory.getbasetemp()) / f"taught-qwen2-vl-{lessons_digest(lessons, seed)[:12]}"
    return teach_tiny_vlm(folder, lessons=lessons, seed=seed)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        print("usage: python -m docray.testing.taught_vlm FOLDER", file=sys.stderr)
        raise SystemExit(2)
    out = teach_tiny_vlm(Path(sys.argv[1]), log=print)
    print(f"{out}: {json.dumps({k: v for k, v in (taught_record(out) or {}).items() if k != 'lessons'})}")
