"""FMLP-Rec and BSARec: window models trained one target per window."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.models import resolve
from graphrec.models.bsarec import BSARec
from graphrec.models.fmlp import FMLPRec


@pytest.mark.parametrize("name", ["fmlprec", "bsarec"])
def test_registry_shapes_and_initial_loss(name: str) -> None:
    torch.manual_seed(0)
    model = resolve(name)(40, hidden_size=16, max_len=6)
    batch = SeqBatch(input_ids=torch.tensor([[0, 0, 1, 2, 3, 4], [0, 0, 0, 0, 5, 6]]),
                     target_ids=torch.tensor([[0, 0, 0, 0, 0, 5], [0, 0, 0, 0, 0, 7]]),
                     user_ids=torch.arange(2))
    loss = model.loss_terms(batch)["rec"]
    assert abs(loss.item() - math.log(40)) < 0.5
    loss.backward()
    model.eval()
    assert model.interests(batch).shape == (2, 1, 16)
    assert model.score_all(batch).shape == (2, 41)


def test_a_target_before_the_newest_position_is_refused() -> None:
    model = FMLPRec(10, hidden_size=8, max_len=4)
    dense = SeqBatch(input_ids=torch.tensor([[1, 2, 3, 4]]), target_ids=torch.tensor([[2, 3, 4, 5]]),
                     user_ids=torch.arange(1))
    with pytest.raises(ValueError, match="train.samples=prefixes"):
        model.loss_terms(dense)


def test_a_narrow_input_is_read_as_the_same_input_padded_to_the_window() -> None:
    torch.manual_seed(0)
    model = BSARec(10, hidden_size=8, max_len=6).eval()
    narrow = SeqBatch(input_ids=torch.tensor([[0, 3, 5]]), user_ids=torch.arange(1))
    wide = SeqBatch(input_ids=torch.tensor([[0, 0, 0, 0, 3, 5]]), user_ids=torch.arange(1))
    torch.testing.assert_close(model.interests(narrow), model.interests(wide))
    with pytest.raises(ValueError, match="exceeds max_len"):
        model.interests(SeqBatch(input_ids=torch.ones(1, 7, dtype=torch.long), user_ids=torch.arange(1)))


@pytest.mark.parametrize("cls", [FMLPRec, BSARec])
def test_learns_a_deterministic_successor(cls: type[FMLPRec]) -> None:
    # item i is always followed by i + 1; every prefix window is one sample
    num_items, width = 12, 5
    rows, targets = [], []
    for start in range(1, num_items - 1):
        for end in range(start, min(start + width, num_items - 1)):
            window = list(range(start, end + 1))
            rows.append([0] * (width - len(window)) + window)
            targets.append([0] * (width - 1) + [end + 1])
    batch = SeqBatch(input_ids=torch.tensor(rows), target_ids=torch.tensor(targets),
                     user_ids=torch.arange(len(rows)))
    torch.manual_seed(0)
    model = cls(num_items, hidden_size=16, num_layers=1, max_len=width, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = model.loss_terms(batch)["rec"].item()
    for _ in range(150):
        opt.zero_grad()
        loss = model.loss_terms(batch)["rec"]
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    model.eval()
    test = SeqBatch(input_ids=torch.tensor([[0, 0, 2, 3, 4]]), user_ids=torch.arange(1))
    assert int(model.score_all(test).argmax()) == 5


def test_bad_alpha_is_refused() -> None:
    with pytest.raises(ValueError, match="model.alpha"):
        BSARec(10, alpha=-0.1)
