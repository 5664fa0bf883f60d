"""DSSRec and DSIE: batch steps, losses, ablation terms, shuffle invariance, two trainer epochs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphrec.data.augment import item_shuffle
from graphrec.data.batch import SeqBatch
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.synthetic import generate_synthetic
from graphrec.data.user_split import UserSplit
from graphrec.losses import (
    confidence_mask,
    disentangled_seq2item,
    latent_seq2seq_loss,
    latent_seq2seq_losses,
)
from graphrec.models import resolve
from graphrec.models.context import ModelContext
from graphrec.models.dsie import DSIE
from graphrec.models.dssrec import FUTURE_KEY, TARGET_KEY, DSSRec, split_point_batch
from graphrec.protocols import resolve_protocol
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer


@pytest.fixture(scope="module")
def data() -> Any:
    return generate_synthetic(num_users=60, num_items=40, num_categories=9, num_intents=3, mean_length=8,
                              max_length=30, seed=0)


def test_registry() -> None:
    assert resolve("dssrec") is DSSRec and resolve("dsie") is DSIE


def test_split_point_batch_prefix_target_and_reversed_future() -> None:
    inputs = torch.tensor([[0, 0, 1, 2, 3], [4, 5, 6, 7, 8], [0, 0, 0, 0, 0]])
    targets = torch.tensor([[0, 0, 2, 3, 9], [5, 6, 7, 8, 10], [0, 0, 0, 0, 0]])
    batch = SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(3))
    full = {0: [1, 2, 3, 9], 1: [4, 5, 6, 7, 8, 10]}
    seen = set()
    for seed in range(20):
        out = split_point_batch(batch, torch.Generator().manual_seed(seed))
        assert out.user_ids.tolist() == [0, 1]  # the empty row is dropped
        for row, user in enumerate(out.user_ids.tolist()):
            prefix = [int(x) for x in out.input_ids[row] if x > 0]
            future = [int(x) for x in out.extras[FUTURE_KEY][row] if x > 0]
            assert out.input_ids[row, -1] > 0 and out.extras[FUTURE_KEY][row, -1] > 0  # left-padded
            assert future[-1] == int(out.extras[TARGET_KEY][row])  # newest column = x_{t+1}
            assert prefix + future[::-1] == full[user]
            seen.add((user, len(prefix)))
    assert {(0, n) for n in (1, 2, 3)} | {(1, n) for n in range(1, 6)} == seen  # every split point drawn


def test_seq2item_with_one_intention_is_in_batch_softmax() -> None:
    torch.manual_seed(0)
    phi, items = torch.randn(4, 1, 8), torch.randn(4, 8)
    expected = F.cross_entropy(phi[:, 0] @ items.T / 8**0.5, torch.arange(4))
    torch.testing.assert_close(disentangled_seq2item(phi, items), expected)
    phi2 = torch.cat([phi, phi - 100.0], dim=1)  # a useless second intention changes only the denominator
    assert disentangled_seq2item(phi2, items) >= expected - 1e-6


def test_confidence_mask_keeps_exactly_the_fraction_with_the_smallest_loss() -> None:
    torch.manual_seed(0)
    losses = torch.rand(8, 4)
    for ratio, kept in ((0.25, 8), (0.1, 4), (0.5, 16), (1.0, 32)):  # ceil(ratio * 32)
        mask = confidence_mask(losses, ratio)
        assert int(mask.sum()) == kept
        assert losses[mask].max() <= losses[~mask].min() if kept < 32 else True
    with pytest.raises(ValueError):
        confidence_mask(losses, 0.0)


def test_seq2seq_loss_is_the_mean_over_the_kept_samples_and_selection_has_no_gradient() -> None:
    torch.manual_seed(0)
    phi, psi = torch.randn(5, 3, 8, requires_grad=True), torch.randn(5, 3, 8)
    per = latent_seq2seq_losses(phi, psi)
    assert per.shape == (5, 3)
    diag = (phi.reshape(15, 8) @ psi.reshape(15, 8).T / 8**0.5)
    torch.testing.assert_close(per.flatten(), F.cross_entropy(diag, torch.arange(15), reduction="none"))
    loss = latent_seq2seq_loss(phi, psi, keep_ratio=0.2)
    torch.testing.assert_close(loss, per.flatten().sort().values[:3].mean())
    loss.backward()
    assert phi.grad is not None and torch.isfinite(phi.grad).all()


def test_dsie_global_scale_is_shuffle_invariant_without_its_order_sensitive_parts(data: Any) -> None:
    split = UserSplit.build(data, max_len=10, seed=0)
    torch.manual_seed(0)
    model = DSIE.from_context(ModelContext.from_split(split), hidden_size=8, num_negatives=8, kernel_size=1,
                              global_positions=False).eval()
    ids = split.eval_batch("test", np.arange(split.num_eval_rows("test"))).input_ids
    shuffled = item_shuffle(ids, torch.Generator().manual_seed(1))
    assert not torch.equal(shuffled, ids)
    with torch.no_grad():
        torch.testing.assert_close(model.inherent_preference(shuffled), model.inherent_preference(ids))
        ordered = DSIE.from_context(ModelContext.from_split(split), hidden_size=8, num_negatives=8).eval()
        assert not torch.allclose(ordered.inherent_preference(shuffled), ordered.inherent_preference(ids))


def _fit(model: Any, split: Any, protocol: str, weights: dict[str, float] | None = None) -> dict[str, Any]:
    if protocol == "user":
        spec = resolve_protocol("user")

        def evaluator(m: Any, which: str) -> dict[str, Any]:
            return spec.evaluate(m, split, which, batch_size=64, mask_history=False,
                                 device=torch.device("cpu"), shard=False, ns=(20,))

        cfg = TrainConfig(epochs=2, batch_size=16, progress=False, seed=0, metric="Recall@20",
                          loss_weights=weights or {})
        return Trainer(model, split, cfg, evaluator=evaluator).fit()
    cfg = TrainConfig(epochs=2, batch_size=16, progress=False, seed=0, loss_weights=weights or {})
    return Trainer(model, split, cfg).fit()


def _check_terms(result: dict[str, Any], expected: set[str]) -> None:
    assert len(result["history"]) == 2
    for record in result["history"]:
        assert {k[5:] for k in record if k.startswith("loss/")} == expected
        assert all(np.isfinite(record[f"loss/{t}"]) for t in expected)


@pytest.mark.parametrize("options,expected", [
    ({}, {"rec", "s2s"}),
    ({"seq2seq": False}, {"rec"}),
    ({"keep_ratio": 1.0}, {"rec", "s2s"}),
    ({"num_intents": 1}, {"rec", "s2s"}),
])
def test_dssrec_trains_two_epochs_under_loo(data: Any, options: dict[str, Any], expected: set[str]) -> None:
    split = LeaveOneOutSplit.build(data, max_len=10)
    torch.manual_seed(0)
    model = DSSRec.from_context(ModelContext.from_split(split), hidden_size=8, **options)
    assert isinstance(model, DSSRec) and set(model.terms()) == expected
    result = _fit(model, split, "loo")
    _check_terms(result, expected)
    assert 0.0 <= result["test"]["NDCG@10"] <= 1.0
    batch = split.eval_batch("test", np.arange(4))
    assert model.interests(batch).shape == (4, options.get("num_intents", 4), 8)


@pytest.mark.parametrize("protocol", ["user", "loo"])
@pytest.mark.parametrize("options,expected", [
    ({}, {"rec", "cl", "orth"}),
    ({"contrastive": False}, {"rec", "orth"}),
    ({"use_global": False, "contrastive": False}, {"rec", "orth"}),
    ({"num_interests": 1, "temperature": 1.0}, {"rec", "cl"}),
    ({"readout": "interests"}, {"rec", "cl", "orth"}),
])
def test_dsie_trains_two_epochs(data: Any, protocol: str, options: dict[str, Any],
                                expected: set[str]) -> None:
    split = UserSplit.build(data, max_len=10, seed=0) if protocol == "user" else LeaveOneOutSplit.build(
        data, max_len=10)
    torch.manual_seed(0)
    model = DSIE.from_context(ModelContext.from_split(split), hidden_size=8, num_negatives=16, **options)
    assert isinstance(model, DSIE) and set(model.terms()) == expected
    weights = {k: v for k, v in {"cl": 0.1, "orth": 0.1}.items() if k in expected}
    _check_terms(_fit(model, split, protocol, weights), expected)


def test_dsie_refuses_contrast_without_global_scale() -> None:
    with pytest.raises(ValueError, match="global"):
        DSIE(10, use_global=False)
