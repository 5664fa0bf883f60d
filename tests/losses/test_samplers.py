"""Negative samplers: log-probabilities and draws."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.losses import candidate_log_probs, sample_candidates


def test_candidate_log_probs() -> None:
    uniform = candidate_log_probs(4, "uniform")
    assert uniform[0] == float("-inf") and torch.allclose(uniform[1:].exp(), torch.full((4,), 0.25))
    by_id = candidate_log_probs(4, "log_uniform").exp()
    expected = torch.tensor([math.log((r + 2) / (r + 1)) / math.log(5) for r in range(4)])
    assert torch.allclose(by_id[1:], expected) and by_id.sum() == pytest.approx(1.0, abs=1e-6)
    counts = torch.tensor([0, 1, 9, 5, 9])  # ranks: item 2 (first of the tie), 4, 3, 1
    ranked = candidate_log_probs(4, "log_uniform", counts).exp()
    assert torch.allclose(ranked[[2, 4, 3, 1]], expected)
    drawn = sample_candidates(candidate_log_probs(4, "log_uniform", counts), 4000,
                              torch.Generator().manual_seed(0))
    freq = torch.bincount(drawn, minlength=5).double() / 4000
    assert freq[0] == 0 and torch.allclose(freq[1:], ranked[1:].double(), atol=0.03)
    with pytest.raises(ValueError, match="sampler"):
        candidate_log_probs(4, "zipf")
