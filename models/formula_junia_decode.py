"""Batched greedy decoding for :class:`.formula_junia_net.FormulaNet`, with a KV cache or (reference) without.

Every sequence starts with ``bos``; at each step the banned tokens (padding, ``bos``) get ``-inf`` and the most
likely token is taken, as the original package's greedy search does.  A sequence stops at its ``eos`` (which is
not returned) or after ``max_tokens`` tokens.  Finished sequences leave the batch, so a batch costs the steps of
its longest formula but the work of the tokens actually decoded.

With ``use_cache`` each step feeds one token per sequence: self-attention keys/values are kept per layer and the
cross-attention keys/values of each image are computed once.  Without it every step re-runs the decoder on the
whole prefix (the original package's way, quadratic in length) — kept as the reference the cached path is tested
against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from docray.models.formula_junia_net import FormulaNet


@dataclass(frozen=True, slots=True)
class Decoded:
    tokens: list[int]  # without bos and eos
    probabilities: list[float]  # one per decoded token, the final eos included when it was reached

    @property
    def score(self) -> float:
        return sum(self.probabilities) / len(self.probabilities) if self.probabilities else 0.0


def greedy_decode(
    net: FormulaNet,
    images: torch.Tensor,
    *,
    bos: int,
    eos: int,
    banned: Sequence[int] = (),
    max_tokens: int,
    use_cache: bool = True,
) -> list[Decoded]:
    """Greedy token ids of each image of ``images`` [B, 1, H, W]."""
    steps = max(0, min(max_tokens, net.config.max_length - 1))
    memory = net.encode(images)
    batch = images.shape[0]
    tokens: list[list[int]] = [[] for _ in range(batch)]
    probabilities: list[list[float]] = [[] for _ in range(batch)]
    ban = torch.tensor(sorted(set(banned)), dtype=torch.long, device=images.device)
    active = torch.arange(batch, device=images.device)  # original row of each row still decoding
    last = torch.full((batch,), bos, dtype=torch.long, device=images.device)
    prefix = last[:, None]  # the uncached path's whole input
    caches = net.start_cache(memory, steps) if use_cache else None
    for position in range(steps):
        if caches is not None:
            logits = net.step(last, caches, position)
        else:
            logits = net.logits(prefix, memory)[:, -1]
        logits = logits.float()
        if ban.numel():
            logits.index_fill_(1, ban, float("-inf"))
        best_prob, best = logits.softmax(dim=-1).max(dim=-1)
        done = best.eq(eos)
        for row, token, prob, stop in zip(active.tolist(), best.tolist(), best_prob.tolist(), done.tolist()):
            probabilities[row].append(prob)
            if not stop:
                tokens[row].append(token)
        keep = (~done).nonzero().flatten()
        if keep.numel() == 0:
            break
        if keep.numel() < done.numel():  # drop finished sequences from the batch
            active, best = active[keep], best[keep]
            if caches is not None:
                caches = [cache.select(keep) for cache in caches]
            else:
                prefix, memory = prefix[keep], memory[keep]
        last = best
        if caches is None:
            prefix = torch.cat([prefix, best[:, None]], dim=1)
    return [Decoded(tokens[row], probabilities[row]) for row in range(batch)]
