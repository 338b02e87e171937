"""A vision-language model run in-process with transformers (``generate``), from a local models directory.

Put a transformers image-text-to-text folder (``config.json``, the safetensors weights, the tokenizer files, the
chat template and ``preprocessor_config.json``), e.g. MinerU2.5-2509-1.2B (a Qwen2-VL model), under the
models directory and name it ``model: models-dir:<folder>``.  Nothing downloads: every ``from_pretrained``
runs with ``local_files_only=True``, and folders that need remote code are refused.

How requests become answers:

* **Batching** — requests are grouped by sampling (temperature, top-p, repetition penalty, stop strings),
  sorted by image size and prompt length to reduce padding, and sent ``batch_size`` at a time to one
  left-padded ``generate`` call; answers come back in input order.  Each request keeps its own
  ``max_tokens`` (a per-row budget inside the batch).
* **Prompt** — the model's chat template with a system message when the request has one (else the template's
  default), then one user turn: the image, then the prompt; ``add_generation_prompt=True``.
* **Decoding** — greedy when ``temperature == 0``, otherwise sampling with the request's temperature and
  top-p (the model's own ``generation_config`` sampling defaults, such as top-k, are not used); the
  repetition penalty applies in both.  The answer is the generated tokens up to the first end token (the
  model's EOS ids and its pad id), decoded *keeping* other special tokens: MinerU2.5's layout tokens
  (``<|box_start|>``, ``<|ref_start|>``, ``<|rotate_up|>`` ...) are part of its answers.  With ``stop``
  strings, generation stops once one appears and the text is cut before the first one.
* **finish_reason** — ``"length"`` when ``max_tokens`` tokens were generated without an end token or a
  stop string, else ``"stop"``; ``"error"`` for a failed request.
* **Log-probabilities** (``logprobs=True``) — per generated token, the log-softmax of the scores the token
  was chosen from, after the repetition penalty, temperature and top-p (so under greedy decoding the chosen
  token is always the most probable one).  Token texts are decoded incrementally and concatenate exactly to
  the text: a token that ends inside a UTF-8 character (byte-level tokenizers) has empty text and the token
  completing the character carries it.
* **json_schema is not enforced** — this engine has no constrained decoding: the prompt must carry the schema,
  and callers validate the answer (engines with guided decoding, such as vLLM's, can enforce it).
* **Errors** — an image that does not decode answers with an error at once; a batch whose ``generate`` fails
  is retried request by request, and a request that still fails gets ``VlmResponse(text="", finish_reason=
  "error", error=...)``.  ``generate`` never raises for one request.

Processors: ``AutoProcessor`` loads the folder's processor.  Under transformers 5.x the Qwen2-VL family's
processor also builds a video processor, which needs torchvision; without it this engine assembles the same
inputs from the folder's tokenizer and image processor (:class:`PlaceholderProcessor`: each image token
expanded to the image's merged patch count, plus the modality ids M-RoPE needs), so ``docray[vlm]``
needs only torch and transformers.
"""

from __future__ import annotations

import inspect
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field, model_validator

from docray.config import StrictModel
from docray.models.protocols import TokenLogprob, VlmRequest, VlmResponse
from docray.models.torch_engine import first_set, token_ids, torch_placement
from docray.models.vlm_common import cut_at_stop, token_pieces
from docray.models.weights import model_folder

INSTALL_HINT = "the transformers VLM engine needs torch and transformers: pip install 'docray[vlm]'"
IMAGE_TOKEN = "<|image_pad|>"  # Qwen2-VL's image placeholder, expanded to one token per merged patch
# generate() fills unset sampling settings from the model's generation_config (e.g. top_k) and transformers'
# defaults (top_k=50): these neutral values switch them off; temperature and top-p are applied by our own warpers
NEUTRAL_SAMPLING = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "typical_p": 1.0,
                    "epsilon_cutoff": 0.0, "eta_cutoff": 0.0}  # fmt: skip


