"""SR-GNN trained on per-session PyG graphs batched by ``torch_geometric.loader.DataLoader``.

SR-GNN (Wu et al., AAAI 2019) turns every sequence prefix into a *session graph*
(one node per unique item, an edge per consecutive transition), refines node
states with a gated GNN (Eq. 1-5) and reads the session out with soft attention
against the newest item (Eq. 6-8):

.. math::

    \\alpha_i = q^\\top \\sigma(W_1 v_n + W_2 v_i + c), \\qquad
    s_g = \\sum_i \\alpha_i v_i, \\qquad s_h = W_3 [v_n; s_g].

:class:`graphrec.models.srgnn.SRGNN` does this on left-padded tensors. This
example does the same with PyG's own data pipeline, to show the pieces:

1. every training prefix ``s[:t+1]`` of the leave-one-out split (target ``s[t+1]``)
   becomes a :class:`SessionData` graph — the graphs of all prefixes are built at
   once by :func:`graphrec.graph.session.session_graphs` and sliced on access;
2. ``DataLoader(..., follow_batch=["alias"])`` collates them into one disjoint
   graph per mini-batch (node ids of ``edge_index``, ``alias`` and ``last`` are
   offset by ``SessionData.__inc__``);
3. the model's pieces (item table, :class:`~graphrec.nn.gated_gnn.GatedSessionGNN`,
   attention readout) run on that batch; readout sums per graph with ``scatter``;
4. full softmax cross-entropy over all items; then the same weights are evaluated
   by the library's leave-one-out ranking (:func:`graphrec.eval.loo.evaluate_loo`),
   after checking that both paths give the same session vectors.

Run::

    python examples/srgnn_session_graphs.py                            # synthetic data, about 30 s
    python examples/srgnn_session_graphs.py --smoke                    # smallest setting (tests)
    python examples/srgnn_session_graphs.py --data ../shared/data/amazon-beauty --epochs 10
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import scatter

from graphrec.data.load import load_dataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.eval.loo import evaluate_loo
from graphrec.graph.session import session_graphs
from graphrec.losses import full_softmax_ce
from graphrec.models.srgnn import SRGNN
from graphrec.train.seed import seed_everything

SMOKE_DATA = {"num_users": 200, "num_items": 150}  # tiny synthetic data for --smoke


class SessionData(Data):
    """One session graph: ``x`` ``(M,)`` item ids of its unique items, ``edge_index`` ``(2, E)``
    transitions, ``alias`` ``(n,)`` node of each of the ``n`` positions, ``last`` ``(1,)`` node of
    the newest item, ``y`` ``(1,)`` the next item. ``alias`` and ``last`` are node indices, so
    batching offsets them by the number of nodes before them, like ``edge_index``."""

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key in ("alias", "last"):
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)


def all_prefixes(inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Every prefix of every training row, left-padded, with the item that follows it.

    Args:
        inputs: ``(R, L)`` left-padded training inputs; targets: ``(R, L)`` next items (0 = none).

    Returns:
        ``(P, L)`` prefixes (row ``r`` cut after position ``t``, right-aligned) and ``(P,)`` targets.
    """
    length = inputs.shape[1]
    rows, cut = ((inputs > 0) & (targets > 0)).nonzero(as_tuple=True)  # (P,), (P,)
    idx = torch.arange(length).unsqueeze(0) - (length - 1 - cut).unsqueeze(1)  # (P, L) source column
    prefixes = inputs[rows.unsqueeze(1), idx.clamp_min(0)] * (idx >= 0)  # (P, L)
    return prefixes, targets[rows, cut]


