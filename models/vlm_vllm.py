"""A vision-language model run in-process by vLLM's offline engine (``vllm.LLM``), for GPU workers.

Install with ``pip install 'docray[gpu]'``; the model is a local folder (``models-dir:MinerU2.5-2509-1.2B`` by
default, a Qwen2-VL architecture that vLLM ships), loaded once per actor.  Each :meth:`VllmVlm.generate` call
turns all its requests into chat conversations (the image, then the prompt) with one ``SamplingParams`` each,
and hands them to ONE ``LLM.chat`` call, so vLLM schedules them together with continuous batching.

Why not ``ray.data.llm.build_processor``: docray's ``vlm`` operator fans each page out into a page-dependent
number of requests (stage 2's block requests depend on the same page's stage-1 layout answer) inside one actor
that owns the engine.  Ray's processors map one prompt per row through their own stages (multimodal
preparation, chat template, tokenize, engine, detokenize, each a ``map_batches``), so two-stage parsing would
need a ``flat_map`` of pages into layout rows, the processor, a ``groupby(page)`` barrier to rebuild pages,
another ``flat_map`` into block rows, the processor again and a second barrier.  The engine here is what
Ray's ``vLLMEngineStage`` does inside its actor, minus those stages; the actor's GPU share is the operator's
``resources.num_gpus`` in the pipeline YAML (0.5 with ``gpu_memory_utilization: 0.5`` puts two actors on one
GPU; Ray's stage reserves ``tensor_parallel_size`` whole GPUs unless given a placement-group config).

Images: vLLM >= 0.9.2 accepts a PIL image in a chat content part (``{"type": "image_pil", ...}``); older
releases take only URLs, so for them the image goes as a base64 ``data:`` URL (``image_url``), which every
release since the chat API's multimodal support parses.  The engine picks by looking for vLLM's
``CustomChatCompletionContentPILImageParam``.

Structured outputs (``VlmRequest.json_schema``): vLLM >= 0.10.2 takes
``SamplingParams(structured_outputs=StructuredOutputsParams(json=schema))``, older releases
``SamplingParams(guided_decoding=GuidedDecodingParams(json=schema))``; picked by which class
``vllm.sampling_params`` has.

Log-probabilities: ``SamplingParams(logprobs=0)`` asks for the sampled token's log-probability only
(``logprobs=N`` returns the N most likely tokens *plus* the sampled one, so 0 is the cheapest that gives what
the protocol needs).  vLLM's per-token ``decoded_token`` is each token decoded alone, which breaks a UTF-8
character split over two tokens (common for CJK text) into replacement characters; when those pieces do
not join to the output text, the pieces are rebuilt by incremental detokenisation with the engine's
tokenizer (:func:`token_pieces`), and cut where a stop string cut the text.  vLLM V1 reports the raw model
log-probabilities (before temperature and penalties) by default.

Failures: a request whose image does not decode gets an error response before the engine runs; when the
batched call itself raises (a prompt longer than ``max_model_len``, for instance) the requests are run one
by one so that only the failing ones get an error.  ``generate`` is serialised with a lock (``vllm.LLM`` is
not re-entrant).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from pydantic import Field

from docray.config import StrictModel
from docray.models.protocols import TokenLogprob, VlmRequest, VlmResponse
from docray.models.vlm_common import data_url, token_pieces
from docray.models.weights import model_folder

INSTALL_HINT = "the vllm VLM engine needs vLLM and a CUDA GPU: pip install 'docray[gpu]'"
ImageFormat = Literal["pil", "data_url"]


class VllmVlmOptions(StrictModel):
    """vLLM's offline engine over a local model folder (one engine per actor)."""

    kind: Literal["vllm"] = "vllm"
    model: str = Field(
        "models-dir:MinerU2.5-2509-1.2B", description="weight spec (models-dir:, wheel: or a path) of the model's folder"
    )
    gpu_memory_utilization: float = Field(
        0.5, gt=0, le=1, description="share of the GPU's memory vLLM takes (weights + KV cache); 0.5 lets two actors share"
    )
    max_model_len: int | None = Field(None, ge=1, description="context length (prompt + answer); None: the model's")
    max_num_seqs: int | None = Field(None, ge=1, description="sequences decoded at once; None: vLLM's default")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs one engine spans")
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field("auto", description="weights and activations")
    enforce_eager: bool = Field(False, description="no CUDA graphs: faster start, slower decoding")
    limit_images_per_prompt: int = Field(1, ge=1, description="images one prompt may carry (vLLM's limit_mm_per_prompt)")
    seed: int | None = Field(0, description="sampling seed (matters only for temperature > 0)")
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="more vllm.LLM arguments (e.g. mm_processor_kwargs); they win over the above"
    )


# --------------------------------------------------------------------------- pure builders