class TransformersVlmOptions(StrictModel):
    """A transformers image-text-to-text model (MinerU2.5, Qwen2-VL ...) from the models directory."""

    kind: Literal["transformers"] = "transformers"
    model: str = Field(
        "models-dir:MinerU2.5-2509-1.2B", description="weight spec (models-dir:, wheel: or a path) of the model folder"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' uses CUDA when torch sees a GPU")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="weights and activations; 'auto' is bfloat16 on CUDA and float32 on CPU"
    )
    batch_size: int = Field(4, ge=1, description="requests per generate call")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None: the CPUs the worker reserved (>= 1)")
    max_pixels: int | None = Field(
        None, ge=1, description="largest image area (pixels) after resizing; None: the processor's own bound"
    )
    min_pixels: int | None = Field(
        None, ge=1, description="smallest image area (pixels) after resizing; None: the processor's own bound"
    )
    attn_implementation: str | None = Field(
        None, description="transformers attention kernel ('sdpa', 'eager', 'flash_attention_2'); None: its default"
    )

    @model_validator(mode="after")
    def _pixel_bounds(self) -> TransformersVlmOptions:
        if self.min_pixels is not None and self.max_pixels is not None and self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels ({self.min_pixels}) is larger than max_pixels ({self.max_pixels})")
        return self


def check_vlm_folder(folder: Path) -> None:
    """Raise a clear error when ``folder`` is not an image-text-to-text model that transformers ships."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    model_type = config.get("model_type")
    if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        extra = " (it names remote code in auto_map, which docray does not run)" if config.get("auto_map") else ""
        raise ValueError(
            f"{folder} is a {model_type!r} model, not a vision-language (image-text-to-text) model that transformers "
            f"ships{extra}"
        )


def image_area(data: bytes) -> int:
    """Width x height of an encoded image, read from its header (raises on bytes that are not an image)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.width * image.height


def decode_image(data: bytes):
    """An encoded PNG/JPEG as an RGB PIL image (raises on bytes that are not an image)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def size_override(image_processor, min_pixels: int | None, max_pixels: int | None) -> dict | None:
    """The processor's ``size`` with the options' pixel bounds, or None when the options set none."""
    if min_pixels is None and max_pixels is None:
        return None
    size = getattr(image_processor, "size", None)

    def bound(key: str, legacy: str) -> int | None:
        value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
        return value or getattr(image_processor, legacy, None)

    low = min_pixels if min_pixels is not None else bound("shortest_edge", "min_pixels")
    high = max_pixels if max_pixels is not None else bound("longest_edge", "max_pixels")
    if low is None or high is None:
        raise ValueError(f"{type(image_processor).__name__} has no min/max pixel bounds to override")
    if low > high:
        raise ValueError(f"min_pixels ({low}) is larger than max_pixels ({high})")
    return {"shortest_edge": int(low), "longest_edge": int(high)}


class PlaceholderProcessor:
    """Chat text + images to model inputs for Qwen2-VL-style models, from the tokenizer and image processor.

    Used when ``AutoProcessor`` cannot load (transformers 5.x builds Qwen2-VL's video processor, which needs
    torchvision).  Each image token of the text is repeated once per merged patch of its image
    (``grid_t * grid_h * grid_w / merge_size**2``), as the model expects.
    """

    def __init__(self, tokenizer, image_processor, chat_template: str | None, token_types: bool):
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.chat_template = chat_template
        self.token_types = token_types  # the model takes mm_token_type_ids (transformers 5.x M-RoPE)
        self.image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        self.merge = int(getattr(image_processor, "merge_size", 0) or 0)
        if self.merge < 1 or self.image_token_id is None or self.image_token_id == tokenizer.unk_token_id:
            raise ValueError(
                f"{type(image_processor).__name__} / {type(tokenizer).__name__}: not a Qwen2-VL-style processor "
                f"(merge_size and the {IMAGE_TOKEN} token); install torchvision so AutoProcessor can load it"
            )

    def apply_chat_template(self, messages: list[dict], **kwargs: Any) -> str:
        return self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, **kwargs)

    def __call__(self, text: list[str], images: list, images_kwargs: dict | None = None, **kwargs: Any) -> dict:
        import torch

        vision = self.image_processor(images=images, return_tensors="pt", **(images_kwargs or {}))
        counts = iter((vision["image_grid_thw"].prod(-1) // self.merge**2).tolist())
        expanded = []
        for chat in text:
            first, *rest = chat.split(IMAGE_TOKEN)
            expanded.append(first + "".join(IMAGE_TOKEN * next(counts) + part for part in rest))
        encoded = self.tokenizer(expanded, padding=True, return_tensors="pt")
        inputs = {**encoded, "pixel_values": vision["pixel_values"], "image_grid_thw": vision["image_grid_thw"]}
        if self.token_types:
            inputs["mm_token_type_ids"] = (encoded["input_ids"] == self.image_token_id).to(torch.long)
        return inputs


def load_processor(folder: Path, model):
    """The folder's processor: ``AutoProcessor``, else a :class:`PlaceholderProcessor` when torchvision is missing."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    try:
        processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    except ImportError:  # transformers 5.x: the Qwen2-VL family's video processor needs torchvision
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        image_processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        token_types = "mm_token_type_ids" in inspect.signature(model.forward).parameters
        processor = PlaceholderProcessor(tokenizer, image_processor, chat_template(folder, tokenizer), token_types)
    if getattr(processor, "image_processor", None) is None or getattr(processor, "tokenizer", None) is None:
        raise ValueError(f"{folder} has no image processor and tokenizer (preprocessor_config.json, tokenizer files)")
    processor.tokenizer.padding_side = "left"
    return processor