class SessionGraphDataset(Dataset):
    """``dataset[i]`` is the :class:`SessionData` of prefix ``i``.

    All graphs are built in one vectorised call of :func:`session_graphs` (one
    disjoint graph), converted to per-graph (local) node ids and kept as flat
    tensors with offsets; ``__getitem__`` only slices them.
    """

    def __init__(self, prefixes: Tensor, targets: Tensor) -> None:
        g = session_graphs(prefixes)  # disjoint graph of all P sessions, global node ids
        num_graphs = prefixes.shape[0]
        node_start = g.ptr[:-1]  # (P,) first node of every graph
        edge_graph = g.batch[g.edge_index[0]]  # (E,) graph of every edge (edges are grouped by graph)
        real = g.alias >= 0  # (P, L)
        self.x, self.node_ptr = g.x, g.ptr  # (M,), (P + 1,)
        self.edge_index = g.edge_index - node_start[edge_graph]  # (2, E) local ids
        self.edge_ptr = torch.cat([torch.zeros(1, dtype=torch.long),
                                   torch.bincount(edge_graph, minlength=num_graphs).cumsum(0)])  # (P + 1,)
        self.alias = (g.alias - node_start.unsqueeze(1))[real]  # (sum n,) local node of every position
        self.alias_ptr = torch.cat([torch.zeros(1, dtype=torch.long), real.sum(1).cumsum(0)])  # (P + 1,)
        self.last = g.last_node - node_start  # (P,)
        self.y = targets  # (P,)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> SessionData:
        n0, n1 = int(self.node_ptr[i]), int(self.node_ptr[i + 1])
        e0, e1 = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
        a0, a1 = int(self.alias_ptr[i]), int(self.alias_ptr[i + 1])
        return SessionData(x=self.x[n0:n1], edge_index=self.edge_index[:, e0:e1], alias=self.alias[a0:a1],
                           last=self.last[i:i + 1], y=self.y[i:i + 1], num_nodes=n1 - n0)


def session_vectors(model: SRGNN, batch: Batch) -> Tensor:
    """SR-GNN's :math:`s_h` ``(B, D)`` of a collated batch of :class:`SessionData` (Eq. 6-8)."""
    h = model.dropout(model.item_emb(batch.x))  # (M, D) initial node states
    h = model.gnn(h, batch.edge_index)  # (M, D) gated GNN, Eq. 1-5
    seq = h[batch.alias]  # (sum n, D) v_i of every position
    last = h[batch.last]  # (B, D) v_n
    graph = batch.alias_batch  # (sum n,) graph of every position (from follow_batch)
    gate = torch.sigmoid(model.lin_last(last)[graph] + model.lin_pos(seq))  # (sum n, D)
    alpha = model.att_q(gate)  # (sum n, 1)
    s_g = scatter(alpha * seq, graph, dim=0, dim_size=last.shape[0], reduce="sum")  # (B, D)
    return model.lin_out(torch.cat([last, s_g], dim=-1))  # (B, D) s_h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic", help="dataset spec (default: synthetic)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over all training prefixes")
    parser.add_argument("--lr", type=float, default=0.003, help="Adam learning rate")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size D")
    parser.add_argument("--batch-size", type=int, default=256, help="session graphs per mini-batch")
    parser.add_argument("--max-len", type=int, default=50, help="input window length L")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic data, 1 epoch")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.max_len = 1, 20

    options = SMOKE_DATA if args.smoke and args.data == "synthetic" else {}
    dataset = load_dataset(args.data, **options)
    split = LeaveOneOutSplit.build(dataset, max_len=args.max_len)
    # 1. one session graph per training prefix (training rows = s[:-2]: no held-out item inside)
    inputs, next_items = torch.from_numpy(split.train_inputs), torch.from_numpy(split.train_targets)
    prefixes, targets = all_prefixes(inputs, next_items)
    graphs = SessionGraphDataset(prefixes, targets)
    largest = int(graphs.node_ptr.diff().argmax())
    print(f"{len(graphs)} session graphs from {split.num_train_rows} training rows; "
          f"the largest: {graphs[largest]}")
    # 2. PyG's DataLoader collates SessionData into one disjoint graph per mini-batch
    seed_everything(args.seed)
    loader = DataLoader(graphs, batch_size=args.batch_size, shuffle=True, follow_batch=["alias"])
    model = SRGNN(split.num_items, hidden_size=args.hidden, num_steps=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    # 3-4. train the SR-GNN pieces with full softmax cross-entropy
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, total, steps = time.perf_counter(), 0.0, 0
        for batch in loader:
            loss = full_softmax_ce(session_vectors(model, batch), model.item_embeddings(), batch.y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        valid = evaluate_loo(model, split, "valid")
        print(f"epoch {epoch}: loss {total / steps:.4f}, valid HR@10 {valid['HR@10']:.4f} "
              f"({time.perf_counter() - start:.1f} s)")
    # the PyG path and SRGNN.encode (used by evaluate_loo) give the same session vectors
    model.eval()
    with torch.no_grad():
        check = Batch.from_data_list([graphs[i] for i in range(min(64, len(graphs)))], follow_batch=["alias"])
        diff = (session_vectors(model, check) - model.encode(prefixes[: check.num_graphs])).abs().max()
    print(f"PyG-batched readout vs SRGNN.encode: max |difference| {float(diff):.1e}")
    test = evaluate_loo(model, split, "test")
    print(f"test: HR@10 {test['HR@10']:.4f}  NDCG@10 {test['NDCG@10']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
