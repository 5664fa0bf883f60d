"""S4Rec: the terms of every Table 3 variant, head/tail labels, gradient reversal, each term's equation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphrec.data.dataset import SequenceDataset
from graphrec.data.lengths import head_flags
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.user_split import UserSplit
from graphrec.eval.loo import loo_evaluator
from graphrec.losses import prototype_info_nce, self_distillation_kl, swapped_prediction
from graphrec.models import resolve
from graphrec.models.context import ModelContext
from graphrec.models.s4rec import VARIANTS, S4Rec, training_lengths
from graphrec.nn.prototypes import KMeansIntents, Prototypes
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer
from tests.train.ddp_worker import make_dataset, train_state

TERMS = {
    "full": {"rec", "clust", "scl", "ckd", "adv"},
    "sr": {"rec"},
    "sr_csd": {"rec", "scl", "ckd"},
    "kmeans": {"rec", "scl", "ckd", "adv"},
    "no_csd": {"rec", "clust", "adv"},
    "no_gr": {"rec", "clust", "scl", "ckd"},
}


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(make_dataset(num_users=60, num_items=30), max_len=8)


def _model(split: LeaveOneOutSplit, seed: int = 0, **kw: Any) -> S4Rec:
    torch.manual_seed(seed)
    options: dict[str, Any] = {"hidden_size": 8, "dropout": 0.0, "num_prototypes": 4}
    options.update(kw)
    return S4Rec.from_context(ModelContext.from_split(split), **options)  # type: ignore[return-value]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_returns_exactly_its_terms(split: LeaveOneOutSplit, variant: str) -> None:
    model = _model(split, variant=variant)
    model.on_epoch_start(train_state(split))
    batch = model.training_batch(split.train_batch(np.arange(16)), torch.Generator().manual_seed(0))
    assert ("view1" in batch.extras) == (variant != "sr")
    terms = model.loss_terms(batch)
    assert set(terms) == TERMS[variant] == set(model.terms())
    assert all(torch.isfinite(v) and v.dim() == 0 for v in terms.values())
    assert all(model.loss_unit(t, batch) == "rows" for t in terms if t != "rec")
    kinds = {"full": Prototypes, "no_csd": Prototypes, "no_gr": Prototypes,
             "kmeans": KMeansIntents, "sr_csd": KMeansIntents}
    assert isinstance(model.prototypes, kinds.get(variant, type(None)))
    assert (model.classifier is not None) == ("adv" in TERMS[variant])


def test_registry_and_options(split: LeaveOneOutSplit) -> None:
    assert resolve("s4rec") is S4Rec
    with pytest.raises(ValueError, match="variant"):
        _model(split, variant="nope")
    with pytest.raises(ValueError, match="cluster_views"):
        _model(split, cluster_views="both")
    with pytest.raises(ValueError, match="cl_similarity"):
        _model(split, cl_similarity="dot")
    assert "train_lengths" not in S4Rec.config_keys()  # data, not an option
    model = S4Rec.from_config(20, hidden_size=8, num_prototypes=4)  # no data: no head labels
    batch = split.train_batch(np.arange(4))
    batch.input_ids.clamp_(max=20)
    batch.target_ids.clamp_(max=20)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="train_lengths"):
        model.loss_terms(model.training_batch(batch, torch.Generator().manual_seed(0)))


def test_head_labels_come_from_the_training_part_per_user(split: LeaveOneOutSplit) -> None:
    lengths = training_lengths(split)
    n = np.diff(split.dataset.indptr)
    trained = np.zeros(len(n), dtype=bool)
    trained[split.train_users] = True
    assert np.array_equal(lengths[trained], np.where(n >= 3, n - 2, n)[trained])  # LOO: s[:-2]
    assert (lengths[~trained] == 0).all()
    model = _model(split)
    assert torch.equal(model.head, head_flags(lengths, 0.2))
    assert 0.2 <= model.head.float().sum().item() / trained.sum() < 0.5
    users = SequenceDataset.from_sequences([[1, 2, 3, 4, 5, 6], [1, 2], [3, 4, 5]] * 10, num_items=6)
    user_split = UserSplit.build(users, max_len=4, seed=0)
    user_lengths = training_lengths(user_split)
    train_users = np.unique(user_split.train_users)
    assert np.array_equal(user_lengths[train_users], np.diff(users.indptr)[train_users])


def test_terms_follow_their_equations(split: LeaveOneOutSplit) -> None:
    model = _model(split, cl_temperature=0.5, distill_temperature=0.7, cluster_temperature=0.2).eval()
    batch = model.training_batch(split.train_batch(np.arange(20)), torch.Generator().manual_seed(2))
    terms = model.loss_terms(batch)
    z = F.normalize(model.encode(batch.input_ids)[:, -1], dim=-1)
    z1 = F.normalize(model.encode(batch.extras["view1"])[:, -1], dim=-1)
    z2 = F.normalize(model.encode(batch.extras["view2"])[:, -1], dim=-1)
    assert isinstance(model.prototypes, Prototypes)
    mu = model.prototypes()
    h = (z @ mu.T).argmax(1)  # h(u): the nearest prototype of the original sequence
    assert terms["clust"].item() == pytest.approx(swapped_prediction(z1, z2, mu, 0.2).item(), rel=1e-4)
    scl = prototype_info_nce(z1, z2, mu, h, 0.5) + prototype_info_nce(z2, z1, mu, h, 0.5)
    assert terms["scl"].item() == pytest.approx(scl.item(), rel=1e-4)
    ckd = self_distillation_kl(mu[h], z1, 0.7) + self_distillation_kl(mu[h], z2, 0.7)
    assert terms["ckd"].item() == pytest.approx(ckd.item(), rel=1e-4)
    assert model.classifier is not None
    labels = model.head[batch.user_ids].long()
    assert terms["adv"].item() == pytest.approx(F.cross_entropy(model.classifier(z), labels).item(), rel=1e-5)
    original = _model(split, variant="no_csd", cluster_views="original").eval()
    batch = original.training_batch(split.train_batch(np.arange(20)), torch.Generator().manual_seed(2))
    assert "view1" not in batch.extras  # no term needs views
    z = F.normalize(original.encode(batch.input_ids)[:, -1], dim=-1)
    assert isinstance(original.prototypes, Prototypes)
    expected = swapped_prediction(z, z, original.prototypes(), 0.1)
    assert original.loss_terms(batch)["clust"].item() == pytest.approx(expected.item(), rel=1e-4)


@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_the_encoder_gets_the_reversed_adversarial_gradient(split: LeaveOneOutSplit, lam: float) -> None:
    model = _model(split, variant="no_csd", grl_lambda=lam)
    batch = model.training_batch(split.train_batch(np.arange(16)), torch.Generator().manual_seed(0))
    model.loss_terms(batch)["adv"].backward()
    assert model.classifier is not None and model.classifier.linear.weight.grad is not None
    assert model.classifier.linear.weight.grad.abs().sum() > 0
    encoder_grad = sum(float(p.grad.abs().sum()) for p in model.encoder.parameters() if p.grad is not None)
    assert (encoder_grad > 0) == (lam > 0)


def test_kmeans_variant_refits_its_intents_at_epoch_start(split: LeaveOneOutSplit) -> None:
    model = _model(split, variant="kmeans")
    assert isinstance(model.prototypes, KMeansIntents) and not bool(model.prototypes.fitted)
    model.on_epoch_start(train_state(split))
    assert bool(model.prototypes.fitted)
    assert torch.allclose(model.prototypes.centroids.norm(dim=1), torch.ones(4))
    assert "prototypes.centroids" in model.state_dict()
    assert not any(p is model.prototypes.centroids for p in model.parameters())
    model.reset_parameters()
    assert not bool(model.prototypes.fitted) and not model.prototypes.centroids.any()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_trains_two_epochs(split: LeaveOneOutSplit, variant: str) -> None:
    model = _model(split, variant=variant, dropout=0.1)
    weights = {"clust": 0.01, "scl": 0.1, "ckd": 0.1, "adv": 1.0}
    cfg = TrainConfig(epochs=2, batch_size=16, progress=False, seed=0,
                      loss_weights={k: v for k, v in weights.items() if k in TERMS[variant]})
    result = Trainer(model, split, cfg, evaluator=loo_evaluator(split)).fit()
    assert len(result["history"]) == 2
    for record in result["history"]:
        assert {k[5:] for k in record if k.startswith("loss/")} == TERMS[variant]
        assert all(np.isfinite(record[f"loss/{t}"]) for t in TERMS[variant])


def test_appendix_a_views_train_through_the_context() -> None:
    from graphrec.data.load import load_dataset
    from graphrec.data.loo import LeaveOneOutSplit
    from graphrec.models.context import ModelContext
    from graphrec.models.s4rec import S4Rec

    split = LeaveOneOutSplit.build(load_dataset("synthetic", num_users=40, num_items=30), max_len=10)
    augment = {"operations": ["span_crop", "mask", "reorder", "random_insert"], "span_crop_ratio": 0.8}
    model = S4Rec.from_context(ModelContext.from_split(split), hidden_size=8, augment=augment,
                               num_prototypes=4)
    batch = model.training_batch(split.train_batch(np.arange(16)), torch.Generator().manual_seed(0))
    pool = set(split.train_inputs[split.train_inputs > 0].tolist()) | set(
        split.train_targets[split.train_targets > 0].tolist())
    for view in (batch.extras["view1"], batch.extras["view2"]):
        extra = set(view[view > 0].tolist()) - set(batch.input_ids[batch.input_ids > 0].tolist())
        assert extra <= pool | {model.mask_id}  # inserted items come from the training histories
    terms = model.loss_terms(batch)
    assert all(torch.isfinite(v) for v in terms.values())
    alone = S4Rec(30, hidden_size=8, augment=augment, num_prototypes=4)  # without the context: no pool
    with pytest.raises(ValueError, match="random_insert"):
        for seed in range(8):  # some row draws random_insert
            alone.training_batch(split.train_batch(np.arange(16)), torch.Generator().manual_seed(seed))