def image_part(image: bytes, image_format: ImageFormat = "data_url") -> dict[str, Any]:
    """One chat content part holding an encoded image: a decoded RGB PIL image, or a base64 ``data:`` URL.

    Raises (PIL's error) when the bytes are not an image, in both forms: the data-URL form opens the
    image's header so that a broken request fails here, alone, and not inside the engine's batch.
    """
    from PIL import Image

    if image_format == "pil":
        with Image.open(io.BytesIO(image)) as opened:
            return {"type": "image_pil", "image_pil": opened.convert("RGB")}
    with Image.open(io.BytesIO(image)):
        pass
    url = data_url(image)
    return {"type": "image_url", "image_url": {"url": url}}


def chat_messages(request: VlmRequest, system: str | None = None, image_format: ImageFormat = "data_url") -> list[dict]:
    """The OpenAI-style conversation of one request: an optional system message, then the image and the prompt.

    ``request.system`` wins over ``system`` (the engine's default); with neither, no system message is
    sent and the model's chat template supplies its own.
    """
    messages: list[dict] = []
    system_text = request.system if request.system is not None else system
    if system_text is not None:
        messages.append({"role": "system", "content": system_text})
    content = [image_part(request.image, image_format), {"type": "text", "text": request.prompt}]
    messages.append({"role": "user", "content": content})
    return messages


def sampling_kwargs(request: VlmRequest) -> dict[str, Any]:
    """``vllm.SamplingParams`` arguments of one request, without the structured-output part.

    ``logprobs=0``: the sampled token's log-probability only (see the module docstring); None when not asked.
    """
    return {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "repetition_penalty": request.repetition_penalty,
        "stop": list(request.stop) or None,
        "logprobs": 0 if request.logprobs else None,
        "skip_special_tokens": request.skip_special_tokens,
    }


def structured_kwargs(schema: dict | None, sampling_module: Any) -> dict[str, Any]:
    """The ``SamplingParams`` argument that constrains the answer to JSON of ``schema``, for this vLLM.

    ``sampling_module`` is ``vllm.sampling_params``: ``structured_outputs=StructuredOutputsParams(json=...)``
    where it has that class (vLLM >= 0.10.2), else ``guided_decoding=GuidedDecodingParams(json=...)``; {} when
    there is no schema or neither class.
    """
    if schema is None:
        return {}
    if hasattr(sampling_module, "StructuredOutputsParams"):
        return {"structured_outputs": sampling_module.StructuredOutputsParams(json=schema)}
    if hasattr(sampling_module, "GuidedDecodingParams"):
        return {"guided_decoding": sampling_module.GuidedDecodingParams(json=schema)}
    return {}


def engine_args(options: VllmVlmOptions, model_path: str | Path) -> dict[str, Any]:
    """The ``vllm.LLM`` keyword arguments of ``options`` for the model folder ``model_path``."""
    kwargs: dict[str, Any] = {
        "model": str(model_path),
        "tokenizer": str(model_path),
        "gpu_memory_utilization": options.gpu_memory_utilization,
        "tensor_parallel_size": options.tensor_parallel_size,
        "dtype": options.dtype,
        "enforce_eager": options.enforce_eager,
        "limit_mm_per_prompt": {"image": options.limit_images_per_prompt},
        "seed": options.seed,
    }
    if options.max_model_len is not None:
        kwargs["max_model_len"] = options.max_model_len
    if options.max_num_seqs is not None:
        kwargs["max_num_seqs"] = options.max_num_seqs
    kwargs.update(options.engine_kwargs)
    return kwargs


def fit_pieces(pieces: Sequence[str], text: str) -> list[str] | None:
    """``pieces`` cut to join exactly to ``text`` (a stop string cut the text short); None when they cannot."""
    joined = "".join(pieces)
    if joined == text:
        return list(pieces)
    if not joined.startswith(text):
        return None
    out: list[str] = []
    left = len(text)
    for piece in pieces:
        out.append(piece[:left])
        left -= len(out[-1])
    return out


def token_logprobs(
    text: str,
    logprobs: Sequence[float],
    decoded: Sequence[str | None],
    rebuild: Callable[[], list[str]] | None = None,
) -> tuple[TokenLogprob, ...]:
    """The response tokens of one output: vLLM's ``decoded`` pieces when they join to ``text``, else ``rebuild()``.

    ``logprobs`` and ``decoded`` are per generated token (the sampled token's log-probability and vLLM's
    ``decoded_token``); ``rebuild`` gives pieces by incremental detokenisation.  Empty when neither fits
    ``text`` (the contract is then "no log-probabilities", never tokens that do not join).
    """
    pieces = fit_pieces([d or "" for d in decoded], text)
    if pieces is None and rebuild is not None:
        pieces = fit_pieces(rebuild(), text)
    if pieces is None or len(pieces) != len(logprobs):
        return ()
    return tuple(TokenLogprob(token=p, logprob=float(lp)) for p, lp in zip(pieces, logprobs))


def error_response(message: str) -> VlmResponse:
    return VlmResponse(text="", finish_reason="error", error=message)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- the engine


def supports_pil_images() -> bool:
    """Whether this vLLM's chat parser accepts ``image_pil`` content parts (vLLM >= 0.9.2)."""
    try:
        from vllm.entrypoints import chat_utils
    except ImportError:
        return False
    return hasattr(chat_utils, "CustomChatCompletionContentPILImageParam")


