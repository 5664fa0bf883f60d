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
from graphrec.data.synthetic import generate_synthetic, generate_synthetic_with_truth
from graphrec.data.user_split import UserSplit
from graphrec.distributed import DistInfo, loss_scale
from graphrec.eval.loo import loo_evaluator
from graphrec.experiment.protocols import resolve_protocol
from graphrec.losses import (
    confidence_mask,
    disentangled_seq2item,
    latent_seq2seq_loss,
    latent_seq2seq_losses,
    max_interest_full_ce,
)
from graphrec.models import resolve
from graphrec.models.context import ModelContext
from graphrec.models.dsie import DSIE
from graphrec.models.dssrec import (
    FUTURE_KEY,
    SAMPLES_UNIT,
    TARGET_KEY,
    DSSRec,
    reversed_futures,
    split_point_batch,
)
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


def _real(ids: torch.Tensor) -> list[int]:
    return [int(x) for x in ids if x > 0]


def _hand_made_rows() -> SeqBatch:
    inputs = torch.tensor([[0, 0, 1, 2, 3], [4, 5, 6, 7, 8], [0, 0, 0, 0, 0]])
    targets = torch.tensor([[0, 0, 2, 3, 9], [5, 6, 7, 8, 10], [0, 0, 0, 0, 0]])
    return SeqBatch(input_ids=inputs, target_ids=targets, user_ids=torch.arange(3))


def test_reversed_futures_pair_every_split_point_with_its_future() -> None:
    batch = _hand_made_rows()
    assert batch.target_ids is not None
    split, reversed_ids, mirror = reversed_futures(batch.input_ids, batch.target_ids)
    assert split.tolist() == (batch.input_ids > 0).tolist()
    assert reversed_ids.tolist() == [[0, 0, 9, 3, 2], [10, 8, 7, 6, 5], [0, 0, 0, 0, 0]]
    full = {0: [1, 2, 3, 9], 1: [4, 5, 6, 7, 8, 10]}
    first = {0: 2, 1: 0}  # column of x_1
    for row, col in split.nonzero().tolist():
        t = col - first[row] + 1  # the split's prefix is x_{1:t}
        assert _real(batch.input_ids[row, : col + 1]) == full[row][:t]
        assert _real(reversed_ids[row, : int(mirror[row, col]) + 1]) == full[row][t:][::-1]  # x_T..x_{t+1}
        assert int(reversed_ids[row, mirror[row, col]]) == int(batch.target_ids[row, col])  # newest: x_{t+1}
    # the "one" path's future of a drawn split is the same reversed prefix
    seen = set()
    for seed in range(20):
        out = split_point_batch(batch, torch.Generator().manual_seed(seed))
        for r, user in enumerate(out.user_ids.tolist()):
            col = first[user] + len(_real(out.input_ids[r])) - 1
            assert _real(out.extras[FUTURE_KEY][r]) == _real(reversed_ids[user, : int(mirror[user, col]) + 1])
            seen.add((user, col))
    assert seen == {tuple(x) for x in split.nonzero().tolist()}
    with pytest.raises(ValueError, match="suffix"):  # a hole in a row's targets
        reversed_futures(batch.input_ids, batch.target_ids * (torch.arange(5) != 3))


def _model_without_positions() -> DSSRec:
    torch.manual_seed(0)
    model = DSSRec(12, hidden_size=8, max_len=6, dropout=0.0).eval()
    with torch.no_grad():
        model.embedding.position.weight.zero_()
        model.disentangle.position.zero_()
    return model


