"""The latex-ocr-junia network in plain torch: a ViT encoder over grey patches and a pre-norm transformer decoder.

Parameter names equal the ``model_state_dict`` of the checkpoint shipped in the ``latex-ocr-junia`` wheel, so it
loads with ``load_state_dict(strict=True)``.  Shapes (real weights): input [B, 1, 128, 512], patch 8 -> 1024 patch
tokens of width 256, 4 encoder and 4 decoder layers, 8 heads, MLP 1024, 512 learned decoder positions, 166
character tokens.  Layer norms use eps 1e-6, MLPs exact GELU; attention projections are packed as
``in_proj_weight`` [3D, D] (query, key, value rows) and ``out_proj`` like ``torch.nn.MultiheadAttention``.

Decoding lives in :mod:`.formula_junia_decode`; this module only holds the layers and their cached step.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-6


@dataclass(frozen=True)
class NetConfig:
    """The architecture numbers of a checkpoint (the ``config`` dict saved next to its weights)."""

    image_height: int = 128
    image_width: int = 512
    patch_size: int = 8
    d_model: int = 256
    num_heads: int = 8
    num_encoder_layers: int = 4
    num_decoder_layers: int = 4
    mlp_dim: int = 1024
    max_length: int = 512
    vocab_size: int = 166
    pad_token_id: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NetConfig:
        """Keep the known keys (training-only ones such as ``dropout`` are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: int(value) for key, value in values.items() if key in known})


class Attention(nn.Module):
    """Multi-head attention with packed input projections; returns [B, Lq, D]."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(3 * d_model, d_model)))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

    def project(self, x: torch.Tensor, part: slice) -> torch.Tensor:
        """Rows ``part`` of the packed projection (one or more of query, key, value), not split into heads."""
        return F.linear(x, self.in_proj_weight[part], self.in_proj_bias[part])

    def keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of ``memory`` [B, L, D], split into heads [B, H, L, D/H]."""
        width = memory.shape[-1]
        key, value = self.project(memory, slice(width, 3 * width)).split(width, dim=-1)
        return self._split(key), self._split(value)

    def attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, causal: bool = False) -> torch.Tensor:
        """``query`` [B, Lq, D] (projected, not split) against split keys/values."""
        out = F.scaled_dot_product_attention(self._split(query), key, value, is_causal=causal)
        batch, _, length, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, -1))

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        width = x.shape[-1]
        key, value = self.keys_values(x if memory is None else memory)
        return self.attend(self.project(x, slice(0, width)), key, value, causal)


def mlp(d_model: int, hidden: int) -> nn.Sequential:
    # indices 0 and 3 carry weights in the checkpoint (1: GELU, 2: a dropout slot)
    return nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Identity(), nn.Linear(hidden, d_model))