class VllmVlm:
    """A :class:`~docray.models.protocols.VlmEngine` over ``vllm.LLM`` (one engine, owned by this object)."""

    def __init__(self, llm: Any, model_name: str, image_format: ImageFormat = "data_url", system: str | None = None):
        self._llm = llm
        self.model_name = model_name
        self.image_format: ImageFormat = image_format
        self.system = system
        self._lock = threading.Lock()
        self._tokenizer = None

    @classmethod
    def from_options(cls, options: VllmVlmOptions, threads: int = 1) -> VllmVlm:
        """Load the model into a new vLLM engine (``threads`` is unused: vLLM sizes its own CPU work)."""
        try:
            import vllm
        except ImportError as exc:
            raise ImportError(INSTALL_HINT) from exc
        folder = model_folder(options.model, group="vlm")
        llm = vllm.LLM(**engine_args(options, folder))
        return cls(llm, folder.name, "pil" if supports_pil_images() else "data_url")

    # ------------------------------------------------------------------ generation

    def _sampling_params(self, request: VlmRequest) -> Any:
        import vllm
        from vllm import sampling_params

        return vllm.SamplingParams(**sampling_kwargs(request), **structured_kwargs(request.json_schema, sampling_params))

    def _decode(self, ids: Sequence[int]) -> str:
        if self._tokenizer is None:
            self._tokenizer = self._llm.get_tokenizer()
        return self._tokenizer.decode(list(ids), skip_special_tokens=True)

    def _response(self, output: Any, want_logprobs: bool) -> VlmResponse:
        completion = output.outputs[0]
        text = completion.text
        tokens: tuple[TokenLogprob, ...] = ()
        if want_logprobs and completion.logprobs is not None:
            ids = list(completion.token_ids)
            try:  # the sampled token is always among a position's entries (logprobs=N adds it to the top N)
                entries = [completion.logprobs[i][token_id] for i, token_id in enumerate(ids)]
            except (IndexError, KeyError):
                entries = None  # a vLLM that reports otherwise: the answer stands without log-probabilities
            if entries is not None:
                tokens = token_logprobs(
                    text,
                    [entry.logprob for entry in entries],
                    [entry.decoded_token for entry in entries],
                    rebuild=lambda: token_pieces(self._decode, ids, self._decode(ids)),
                )
        reason = completion.finish_reason
        if reason not in ("stop", "length", None):  # "abort": the engine dropped the request
            return error_response(f"vLLM finished the request with {reason!r}")
        return VlmResponse(text=text, tokens=tokens, finish_reason="length" if reason == "length" else "stop")

    def _chat(self, conversations: list[list[dict]], params: list[Any]) -> list[Any]:
        return self._llm.chat(conversations, sampling_params=params, use_tqdm=False)

    def generate(self, requests: Sequence[VlmRequest]) -> list[VlmResponse]:
        """Answer every request, in order, with one batched ``LLM.chat`` call (see the module docstring)."""
        if self._llm is None:
            return [error_response("the vLLM engine is closed") for _ in requests]
        responses: list[VlmResponse | None] = [None] * len(requests)
        slots: list[int] = []
        conversations: list[list[dict]] = []
        params: list[Any] = []
        for i, request in enumerate(requests):
            try:
                conversation = chat_messages(request, self.system, self.image_format)
                param = self._sampling_params(request)
            except Exception as exc:  # a broken image or parameter fails its own request only
                responses[i] = error_response(_describe(exc))
                continue
            slots.append(i)
            conversations.append(conversation)
            params.append(param)
        if slots:
            with self._lock:
                outputs = self._run(conversations, params)
            for i, output in zip(slots, outputs):
                if isinstance(output, BaseException):
                    responses[i] = error_response(_describe(output))
                    continue
                try:
                    responses[i] = self._response(output, requests[i].logprobs)
                except Exception as exc:
                    responses[i] = error_response(_describe(exc))
        return [r if r is not None else error_response("no answer") for r in responses]

    def _run(self, conversations: list[list[dict]], params: list[Any]) -> list[Any]:
        """The engine's outputs in order; when the batch fails, each request alone (an exception as its output)."""
        try:
            outputs = list(self._chat(conversations, params))
        except Exception as exc:
            if len(conversations) == 1:
                return [exc]
            outputs = []
        if len(outputs) == len(conversations):
            return outputs
        results: list[Any] = []
        for conversation, param in zip(conversations, params):
            try:
                alone = self._chat([conversation], [param])
                results.append(alone[0] if len(alone) == 1 else RuntimeError(f"vLLM gave {len(alone)} outputs for 1"))
            except Exception as exc:
                results.append(exc)
        return results

    def close(self) -> None:
        """Shut the engine down and free its GPU memory (idempotent)."""
        llm, self._llm = self._llm, None
        self._tokenizer = None
        if llm is None:
            return
        engine = getattr(llm, "llm_engine", None)
        for owner, name in ((engine, "shutdown"), (getattr(engine, "engine_core", None), "shutdown")):
            shutdown = getattr(owner, name, None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception:
                    pass
                break
        del llm, engine
        import gc

        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
