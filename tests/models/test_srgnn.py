"""SR-GNN: shapes, gradients, finite scores, left-padding invariance, honest prefixes."""

import torch

from graphrec.data.batch import SeqBatch
from graphrec.models import resolve
from graphrec.models.srgnn import SRGNN, random_prefixes


def _batch() -> SeqBatch:
    ids = torch.tensor([[0, 0, 3, 5, 3, 7], [0, 0, 0, 0, 1, 2], [1, 2, 1, 2, 1, 2]])
    targets = torch.tensor([[0, 0, 5, 3, 7, 9], [0, 0, 0, 0, 2, 4], [2, 1, 2, 1, 2, 3]])
    return SeqBatch(input_ids=ids, target_ids=targets, user_ids=torch.arange(3))


def test_registry_and_shapes() -> None:
    assert resolve("srgnn") is SRGNN
    torch.manual_seed(0)
    model = SRGNN(num_items=10, hidden_size=8)
    batch = _batch()
    assert model.interests(batch).shape == (3, 1, 8)
    scores = model.score_all(batch)
    assert scores.shape == (3, 11)
    assert torch.isfinite(scores[:, 1:]).all() and torch.isinf(scores[:, 0]).all()
    assert model.item_embeddings().shape == (11, 8)


def test_gradients_flow_and_initial_loss_near_log_n() -> None:
    torch.manual_seed(0)
    model = SRGNN(num_items=10, hidden_size=8, cuts_per_row=3)
    terms = model.loss_terms(_batch())
    assert set(terms) == {"rec"}
    assert abs(terms["rec"].item() - torch.log(torch.tensor(10.0)).item()) < 0.1
    terms["rec"].backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.item_emb.weight.grad[1:].abs().sum() > 0


def test_left_padding_invariance() -> None:
    torch.manual_seed(0)
    model = SRGNN(num_items=10, hidden_size=8, num_steps=2).eval()
    ids = torch.tensor([[4, 2, 4, 9], [0, 0, 1, 3]])
    padded = torch.cat([torch.zeros(2, 5, dtype=torch.long), ids], dim=1)
    a = model.interests(SeqBatch(input_ids=ids, user_ids=torch.arange(2)))
    b = model.interests(SeqBatch(input_ids=padded, user_ids=torch.arange(2)))
    assert torch.allclose(a, b, atol=1e-6)


def test_random_prefixes_never_see_the_future() -> None:
    torch.manual_seed(0)
    ids = torch.tensor([[0, 0, 1, 2, 3, 4], [0, 0, 0, 0, 0, 0]])
    targets = torch.tensor([[0, 0, 2, 3, 4, 5], [0, 0, 0, 0, 0, 0]])
    prefix, target = random_prefixes(ids, targets, cuts_per_row=200)
    assert prefix.shape == (200, 6)  # the empty row is dropped
    last = prefix[:, -1]
    assert torch.equal(target, last + 1)  # each prefix ends right before its target
    assert torch.all(prefix.max(dim=1).values < target)  # no later item in the prefix
    assert set(target.tolist()) == {2, 3, 4, 5}  # every cut point is drawn
    real = prefix > 0
    assert torch.all(real[:, 1:] >= real[:, :-1])  # still left-padded
