"""The model context: facts and graphs from the split's training part only."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.data.dataset import SequenceDataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.user_split import UserSplit
from graphrec.graph.category import category_graph
from graphrec.graph.training import split_fingerprint, training_csr
from graphrec.models.context import ModelContext
from graphrec.models.pop import POP
from graphrec.models.sasrec import SASRec

NORMAL, SPECIAL = range(1, 21), range(21, 31)  # special items: category 5, only ever held out


def _categories() -> np.ndarray:
    cats = np.zeros(31, dtype=np.int64)
    cats[1:21] = 1 + (np.arange(20) % 4)  # categories 1..4
    cats[21:31] = 5
    return cats


def _user_split_data() -> SequenceDataset:
    """Users 0..29 train, 30..34 valid, 35..39 test; held-out users' last 2 of 10 items are special."""
    rng = np.random.default_rng(0)
    seqs, groups = [], []
    for user in range(40):
        group = 0 if user < 30 else 1 if user < 35 else 2
        seq = list(rng.choice(list(NORMAL), size=10))
        if group:
            seq[8:] = rng.choice(list(SPECIAL), size=2, replace=False)
        seqs.append(seq)
        groups.append(group)
    return SequenceDataset.from_sequences(seqs, num_items=30, item_category=_categories(),
                                          user_split=np.array(groups, dtype=np.int8))


def test_user_split_graphs_never_hold_a_held_out_target() -> None:
    split = UserSplit.build(_user_split_data(), max_len=10, history_fraction=0.8)
    ctx = ModelContext.from_split(split)
    assert ctx.protocol == "user"
    train = ctx.training_sequences()
    # training users' whole sequences + held-out users' 8 history items, and nothing else
    assert train.num_rows == 40 and len(train.items) == 30 * 10 + 10 * 8
    assert not np.isin(train.items, list(SPECIAL)).any()
    assert ctx.item_counts[list(SPECIAL)].sum() == 0
    graph = ctx.category_graph()
    assert int(graph.num_nodes) == 5 and not (graph.edge_index == 4).any()  # node 4 = category 5
    transitions = ctx.transition_graph()
    assert not np.isin(transitions.edge_index.numpy(), list(SPECIAL)).any()
    assert graph.split_fingerprint == transitions.split_fingerprint == ctx.fingerprint
    # the same builder on the whole log does see them: the check above can fail
    everything = category_graph(_user_split_data(), protocol="all")
    assert (everything.edge_index == 4).any()


def test_loo_graphs_never_hold_a_held_out_target() -> None:
    rng = np.random.default_rng(1)
    seqs = [list(rng.choice(list(NORMAL), size=6)) + list(rng.choice(list(SPECIAL),
                 size=2)) for _ in range(20)]
    data = SequenceDataset.from_sequences(seqs, num_items=30, item_category=_categories())
    ctx = ModelContext.from_split(LeaveOneOutSplit.build(data, max_len=8))
    assert ctx.protocol == "loo" and ctx.max_len == 8 and ctx.num_items == 30
    assert not np.isin(ctx.training_sequences().items, list(SPECIAL)).any()
    assert ctx.item_counts[list(SPECIAL)].sum() == 0 and ctx.item_counts[list(NORMAL)].sum() == 20 * 6
    assert not (ctx.normalized_category_graph().edge_index == 4).any()
    assert ctx.normalized_category_graph().normalization == "hpcl4sr_eq1"


def test_fingerprints_tie_graphs_to_their_split() -> None:
    data = _user_split_data()
    a = UserSplit.build(data, max_len=10)
    b = UserSplit.build(data, max_len=10, history_fraction=0.5)
    loo = LeaveOneOutSplit.build(data, max_len=10)
    assert split_fingerprint(a) == split_fingerprint(UserSplit.build(data,
                             max_len=20))  # window length irrelevant
    assert len({split_fingerprint(a), split_fingerprint(b), split_fingerprint(loo)}) == 3
    ctx = ModelContext.from_split(a)
    assert ctx.check_graph(category_graph(training_csr(a))) is not None
    with pytest.raises(ValueError, match="built from split"):
        ctx.check_graph(category_graph(training_csr(b)))
    with pytest.raises(ValueError, match="built from split"):
        ctx.check_graph(category_graph(data, protocol="all"))
    assert ctx.category_graph() is ctx.category_graph()  # built once


def test_models_take_what_they_need_from_the_context() -> None:
    data = _user_split_data()
    ctx = ModelContext.from_split(LeaveOneOutSplit.build(data, max_len=7))
    sasrec = SASRec.from_context(ctx, hidden_size=8)
    assert isinstance(sasrec, SASRec) and sasrec.embedding.position.num_embeddings >= 7
    with pytest.raises(ValueError, match="shorter than the input windows"):
        SASRec.from_context(ctx, max_len=5)
    with pytest.raises(ValueError, match="unknown key"):
        SASRec.from_context(ctx, hiden_size=8)
    pop = POP.from_context(ctx)
    assert isinstance(pop, POP)
    expected = np.log1p(ctx.item_counts.astype(np.float64))
    assert np.allclose(pop.log_counts[:, 0].double().numpy()[1:], expected[1:])
    assert ctx.item_attributes is None and ctx.num_categories == 5
