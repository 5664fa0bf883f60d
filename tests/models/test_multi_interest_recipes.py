"""The multi-interest training recipes: the causal extractor, the dense loss against a hand-computed
value, ComiRec's sampler inside the model, the config checks, and exact resume for every recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.synthetic import generate_synthetic
from graphrec.data.user_split import UserSplit
from graphrec.experiment.protocols import resolve_protocol
from graphrec.models.comirec import ComiRecSA
from graphrec.models.context import ModelContext
from graphrec.models.mind import MIND
from graphrec.models.multi_interest import TARGET_KEY
from graphrec.train.checkpoint import LAST, load_checkpoint
from graphrec.train.config import TrainConfig
from graphrec.train.trainer import Trainer


@pytest.fixture(scope="module")
def split() -> UserSplit:
    data = generate_synthetic(num_users=60, num_items=40, num_categories=9, num_intents=3, mean_length=8,
                              max_length=30, seed=0)
    return UserSplit.build(data, max_len=10, seed=0)


def _sa(split: UserSplit, seed: int = 0, **options: Any) -> ComiRecSA:
    torch.manual_seed(seed)
    opts: dict[str, Any] = {"hidden_size": 8, "num_negatives": 16, "num_interests": 3}
    opts.update(options)
    model = ComiRecSA.from_context(ModelContext.from_split(split), **opts)
    assert isinstance(model, ComiRecSA)
    return model


@pytest.mark.parametrize("options", [{"position_origin": "oldest"}, {"add_positions": False}])
def test_every_prefix_gets_the_interests_of_the_prefix_alone(split: UserSplit, options: dict) -> None:
    model = _sa(split, recipe="dense", **options).eval()
    ids = torch.as_tensor(split.train_inputs[:6])  # (6, 10) left-padded windows
    with torch.no_grad():
        every = model.encode_prefixes(ids)  # (6, 10, K, D)
        for t in range(ids.shape[1]):
            prefix = torch.zeros_like(ids)
            prefix[:, ids.shape[1] - 1 - t:] = ids[:, : t + 1]  # the prefix ending at t, left-padded
            rows = (ids[:, t] > 0).nonzero().flatten()
            alone = model.encode(prefix[rows])  # (R, K, D)
            torch.testing.assert_close(every[rows, t], alone, rtol=1e-5, atol=1e-6)


def test_dense_loss_is_the_best_interests_full_softmax(split: UserSplit) -> None:
    model = _sa(split, recipe="dense", position_origin="oldest")
    batch = split.train_batch(np.arange(4))
    loss = model.loss_terms(model.training_batch(batch, torch.Generator()))["rec"]
    table = model.item_embeddings().detach()
    total, count = 0.0, 0
    with torch.no_grad():
        for row in range(4):
            for t in range(batch.input_ids.shape[1]):
                target = int(batch.target_ids[row, t])
                if target == 0:
                    continue
                prefix = torch.zeros_like(batch.input_ids[row: row + 1])
                width = prefix.shape[1]
                prefix[0, width - 1 - t:] = batch.input_ids[row, : t + 1]
                interests = model.encode(prefix)[0]  # (K, D)
                v = interests[int((interests @ table[target]).argmax())]  # the best-fitting interest
                logits = table[1:] @ v  # every real item
                total += float(torch.logsumexp(logits, 0) - logits[target - 1])
                count += 1
    assert count > 0 and model.loss_unit("rec", batch) == "positions"
    assert float(loss.detach()) == pytest.approx(total / count, rel=1e-5)


def test_comirec_recipe_cuts_the_training_users_whole_sequences(split: UserSplit) -> None:
    model = _sa(split, recipe="comirec")
    batch = split.train_batch(np.arange(8))
    out = model.training_batch(batch, torch.Generator().manual_seed(3))
    assert out.input_ids.shape == (8, 10) and out.target_ids is None
    data, train = split.dataset, set(np.nonzero(split.groups == 0)[0].tolist())
    targets = out.extras[TARGET_KEY].tolist()
    for user, row, target in zip(out.user_ids.tolist(), out.input_ids.tolist(), targets):
        assert user in train  # held-out users are never drawn
        seq = data.sequence(user).tolist()
        history = [i for i in row if i > 0]
        cuts = [k for k in range(1, len(seq)) if seq[k] == target and seq[max(0, k - 10): k] == history]
        assert cuts, (user, row, target)  # the target follows exactly the <= 10 items before it
        assert len(seq) <= 4 or max(cuts) >= 4  # ComiRec's k >= 4 wherever the sequence allows


def test_recipe_settings_are_checked(split: UserSplit) -> None:
    with pytest.raises(ValueError, match="position_origin = 'oldest'"):
        _sa(split, recipe="dense")
    with pytest.raises(ValueError, match="MIND does not compute"):
        MIND(40, recipe="dense")
    with pytest.raises(ValueError, match="unknown recipe"):
        MIND(40, recipe="every")
    with pytest.raises(ValueError, match="build the model with from_context"):
        ComiRecSA(40, recipe="comirec").training_batch(split.train_batch(np.arange(2)), torch.Generator())


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("options", [{"recipe": "comirec"}, {"recipe": "dense", "position_origin": "oldest"}])
def test_resume_equals_an_uninterrupted_run(split: UserSplit, tmp_path: Path, options: dict) -> None:
    protocol = resolve_protocol("user")

    def evaluator(m: Any, which: str) -> dict[str, Any]:
        return protocol.evaluate(m, split, which, batch_size=64, mask_history=False,
                                 device=torch.device("cpu"), options={"ns": (20,)}).metrics

    def config(directory: Path, **kw: Any) -> TrainConfig:
        return TrainConfig(epochs=3, batch_size=16, progress=False, seed=0, metric="Recall@20",
                           checkpoint_dir=str(directory), **kw)

    straight = Trainer(_sa(split, **options), split, config(tmp_path / "a"), evaluator=evaluator).fit()

    def crash(record: dict[str, Any]) -> None:
        if record["epoch"] == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        Trainer(_sa(split, **options), split, config(tmp_path / "b"), evaluator=evaluator,
                on_epoch_end=crash).fit()
    resumed = Trainer(_sa(split, seed=5, **options), split, config(tmp_path / "b", resume=True),
                      evaluator=evaluator).fit()
    assert [r["loss/rec"] for r in straight["history"]] == [r["loss/rec"] for r in resumed["history"]]
    a, b = load_checkpoint(tmp_path / "a" / LAST)["model"], load_checkpoint(tmp_path / "b" / LAST)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_seq_batch_from_the_sampler_trains_under_the_one_target_loss(split: UserSplit) -> None:
    model = _sa(split, recipe="comirec")
    out = model.training_batch(split.train_batch(np.arange(5)), torch.Generator().manual_seed(0))
    assert isinstance(out, SeqBatch) and set(model.loss_terms(out)) == {"rec"}


def test_a_single_vector_trains_under_comirecs_recipe(split: UserSplit) -> None:
    from graphrec.models.sasrec import SASRec

    torch.manual_seed(0)
    model = SASRec.from_context(ModelContext.from_split(split), hidden_size=8, num_layers=1,
                                recipe="comirec", loss="sampled", num_negatives=8)
    out = model.training_batch(split.train_batch(np.arange(6)), torch.Generator().manual_seed(1))
    assert out.target_ids is not None and int((out.target_ids > 0).sum()) == 6  # one target per sample
    assert bool((out.target_ids[:, :-1] == 0).all()) and bool((out.input_ids[:, -1] > 0).all())
    assert model.loss_counts(out)["positions"] == 6 and set(model.loss_terms(out)) == {"rec"}
    with pytest.raises(ValueError, match="every position"):
        from graphrec.models.cl4srec import CL4SRec

        CL4SRec(40, recipe="comirec")


def test_sasrec_mi_serves_the_newest_prefix_and_trains_each_positions_best(split: UserSplit) -> None:
    from graphrec.models.sasrec_mi import SASRecMI
    from graphrec.nn.multi_interest import best_interest

    torch.manual_seed(0)
    model = SASRecMI.from_context(ModelContext.from_split(split), hidden_size=8, num_layers=1,
                                  num_interests=3)
    model.eval()
    batch = split.train_batch(np.arange(5))
    with torch.no_grad():
        every = model.prefix_interests(batch.input_ids)  # (5, 10, 3, 8)
        torch.testing.assert_close(model.interests(batch), every[:, -1], rtol=1e-5, atol=1e-6)
        table = model.item_embeddings()
        chosen = best_interest(every, table, batch.target_ids)
        real = batch.target_ids > 0
        logits = chosen[real] @ table[1:].T  # (P, N)
        picked = logits.gather(1, batch.target_ids[real, None] - 1)[:, 0]
        expected = (torch.logsumexp(logits, 1) - picked).mean()
        assert float(model.loss_terms(batch)["rec"]) == pytest.approx(float(expected), rel=1e-5)
        scores = (every * table[batch.target_ids].unsqueeze(2)).sum(-1)  # the chosen interest is the best
        assert torch.equal((chosen * table[batch.target_ids]).sum(-1)[real], scores.max(-1).values[real])
    with pytest.raises(ValueError, match="model.loss must be 'ce'"):
        SASRecMI(40, loss="bce")
