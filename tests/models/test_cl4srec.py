"""CL4SRec: mask token, views as the ratios say, the contrastive term, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphrec.data.augment import AugmentConfig
from graphrec.data.batch import SeqBatch
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.losses import nt_xent
from graphrec.models import resolve
from graphrec.models.cl4srec import CL4SRec, CL4SRecConfig
from graphrec.models.context import ModelContext
from graphrec.models.sasrec import SASRec
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train.ddp_worker import make_dataset


def _batch() -> SeqBatch:
    inputs = torch.tensor([[0, 0, 3, 5, 7, 2, 4, 6, 8, 1],
                           [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                           [0, 0, 0, 0, 0, 0, 0, 0, 4, 9]])
    targets = torch.roll(inputs, -1, dims=1) * (inputs > 0)
    targets[:, -1] = torch.tensor([11, 11, 11])
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(3))


def _model(**kw: object) -> CL4SRec:
    torch.manual_seed(0)
    options: dict = {"num_items": 12, "hidden_size": 8, "max_len": 10, "dropout": 0.0}
    options.update(kw)
    return CL4SRec(**options)


def test_registry_mask_token_and_scoring_table() -> None:
    assert resolve("cl4srec") is CL4SRec
    model = _model()
    assert model.mask_id == 13 and model.embedding.item.weight.shape == (14, 8)
    assert model.item_embeddings().shape == (13, 8)  # the mask row never ranks
    scores = model.eval().score_all(_batch())
    assert scores.shape == (3, 13) and torch.isfinite(scores[:, 1:]).all()
    assert not model.supports_packing
    with pytest.raises(ValueError, match="similar-items"):
        _model(augment={"operations": ["insert"]})
    with pytest.raises(ValueError, match="unknown augmentation option"):
        _model(augment={"crop": 0.3})


@pytest.mark.parametrize("op", ["crop", "mask", "reorder"])
def test_views_differ_from_the_input_as_their_ratios_say(op: str) -> None:
    model = _model(augment={"operations": [op], "crop_ratio": 0.6, "mask_ratio": 0.5, "reorder_ratio": 0.5})
    batch = model.training_batch(_batch(), torch.Generator().manual_seed(0))
    n = (batch.input_ids > 0).sum(1)  # (B,) 8, 10, 2
    for key in ("view1", "view2"):
        view = batch.extras[key]
        assert view.shape == batch.input_ids.shape
        for row in range(3):
            original = batch.input_ids[row][batch.input_ids[row] > 0].tolist()
            items = view[row][view[row] > 0].tolist()
            if op == "crop":  # a contiguous window of max(1, floor(0.6 n)) items
                size = max(1, math.floor(0.6 * int(n[row])))
                assert len(items) == size
                assert any(original[s:s + size] == items for s in range(len(original) - size + 1))
            elif op == "mask":  # floor(0.5 n) items replaced by the mask token, the rest in place
                assert (view[row] == model.mask_id).sum().item() == math.floor(0.5 * int(n[row]))
                keep = view[row] != model.mask_id
                assert torch.equal(view[row][keep], batch.input_ids[row][keep])
            else:  # a permutation that moves at most floor(0.5 n) contiguous items
                assert sorted(items) == sorted(original)
                moved = [i for i, (a, b) in enumerate(zip(items, original)) if a != b]
                assert not moved or moved[-1] - moved[0] < math.floor(0.5 * int(n[row]))
    same = model.training_batch(_batch(), torch.Generator().manual_seed(0))
    assert torch.equal(same.extras["view1"], batch.extras["view1"])  # seeded


def test_terms_and_the_contrastive_term_is_nt_xent_of_the_last_states() -> None:
    model = _model(augment={"operations": ["mask"], "mask_ratio": 0.5}, cl_temperature=0.5).eval()
    batch = model.training_batch(_batch(), torch.Generator().manual_seed(1))
    terms = model.loss_terms(batch)
    assert set(terms) == {"rec", "cl"} and model.loss_unit("cl", batch) == "rows"
    assert model.loss_unit("rec", batch) == "positions"
    z1 = model.encode(batch.extras["view1"])[:, -1]
    z2 = model.encode(batch.extras["view2"])[:, -1]
    assert terms["cl"].item() == pytest.approx(nt_xent(z1, z2, 0.5).item(), rel=1e-5)
    with pytest.raises(ValueError, match="views"):
        model.loss_terms(_batch())


def test_trains_two_epochs_with_the_generic_trainer() -> None:
    split = LeaveOneOutSplit.build(make_dataset(num_users=60, num_items=30), max_len=8)
    torch.manual_seed(0)
    model = CL4SRec.from_context(ModelContext.from_split(split), hidden_size=8, dropout=0.1)
    cfg = TrainConfig(epochs=2, batch_size=16, progress=False, seed=0, loss_weights={"cl": 0.1})
    result = Trainer(model, split, cfg, evaluator=loo_evaluator(split)).fit()
    assert len(result["history"]) == 2
    for record in result["history"]:
        assert np.isfinite(record["loss"]) and np.isfinite(record["loss/cl"])


def test_options_are_one_config_and_augment_becomes_an_augment_config() -> None:
    model = _model(augment={"operations": ["mask"], "mask_ratio": 0.5})
    assert model.config.augment == AugmentConfig(operations=("mask",), mask_ratio=0.5)
    assert CL4SRecConfig().augment == AugmentConfig()
    config = CL4SRecConfig(hidden_size=8, max_len=10, dropout=0.0, cl_temperature=0.5)
    assert CL4SRec(12, config, cl_similarity="cos").config == CL4SRecConfig(
        hidden_size=8, max_len=10, dropout=0.0, cl_temperature=0.5, cl_similarity="cos")
    assert CL4SRec.config_keys() == [*SASRec.config_keys(), "augment", "cl_temperature", "cl_similarity",
                                     "cl_representation"]  # SASRec's options are not listed twice
    with pytest.raises(ValueError, match="cl_similarity"):
        CL4SRecConfig(cl_similarity="l2")