def chat_template(folder: Path, tokenizer) -> str | None:
    """The folder's chat template: the tokenizer's, else ``chat_template.jinja`` or ``chat_template.json``."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if (folder / "chat_template.json").is_file():
        return json.loads((folder / "chat_template.json").read_text(encoding="utf-8")).get("chat_template")
    return None


class ChosenLogprobs:
    """A logits processor, last in the list, that records each step's log-probability of the chosen token.

    At step ``t`` it sees the token chosen at ``t - 1`` (the last column of ``input_ids``) and looks it up in
    the log-softmax it kept from step ``t - 1``; :meth:`finish` adds the last step's.  It keeps one step's
    distribution, not all of them.
    """

    def __init__(self):
        self.previous = None
        self.steps: list = []

    def __call__(self, input_ids, scores):
        if self.previous is not None:
            self.steps.append(self.previous.gather(1, input_ids[:, -1:])[:, 0])
        self.previous = scores.float().log_softmax(dim=-1)
        return scores

    def finish(self, sequences) -> list[list[float]]:
        """Per row, the log-probability of each generated token (rows as ``sequences``)."""
        import torch

        if self.previous is not None:
            self.steps.append(self.previous.gather(1, sequences[:, -1:])[:, 0])
        if not self.steps:
            return [[] for _ in range(sequences.shape[0])]
        return torch.stack(self.steps, dim=1).cpu().tolist()


class RowBudget:
    """A stopping criterion that ends each row of a batch after its own number of new tokens."""

    def __init__(self, prompt_length: int, budgets: Sequence[int], device):
        import torch

        self.prompt_length = prompt_length
        self.budgets = torch.tensor(list(budgets), device=device)

    def __call__(self, input_ids, scores, **kwargs):
        return (input_ids.shape[1] - self.prompt_length) >= self.budgets


@dataclass
class _Pending:
    """One request, its place in the input and its image's area (images are decoded batch by batch)."""

    index: int
    request: VlmRequest
    area: int = 0