class PatchEmbed(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        size = config.patch_size
        patches = (config.image_height // size) * (config.image_width // size)
        self.proj = nn.Conv2d(1, config.d_model, kernel_size=size, stride=size)
        self.pos_emb = nn.Parameter(torch.zeros(1, patches, config.d_model))
        self.norm = nn.LayerNorm(config.d_model, eps=EPS)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.proj(images).flatten(2).transpose(1, 2)
        return self.norm(x + self.pos_emb)


class EncoderBlock(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model, eps=EPS)
        self.attn = Attention(config.d_model, config.num_heads)
        self.norm2 = nn.LayerNorm(config.d_model, eps=EPS)
        self.mlp = mlp(config.d_model, config.mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TokenEmbed(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        self.token_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.max_length, config.d_model)
        self.norm = nn.LayerNorm(config.d_model, eps=EPS)

    def forward(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        positions = torch.arange(start, start + tokens.shape[1], device=tokens.device)
        return self.norm(self.token_emb(tokens) + self.pos_emb(positions)[None])


class DecoderBlock(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        self.self_norm = nn.LayerNorm(config.d_model, eps=EPS)
        self.self_attn = Attention(config.d_model, config.num_heads)
        self.cross_norm = nn.LayerNorm(config.d_model, eps=EPS)
        self.cross_attn = Attention(config.d_model, config.num_heads)
        self.ffn_norm = nn.LayerNorm(config.d_model, eps=EPS)
        self.ffn = mlp(config.d_model, config.mlp_dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """The whole prefix at once (causal self-attention): the uncached reference path."""
        x = x + self.self_attn(self.self_norm(x), causal=True)
        x = x + self.cross_attn(self.cross_norm(x), memory)
        return x + self.ffn(self.ffn_norm(x))

    def step(self, x: torch.Tensor, cache: LayerCache, position: int) -> torch.Tensor:
        """One new token per sequence, ``x`` [B, 1, D]: its key/value go into ``cache`` at ``position``."""
        width = x.shape[-1]
        attn = self.self_attn
        query, key, value = attn.project(self.self_norm(x), slice(0, 3 * width)).split(width, dim=-1)
        cache.keys[:, :, position] = attn._split(key)[:, :, 0]
        cache.values[:, :, position] = attn._split(value)[:, :, 0]
        x = x + attn.attend(query, cache.keys[:, :, : position + 1], cache.values[:, :, : position + 1])
        query = self.cross_attn.project(self.cross_norm(x), slice(0, width))
        x = x + self.cross_attn.attend(query, cache.memory_keys, cache.memory_values)
        return x + self.ffn(self.ffn_norm(x))


@dataclass
class LayerCache:
    """One decoder layer's state: self-attention keys/values so far and the image's cross-attention keys/values."""

    keys: torch.Tensor  # [B, H, steps, D/H], filled up to the current position
    values: torch.Tensor
    memory_keys: torch.Tensor  # [B, H, patches, D/H], computed once per image
    memory_values: torch.Tensor

    def select(self, rows: torch.Tensor) -> LayerCache:
        return LayerCache(
            *(t.index_select(0, rows) for t in (self.keys, self.values, self.memory_keys, self.memory_values))
        )


class FormulaNet(nn.Module):
    """Encoder and decoder; module names follow the checkpoint's state dict."""

    def __init__(self, config: NetConfig):
        super().__init__()
        if config.image_height % config.patch_size or config.image_width % config.patch_size:
            raise ValueError(
                f"image {config.image_height}x{config.image_width} is not a multiple of patch {config.patch_size}"
            )
        if config.d_model % config.num_heads:
            raise ValueError(f"d_model {config.d_model} is not a multiple of num_heads {config.num_heads}")
        self.config = config
        self.patch_embed = PatchEmbed(config)
        self.encoder_blocks = nn.ModuleList(EncoderBlock(config) for _ in range(config.num_encoder_layers))
        self.encoder_norm = nn.LayerNorm(config.d_model, eps=EPS)
        self.decoder_embed = TokenEmbed(config)
        self.decoder_blocks = nn.ModuleList(DecoderBlock(config) for _ in range(config.num_decoder_layers))
        self.decoder_norm = nn.LayerNorm(config.d_model, eps=EPS)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 1, H, W] in 0..1 -> patch features [B, patches, D]."""
        x = self.patch_embed(images)
        for block in self.encoder_blocks:
            x = block(x)
        return self.encoder_norm(x)

    def logits(self, tokens: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """Next-token logits [B, L, V] for every prefix of ``tokens`` [B, L] (no cache)."""
        x = self.decoder_embed(tokens)
        for block in self.decoder_blocks:
            x = block(x, memory)
        return self.lm_head(self.decoder_norm(x))

    def start_cache(self, memory: torch.Tensor, steps: int) -> list[LayerCache]:
        """Empty self-attention caches for ``steps`` positions and the cross-attention keys/values of ``memory``."""
        batch, heads = memory.shape[0], self.config.num_heads
        shape = (batch, heads, steps, self.config.d_model // heads)
        caches = []
        for block in self.decoder_blocks:
            memory_keys, memory_values = block.cross_attn.keys_values(memory)
            caches.append(LayerCache(memory.new_zeros(shape), memory.new_zeros(shape), memory_keys, memory_values))
        return caches

    def step(self, tokens: torch.Tensor, caches: list[LayerCache], position: int) -> torch.Tensor:
        """Logits [B, V] after feeding ``tokens`` [B] at ``position``, updating ``caches``."""
        x = self.decoder_embed(tokens[:, None], start=position)
        for block, cache in zip(self.decoder_blocks, caches):
            x = block.step(x, cache, position)
        return self.lm_head(self.decoder_norm(x))[:, 0]


def load_net(weights: str, config_file: str | None = None, device: str = "cpu") -> FormulaNet:
    """The network from a checkpoint: a dict with ``model_state_dict`` and ``config``, or a bare state dict whose
    architecture comes from ``config_file`` (the wheel's ``model_config.json``)."""
    import json

    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    state = checkpoint.get("model_state_dict", checkpoint)
    values = checkpoint.get("config") if isinstance(checkpoint.get("config"), dict) else None
    if values is None:
        if config_file is None:
            raise ValueError(f"{weights} has no 'config'; pass the model_config.json that describes it")
        with open(config_file, encoding="utf-8") as handle:
            values = json.load(handle)
    net = FormulaNet(NetConfig.from_dict(values))
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)
