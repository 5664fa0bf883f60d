"""Sequence embedding: positions counted from the newest item, padding row, trimming."""

from __future__ import annotations

import pytest
import torch

from graphrec.nn.embedding import SequenceEmbedding, leading_padding, right_aligned, trim_left_padding


def test_positions_counted_from_newest_and_padding_row_zero() -> None:
    torch.manual_seed(0)
    emb = SequenceEmbedding(num_items=5, hidden_size=4, max_len=6, layer_norm=False).eval()
    assert torch.all(emb.item.weight[0] == 0)
    ids = torch.tensor([[0, 3, 1]])
    out = emb(ids)  # (1, 3, 4)
    pos = emb.position.weight
    torch.testing.assert_close(out[0, 2], emb.item.weight[1] + pos[5])  # newest -> last row
    torch.testing.assert_close(out[0, 1], emb.item.weight[3] + pos[4])
    torch.testing.assert_close(out[0, 0], pos[3])  # padding: position only
    # the same items in a wider window keep their positions
    wide = emb(torch.tensor([[0, 0, 0, 3, 1]]))
    torch.testing.assert_close(wide[0, -2:], out[0, -2:])


def test_layer_norm_dropout_and_errors() -> None:
    emb = SequenceEmbedding(num_items=5, hidden_size=4, max_len=3, dropout=0.5).eval()
    out = emb(torch.tensor([[1, 2, 3]]))
    torch.testing.assert_close(out.mean(-1), torch.zeros(1, 3), atol=1e-5, rtol=0)
    emb.train()
    assert torch.isfinite(emb(torch.tensor([[1, 2, 3]]))).all()
    with pytest.raises(ValueError, match="max_len=3"):
        emb(torch.ones(1, 4, dtype=torch.long))


def test_init_std_small() -> None:
    torch.manual_seed(0)
    emb = SequenceEmbedding(num_items=2000, hidden_size=32, max_len=5, init_std=0.02)
    assert emb.item.weight[1:].std().item() == pytest.approx(0.02, rel=0.05)


def test_trim_left_padding() -> None:
    ids = torch.tensor([[0, 0, 0, 4], [0, 0, 2, 3]])
    targets = torch.tensor([[0, 0, 0, 9], [0, 0, 3, 8]])
    trimmed, trimmed_targets = trim_left_padding(ids, targets)
    assert torch.equal(trimmed, ids[:, 2:]) and torch.equal(trimmed_targets, targets[:, 2:])
    assert leading_padding(ids) == 2
    (same,) = trim_left_padding(torch.tensor([[1, 2]]))
    assert same.shape == (1, 2)
    (empty,) = trim_left_padding(torch.zeros(2, 3, dtype=torch.long))
    assert empty.shape == (2, 1)  # at least one column is kept


def test_explicit_position_ids_match_implicit_positions() -> None:
    torch.manual_seed(0)
    emb = SequenceEmbedding(num_items=5, hidden_size=4, max_len=6).eval()
    ids = torch.tensor([[0, 2, 4, 1]])
    implicit = emb(ids)
    # position ids given as columns of a 4-wide window, as packed rows carry them
    explicit = emb(ids, position_ids=torch.arange(4)[None, :], width=4)
    torch.testing.assert_close(explicit, implicit)
    # the last two items moved to the front of a packed row keep their positions
    moved = emb(torch.tensor([[4, 1]]), position_ids=torch.tensor([[2, 3]]), width=4)
    torch.testing.assert_close(moved[0], implicit[0, 2:])


def test_packed_output_equals_dense_selection() -> None:
    torch.manual_seed(0)
    emb = SequenceEmbedding(num_items=5, hidden_size=4, max_len=6).eval()
    ids = torch.tensor([[0, 0, 2, 4], [0, 1, 3, 5]])
    valid = ids > 0
    torch.testing.assert_close(emb(ids, valid=valid), emb(ids)[valid])
    pos = torch.tensor([[0, 0, 0, 1], [0, 1, 2, 3]])
    torch.testing.assert_close(emb(ids, pos, 4, valid=valid), emb(ids, pos, 4)[valid])


def test_mask_token_row_ids_and_scoring_table() -> None:
    torch.manual_seed(0)
    emb = SequenceEmbedding(num_items=5, hidden_size=4, max_len=6, mask_token=True)
    assert emb.mask_id == 6
    assert emb.item.weight.shape == (7, 4)  # padding, items 1..5, [mask]
    assert emb.item_table.shape == (6, 4)  # rows 0..N only: the mask token never ranks
    assert emb.item_table.data_ptr() == emb.item.weight.data_ptr()  # a view, not a copy
    assert torch.all(emb.item.weight[0] == 0) and emb.item.weight[6].abs().sum() > 0
    out = emb(torch.tensor([[0, 3, 6]]))  # the mask id is a valid input
    assert out.shape == (1, 3, 4) and torch.isfinite(out).all()
    emb.item_table.sum().backward()
    grad = emb.item.weight.grad
    assert grad is not None and torch.all(grad[:6] == 1) and torch.all(grad[6] == 0)
    assert "mask_id=6" in repr(emb)


def test_default_embedding_unchanged_by_mask_option() -> None:
    torch.manual_seed(0)
    emb = SequenceEmbedding(num_items=5, hidden_size=4, max_len=6, dropout=0.1)
    assert emb.mask_id is None and emb.item_table is emb.item.weight
    shapes = {k: tuple(v.shape) for k, v in emb.state_dict().items()}
    assert shapes == {
        "item.weight": (6, 4),
        "position.weight": (6, 4),
        "norm.weight": (4,),
        "norm.bias": (4,),
    }
    # the same random draws as the constructor always made: two tables, then the two normal inits
    torch.manual_seed(0)
    item, position = torch.nn.Embedding(6, 4, padding_idx=0), torch.nn.Embedding(6, 4)
    torch.nn.init.normal_(item.weight, std=0.02)
    torch.nn.init.normal_(position.weight, std=0.02)
    assert torch.equal(emb.item.weight[1:], item.weight[1:])
    assert torch.equal(emb.position.weight, position.weight)
    torch.manual_seed(0)
    explicit = SequenceEmbedding(num_items=5, hidden_size=4, max_len=6, dropout=0.1, mask_token=False)
    assert all(torch.equal(a, b) for a, b in zip(explicit.state_dict().values(), emb.state_dict().values()))


def test_right_aligned_gives_the_newest_rows_and_one_error() -> None:
    table = torch.arange(12.0).reshape(6, 2)  # (L, D), one row per position
    rows = right_aligned(table, 4)
    assert rows.shape == (4, 2) and torch.equal(rows, table[2:])  # newest column -> last row
    assert rows.data_ptr() == table[2:].data_ptr()  # a view, not a copy
    assert right_aligned(table, 6).shape == (6, 2) and right_aligned(table, 0).shape == (0, 2)
    weights = torch.arange(12.0).reshape(2, 6)  # (K, L): positions along dim 1
    assert torch.equal(right_aligned(weights, 3, dim=1), weights[:, 3:])
    with pytest.raises(ValueError, match="input length 7 exceeds max_len=6 of the position table"):
        right_aligned(table, 7)
    with pytest.raises(ValueError, match="max_len=6 of the capsule layer"):
        right_aligned(weights, 7, "capsule layer", dim=1)