class TransformersVlm:
    """A :class:`~docray.models.protocols.VlmEngine` over a transformers image-text-to-text model."""

    def __init__(self, model, processor, options: TransformersVlmOptions, name: str):
        import torch

        self.torch = torch
        self.model = model.eval()
        self.processor = processor
        self.options = options
        self.model_name = name
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.size = size_override(processor.image_processor, options.min_pixels, options.max_pixels)
        tokenizer = processor.tokenizer
        config = model.generation_config
        text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.eos_ids = sorted(
            set(token_ids(config.eos_token_id) or token_ids(getattr(text_config, "eos_token_id", None)))
            | set(token_ids(tokenizer.eos_token_id))
        )
        self.pad_id = first_set(config.pad_token_id, getattr(text_config, "pad_token_id", None), tokenizer.pad_token_id)
        if self.pad_id is None and self.eos_ids:
            self.pad_id = self.eos_ids[0]
        if not self.eos_ids or self.pad_id is None:
            raise ValueError(f"{name}: the model names no end-of-sequence token (generation_config or tokenizer)")
        self.end_ids = set(self.eos_ids) | {self.pad_id}
        self.drop_ids = set(token_ids(config.bos_token_id)) | set(token_ids(tokenizer.bos_token_id))
        # removed from answers of requests with skip_special_tokens (MinerU2.5's layout requests keep them)
        self.special_ids = set(getattr(tokenizer, "all_special_ids", ()) or ()) | {
            token_id for token_id, added in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).items() if added.special
        }

    @classmethod
    def from_options(cls, options: TransformersVlmOptions, threads: int = 1) -> TransformersVlm:
        try:
            import torch
            from transformers import AutoModelForImageTextToText
        except ImportError as exc:
            raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
        folder = model_folder(options.model, group="vlm")
        check_vlm_folder(folder)
        device, dtype = torch_placement(torch, options.device, options.dtype, options.threads or threads, "bfloat16")
        kwargs: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
        if options.attn_implementation:
            kwargs["attn_implementation"] = options.attn_implementation
        model = AutoModelForImageTextToText.from_pretrained(folder, **kwargs).to(device)
        return cls(model, load_processor(folder, model), options, folder.name)

    # ------------------------------------------------------------------ requests

    def generate(self, requests: Sequence[VlmRequest]) -> list[VlmResponse]:
        """Answer every request, in order (see the module docstring for batching, decoding and errors)."""
        if self.model is None:
            raise RuntimeError(f"{self.model_name}: the engine is closed")
        responses: list[VlmResponse | None] = [None] * len(requests)
        groups: dict[tuple, list[_Pending]] = {}
        for index, request in enumerate(requests):
            try:
                area = image_area(request.image)
            except Exception as exc:  # noqa: BLE001 - any decoder failure is this request's error
                responses[index] = _error(f"cannot decode the request's image: {type(exc).__name__}: {exc}")
                continue
            key = (request.temperature, request.top_p, request.repetition_penalty, tuple(request.stop))
            groups.setdefault(key, []).append(_Pending(index, request, area))
        size = self.options.batch_size
        for pending in groups.values():
            pending.sort(key=lambda p: (p.area, len(p.request.prompt)))
            for start in range(0, len(pending), size):
                batch = pending[start : start + size]
                for item, response in zip(batch, self._answer(batch)):
                    responses[item.index] = response
        return [r if r is not None else _error("no answer") for r in responses]

    def _answer(self, batch: list[_Pending]) -> list[VlmResponse]:
        """A batch's answers; when its generate fails, each request on its own (a failure answers with an error)."""
        try:
            return self._generate(batch)
        except Exception as exc:  # noqa: BLE001 - retried one by one below
            if len(batch) == 1:
                return [_error(f"{type(exc).__name__}: {exc}")]
        self._release_cache()
        return [self._answer([item])[0] for item in batch]

    def _generate(self, batch: list[_Pending]) -> list[VlmResponse]:
        """One left-padded ``generate`` call for requests that share their sampling settings."""
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        torch = self.torch
        first = batch[0].request
        inputs = self._inputs(batch)
        prompt_length = inputs["input_ids"].shape[1]
        budgets = [item.request.max_tokens for item in batch]
        settings: dict[str, Any] = {
            "max_new_tokens": max(budgets),
            "num_beams": 1,
            "repetition_penalty": first.repetition_penalty,
            "eos_token_id": self.eos_ids,
            "pad_token_id": self.pad_id,
            "use_cache": True,
            "no_repeat_ngram_size": 0,
        }
        processors = LogitsProcessorList()
        if first.temperature > 0:  # sampling: our warpers, so the log-probabilities below see their output
            from transformers import TemperatureLogitsWarper, TopPLogitsWarper

            settings.update(do_sample=True, **NEUTRAL_SAMPLING)
            processors.append(TemperatureLogitsWarper(first.temperature))
            if first.top_p < 1.0:
                processors.append(TopPLogitsWarper(first.top_p))
        else:
            settings["do_sample"] = False
        recorder = ChosenLogprobs() if any(item.request.logprobs for item in batch) else None
        if recorder is not None:
            processors.append(recorder)
        extra: dict[str, Any] = {}
        stops = [s for s in first.stop if s]
        if stops:
            settings["stop_strings"] = stops
            extra["tokenizer"] = self.processor.tokenizer
        stopping = StoppingCriteriaList([RowBudget(prompt_length, budgets, self.device)])
        with torch.inference_mode():
            sequences = self.model.generate(
                **inputs,
                generation_config=GenerationConfig(**settings),
                logits_processor=processors,
                stopping_criteria=stopping,
                **extra,
            )
        generated = sequences[:, prompt_length:].cpu()
        logprobs = recorder.finish(sequences) if recorder is not None else None
        return [
            self._response(item.request, generated[row].tolist(), logprobs[row] if logprobs else None)
            for row, item in enumerate(batch)
        ]

    def prompt_inputs(self, requests: Sequence[VlmRequest]) -> dict:
        """The model inputs ``generate`` builds for these requests as one batch (for inspection and tests)."""
        return self._inputs([_Pending(i, r) for i, r in enumerate(requests)])

    def _inputs(self, batch: list[_Pending]) -> dict:
        """The processor's batched, left-padded inputs on the model's device (floating tensors in its dtype)."""
        texts = [self.processor.apply_chat_template(_messages(item.request), tokenize=False, add_generation_prompt=True)
                 for item in batch]  # fmt: skip
        images = [decode_image(item.request.image) for item in batch]
        sizes = {"images_kwargs": {"size": dict(self.size)}} if self.size is not None else {}
        inputs = self.processor(text=texts, images=images, padding=True, return_tensors="pt", **sizes)
        moved = {}
        for key, value in dict(inputs).items():
            if hasattr(value, "to"):
                value = value.to(self.device, self.dtype) if value.is_floating_point() else value.to(self.device)
            moved[key] = value
        return moved

    def _response(self, request: VlmRequest, ids: list[int], logprobs: list[float] | None) -> VlmResponse:
        """One row's answer: cut at its budget and first end token, decoded, cut at stop strings."""
        ids = ids[: request.max_tokens]
        end = next((k for k, token in enumerate(ids) if token in self.end_ids), None)
        dropped = self.drop_ids if not request.skip_special_tokens else self.drop_ids | self.special_ids
        kept = [(k, token) for k, token in enumerate(ids[:end]) if token not in dropped]
        finish = "stop" if end is not None else ("length" if len(ids) >= request.max_tokens else "stop")
        tokens = [token for _, token in kept]
        text = self._decode(tokens)
        pieces = token_pieces(self._decode, tokens, text) if request.logprobs else []
        text, pieces, stopped = cut_at_stop(text, pieces, request.stop)
        if stopped:
            finish = "stop"
        token_logprobs: tuple[TokenLogprob, ...] = ()
        if request.logprobs and logprobs is not None:
            token_logprobs = tuple(TokenLogprob(piece, float(logprobs[k])) for (k, _), piece in zip(kept, pieces))
        return VlmResponse(text=text, tokens=token_logprobs, finish_reason=finish)

    def _decode(self, ids: list[int]) -> str:
        return self.processor.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def _release_cache(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()

    def close(self) -> None:
        """Drop the model and processor and free their memory (idempotent)."""
        if self.model is None:
            return
        self.model = None
        self.processor = None
        import gc

        gc.collect()
        self._release_cache()


def _messages(request: VlmRequest) -> list[dict]:
    """The chat: the request's system message when it has one, then the image and the prompt as one user turn."""
    messages: list[dict] = []
    if request.system is not None:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": request.prompt}]})
    return messages


def _error(message: str) -> VlmResponse:
    return VlmResponse(text="", finish_reason="error", error=message)