def test_all_split_points_equal_the_one_split_encodings_up_to_positions() -> None:
    """One pass over the row and one over its reversed targets give, at every split point, the
    phi of the prefix and the psi of the future that the "one" path encodes as sequences of their
    own: exactly, once the positions (the only difference: a prefix keeps its window's
    positions) are zero. With positions, the last split point is the evaluation's interests."""
    batch = _hand_made_rows()
    assert batch.target_ids is not None
    split, reversed_ids, mirror = reversed_futures(batch.input_ids, batch.target_ids)
    model = _model_without_positions()
    with torch.no_grad():
        phi, psi, target, rows = model.split_intents(batch.input_ids, batch.target_ids)
        assert psi is not None and phi.shape == psi.shape == (8, 4, 8) and target.shape == (8,)
        assert rows.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
        for p, (row, col) in enumerate(split.nonzero().tolist()):
            assert int(target[p]) == int(batch.target_ids[row, col])
            prefix = batch.input_ids[row : row + 1, : col + 1]  # x_{1:t}
            future = reversed_ids[row : row + 1, : int(mirror[row, col]) + 1]  # x_{T:t+1}
            torch.testing.assert_close(phi[p], model.intents(prefix)[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(psi[p], model.intents(future, future=True)[0], atol=1e-5, rtol=1e-5)
        torch.manual_seed(0)
        positioned = DSSRec(12, hidden_size=8, max_len=6, dropout=0.0).eval()
        phi, _, _, _ = positioned.split_intents(batch.input_ids, batch.target_ids, future=False)
        last = torch.tensor([2, 7])  # each row's last split point, in row-major order
        interests = positioned.interests(SeqBatch(input_ids=batch.input_ids[:2], user_ids=torch.arange(2)))
        torch.testing.assert_close(phi[last], interests, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("seq2item", ["full", "in_batch", "catalogue"])
def test_all_split_points_count_samples_for_ddp_scaling(data: Any, seq2item: str) -> None:
    """``rec`` and ``s2s`` are means over the batch's split points (unit ``samples``): the trainer's
    DDP scaling of two row slices reproduces the full-catalogue ``rec`` of the whole batch exactly
    (the in-batch terms draw their negatives from each slice, as every in-batch term here)."""
    split = LeaveOneOutSplit.build(data, max_len=10)
    torch.manual_seed(0)
    model = DSSRec.from_context(ModelContext.from_split(split), hidden_size=8, dropout=0.0, seq2item=seq2item)
    assert isinstance(model, DSSRec)
    batch = model.training_batch(split.train_batch(np.arange(24)), torch.Generator())
    assert batch.target_ids is not None
    counts = model.loss_counts(batch)
    assert counts[SAMPLES_UNIT] == float(((batch.input_ids > 0) & (batch.target_ids > 0)).sum())
    assert counts[SAMPLES_UNIT] > counts["rows"]
    assert {model.loss_unit(term, batch) for term in model.terms()} == {SAMPLES_UNIT}
    whole = model.loss_terms(batch)
    parts = [batch.select(torch.arange(rank, batch.batch_size, 2)) for rank in range(2)]
    local = [model.loss_counts(part)[SAMPLES_UNIT] for part in parts]
    assert sum(local) == counts[SAMPLES_UNIT]
    total = counts[SAMPLES_UNIT]
    scales = [loss_scale(n, total, DistInfo(rank=r, world_size=2)) for r, n in enumerate(local)]
    ddp = {term: sum(c * model.loss_terms(part)[term] for c, part in zip(scales, parts, strict=True)) / 2
           for term in whole}  # DDP averages the ranks' scaled gradients
    if seq2item in ("full", "catalogue"):  # per-sample terms: the two slices give the whole batch's
        torch.testing.assert_close(ddp["rec"], whole["rec"])
    one = DSSRec.from_context(ModelContext.from_split(split), hidden_size=8, split_points="one")
    drawn = one.training_batch(split.train_batch(np.arange(24)), torch.Generator().manual_seed(0))
    assert one.loss_counts(drawn)[SAMPLES_UNIT] == float(drawn.batch_size)


def test_seq2item_with_one_intention_is_in_batch_softmax() -> None:
    torch.manual_seed(0)
    phi, items = torch.randn(4, 1, 8), torch.randn(4, 8)
    expected = F.cross_entropy(phi[:, 0] @ items.T / 8**0.5, torch.arange(4))
    torch.testing.assert_close(disentangled_seq2item(phi, items), expected)
    phi2 = torch.cat([phi, phi - 100.0], dim=1)  # a useless second intention changes only the denominator
    assert disentangled_seq2item(phi2, items) >= expected - 1e-6


@pytest.mark.parametrize("k", [1, 3])
def test_max_interest_full_ce_matches_the_autograd_reference(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-written backward (blocks of items, gradient routed to the best interest) gives the
    value and gradients of cross_entropy(max_k scores), over several item blocks."""
    import graphrec.losses

    monkeypatch.setattr(graphrec.losses, "MAX_INTEREST_BLOCK", 7)
    torch.manual_seed(0)
    phi = torch.randn(6, k, 5, dtype=torch.float64, requires_grad=True)
    table = torch.randn(30, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 30, (6,))
    expected = F.cross_entropy(torch.einsum("pkd,nd->pkn", phi, table[1:]).amax(dim=1), targets - 1)
    want = torch.autograd.grad(expected, (phi, table))
    got = max_interest_full_ce(phi, table, targets)
    torch.testing.assert_close(got, expected)
    grads = torch.autograd.grad(got, (phi, table))
    for a, b in zip(grads, want, strict=True):
        torch.testing.assert_close(a, b)
    assert float(grads[1][0].abs().sum()) == 0.0  # padding never scores
    with pytest.raises(ValueError):
        max_interest_full_ce(phi, table, torch.zeros(6, dtype=torch.long))


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


def test_seq2seq_groups_drop_the_other_samples_of_a_group_from_the_denominator() -> None:
    torch.manual_seed(0)
    phi, psi = torch.randn(4, 2, 8), torch.randn(4, 2, 8)
    groups = torch.tensor([0, 0, 1, 2])  # samples 0 and 1 share a sequence
    per = latent_seq2seq_losses(phi, psi, groups=groups)
    logits = phi.reshape(8, 8) @ psi.reshape(8, 8).T / 8**0.5  # row/column 2u + k
    for u, visible in ((0, [0, 2, 3]), (1, [1, 2, 3]), (2, [0, 1, 2, 3]), (3, [0, 1, 2, 3])):
        columns = [2 * v + j for v in visible for j in range(2)]
        for k in range(2):
            row = logits[2 * u + k, columns]
            expected = torch.logsumexp(row, 0) - logits[2 * u + k, 2 * u + k]
            torch.testing.assert_close(per[u, k], expected)
    # without shared groups it is the plain loss; a wrong shape is refused
    torch.testing.assert_close(latent_seq2seq_losses(phi, psi, groups=torch.arange(4)),
                               latent_seq2seq_losses(phi, psi))
    with pytest.raises(ValueError, match="groups"):
        latent_seq2seq_losses(phi, psi, groups=torch.zeros(3, dtype=torch.long))


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
                                 device=torch.device("cpu"), options={"ns": (20,)}).metrics

        cfg = TrainConfig(epochs=2, batch_size=16, progress=False, seed=0, metric="Recall@20",
                          loss_weights=weights or {})
        return Trainer(model, split, cfg, evaluator=evaluator).fit()
    cfg = TrainConfig(epochs=2, batch_size=16, progress=False, seed=0, loss_weights=weights or {})
    return Trainer(model, split, cfg, evaluator=loo_evaluator(split)).fit()


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
    ({"seq2item": "full"}, {"rec", "s2s"}),
    ({"split_points": "one"}, {"rec", "s2s"}),
    ({"split_points": "one", "seq2item": "full", "seq2seq": False}, {"rec"}),
    ({"s2s_negatives": "other_rows", "seq2item": "full"}, {"rec", "s2s"}),
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


def test_dssrec_refuses_unknown_options() -> None:
    with pytest.raises(ValueError, match="split_points"):
        DSSRec(10, split_points="some")
    with pytest.raises(ValueError, match="seq2item"):
        DSSRec(10, seq2item="sampled")
    with pytest.raises(ValueError, match="s2s_negatives"):
        DSSRec(10, s2s_negatives="users")


def test_dsie_refuses_contrast_without_global_scale() -> None:
    with pytest.raises(ValueError, match="global"):
        DSIE(10, use_global=False)


def _intent_separation(vectors: torch.Tensor, item_emb: torch.Tensor, seen: torch.Tensor, planted: np.ndarray,
                       item_intent: np.ndarray, votes: int = 4, n: int = 5) -> tuple[float, float]:
    """Mean coverage and Jaccard of the planted intents found by ``votes`` votes of ``n`` unseen items.

    ``vectors`` ``(R, V, D)``: ``V == votes`` vectors each vote with their own top ``n``; one vector
    (``V == 1``) votes with the rank blocks ``1..n, n+1..2n, ...`` of its top ``votes * n`` (the same
    list length and number of votes). A vote is the majority intent of its items; ``found`` is the set
    of voted intents, ``planted`` ``(R, K)`` bool the user's. Coverage is
    ``|found & planted| / |planted|``, Jaccard ``|found & planted| / |found | planted|``. ``seen``
    ``(R, N + 1)`` bool: items (the user's history) never retrieved.
    """
    scores = torch.einsum("rvd,nd->rvn", vectors, item_emb).masked_fill(seen.unsqueeze(1), float("-inf"))
    top = scores.topk(votes * n // vectors.shape[1], dim=-1).indices.reshape(len(vectors), votes, n)
    coverage, jaccard = [], []
    for row, user_votes in zip(planted, item_intent[top.numpy()]):
        found = {int(np.bincount(v[v >= 0]).argmax()) for v in user_votes if (v >= 0).any()}
        truth = set(np.flatnonzero(row).tolist())
        coverage.append(len(found & truth) / len(truth))
        jaccard.append(len(found & truth) / len(found | truth))
    return float(np.mean(coverage)), float(np.mean(jaccard))


def _planted_intent_separation(name: str, options: dict[str, Any], weights: dict[str, float],
                               seed: int = 0) -> tuple[float, float]:
    """Train ``name`` on the planted-intent data; :func:`_intent_separation` of its vectors.

    Data as the ComiRec test of ``test_multi_interest_models.py``: every user mixes 2 of 4 planted
    intents, each intent owns 30 of the 120 items. 60 epochs under leave-one-out (all 400 users are
    evaluated, against 40 test users under the user split), ``hidden_size=16``, lr 5e-3; each user's
    test input is read. DSIE is measured on its K local interests, not its aggregate readout.
    """
    data, truth = generate_synthetic_with_truth(num_users=400, num_items=120, num_categories=12,
                                                num_intents=4, categories_per_intent=3,
                                                intents_per_user=(2, 2), mean_length=20, noise=0.05, seed=0)
    split = LeaveOneOutSplit.build(data, max_len=20)
    batch = split.eval_batch("test", np.arange(split.num_eval_rows), with_history=True)
    assert batch.history_indptr is not None and batch.history_items is not None
    seen = torch.zeros(batch.batch_size, split.num_items + 1, dtype=torch.bool)
    seen[torch.repeat_interleave(torch.arange(batch.batch_size), batch.history_indptr.diff()),
         batch.history_items] = True
    seen[:, 0] = True  # padding
    torch.manual_seed(seed)
    model = resolve(name).from_context(ModelContext.from_split(split), hidden_size=16, **options)
    cfg = TrainConfig(epochs=60, batch_size=64, lr=5e-3, progress=False, seed=seed, eval_every=100,
                      loss_weights=weights)
    Trainer(model, split, cfg, evaluator=loo_evaluator(split)).fit()
    model.eval()
    with torch.no_grad():
        if isinstance(model, DSIE):
            vectors = model.forward_parts(batch.input_ids)[1]
        else:
            vectors = model.interests(batch)
        return _intent_separation(vectors, model.item_embeddings(), seen,
                                  truth.user_intents[split.eval_users], truth.item_intent)


def test_dsie_interests_separate_planted_intents_better_than_sasrec() -> None:
    """DSIE's K = 4 local interests find more of a user's planted intents than SASRec's one vector (~20 s).

    Data as the ComiRec test of ``test_multi_interest_models.py``: every user mixes 2 of 4 planted
    intents, each intent owns 30 of the 120 items. Both models train 60 epochs under leave-one-out
    (DSSRec's protocol, which DSIE and SASRec also run; all 400 users are evaluated, against 40 test
    users under the user split) and read each user's test input.

    The measure (:func:`_intent_separation`) is made fair to a single vector:

    * equal budget: DSIE's 4 interests vote with their top 5 each; SASRec's vector votes 4 times
      with the rank blocks of its top 20. With top 10 (40 items) one list must leave its first
      intent after 30 items, so SASRec's fourth block covers a second intent by counting, not by
      representation (measured: coverage of its top 30 as three blocks 0.61, of its top 40 as four
      0.74 -- level with DSIE's 0.73 at top 10);
    * the user's history is never retrieved: a pooled vector of the history's item vectors
      retrieves those very items, so the *untrained* DSIE already covers 0.71 with history; without
      it the untrained DSIE is at chance (coverage 0.51, Jaccard 0.33);
    * Jaccard beside coverage: vectors that point at all 4 intents whoever the user is cover
      everything but score Jaccard 0.5, as does a perfect single vector (e.g. DSSRec without its
      seq2seq term after 30 epochs: coverage 0.99 with history and top 10, Jaccard 0.51).

    DSIE's margins over seeds 0, 1, 2: coverage +0.18, +0.17, +0.18; Jaccard +0.11, +0.06, +0.13.
    """
    cov_sas, jac_sas = _planted_intent_separation("sasrec", {}, {})
    cov_dsie, jac_dsie = _planted_intent_separation("dsie", {"num_negatives": 64}, {"cl": 0.1, "orth": 0.1})
    print({"sasrec": (cov_sas, jac_sas), "dsie": (cov_dsie, jac_dsie)})  # (coverage, Jaccard)
    assert cov_dsie > cov_sas + 0.1  # measured 0.733 against 0.556
    assert jac_dsie > jac_sas + 0.05  # measured 0.629 against 0.519


@pytest.mark.slow
def test_dssrec_intentions_cover_more_planted_intents_than_sasrec() -> None:
    """DSSRec's 4 intentions (defaults, the Beauty recipe's seq2seq weight 0.1) against SASRec (~40 s).

    Measured with :func:`_planted_intent_separation`, seeds 0, 1, 2 (coverage / Jaccard):
    DSSRec .639 / .540, .610 / .519, .634 / .525; SASRec .556 / .519, .560 / .528, .565 / .526.
    DSSRec finds more of a user's planted intents (coverage +.05 to +.08) at the same Jaccard: its
    extra votes land on planted and non-planted intents alike, so it covers more without being more
    precise -- a weaker separation than DSIE's (coverage +.17, Jaccard +.06 to +.13). Variants on
    seed 0: ``seq2item="full"`` .542 / .519 (its intentions collapse onto one);
    ``s2s_negatives="other_rows"`` .561 / .517 (s2s weight 1: .536 / .532); no seq2seq .580 / .529.
    Asserted: the coverage margin, and a Jaccard no lower than SASRec's beyond noise.
    """
    cov_sas, jac_sas = _planted_intent_separation("sasrec", {}, {})
    cov_dss, jac_dss = _planted_intent_separation("dssrec", {}, {"rec": 1.0, "s2s": 0.1})
    print({"sasrec": (cov_sas, jac_sas), "dssrec": (cov_dss, jac_dss)})  # (coverage, Jaccard)
    assert cov_dss > cov_sas + 0.04  # measured 0.639 against 0.556
    assert jac_dss > jac_sas - 0.02  # measured 0.540 against 0.519


def test_dsie_global_preference_in_the_prediction_and_local_interests_from_states(data: Any) -> None:
    from graphrec.data.user_split import UserSplit
    from graphrec.models.dsie import DSIE

    split = UserSplit.build(data, max_len=10, seed=0)
    ctx = ModelContext.from_split(split)
    ids = torch.tensor([[0, 0, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5]])
    torch.manual_seed(0)
    plain = DSIE.from_context(ctx, hidden_size=8, num_negatives=8).eval()
    torch.manual_seed(0)
    added = DSIE.from_context(ctx, hidden_size=8, num_negatives=8, global_prediction="add").eval()
    assert isinstance(plain, DSIE) and isinstance(added, DSIE)
    g, m, v = plain.forward_parts(ids)
    g2, m2, v2 = added.forward_parts(ids)
    assert g is not None
    torch.testing.assert_close(v2, g + v)  # v = g + sum_k beta_k m_k
    states = DSIE.from_context(ctx, hidden_size=8, num_negatives=8, local_input="states").eval()
    assert isinstance(states, DSIE)
    before = states.forward_parts(ids)[1]
    with torch.no_grad():
        for p in states.attention.parameters():  # type: ignore[union-attr]
            p.add_(0.5)
    assert not torch.allclose(before, states.forward_parts(ids)[1])  # m now depends on H_u
    gated = DSIE.from_context(ctx, hidden_size=8, num_negatives=8, global_prediction="gate")
    assert isinstance(gated, DSIE) and gated.gate is not None
    with pytest.raises(ValueError, match="global scale"):
        DSIE.from_context(ctx, hidden_size=8, use_global=False, contrastive=False, local_input="states")
