"""Category embeddings by link prediction on the category graph, with multi-hop attention diffusion.

A standalone PyG model built from graphrec's pieces (HPCL4SR §4.1, Eq. 1-2):

1. build the category co-occurrence graph :math:`a_{ij}` from training
   interactions only (:func:`graphrec.graph.category.category_graph`);
2. keep the *informative* edges — pairs that co-occur more often than chance,
   lift :math:`a_{ij} \\cdot \\sum_{kl} a_{kl} / (a_i a_j) > 1` (on noisy logs almost
   every pair co-occurs at least once, which would leave no negatives);
3. split them into train / validation / test edges with PyG's ``RandomLinkSplit``
   (validation and test negatives are sampled once, train negatives every epoch
   with ``torch_geometric.utils.negative_sampling``);
4. encode: a free embedding per category, diffused over the **training** edges
   with :class:`graphrec.nn.diffusion.AttentionDiffusion`,
   :math:`Z = \\sum_{k=0}^{K} \\theta_k A^k E` (attention weighted by Eq. 1 of the
   training graph), decoded by the inner product :math:`\\sigma(z_i^\\top z_j)`;
5. report the test AUC of the epoch with the best validation AUC, for several
   diffusion depths ``K`` (``K = 0`` is plain embedding factorisation).

Run::

    python examples/category_graph_diffusion.py                      # synthetic data, a few seconds
    python examples/category_graph_diffusion.py --smoke              # smallest setting (tests)
    python examples/category_graph_diffusion.py --data ../shared/data/amazon-beauty --hops 0 1 2 4 8
"""

from __future__ import annotations

import argparse
import random

import torch
import torch.nn.functional as F
import torch_geometric.transforms as T
from scipy.stats import rankdata
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import negative_sampling

from graphrec.data.load import load_dataset
from graphrec.graph.category import category_graph
from graphrec.graph.normalize import degree_normalize, weighted_degree
from graphrec.nn.diffusion import AttentionDiffusion

#: synthetic data with more categories than the default (20 intents of 6 categories), so that the
#: category graph has a few hundred informative edges to split; --smoke uses fewer users
SYNTHETIC = {"num_categories": 120, "num_intents": 20, "categories_per_intent": 6}
SMOKE = {**SYNTHETIC, "num_users": 500, "num_items": 600}


class DiffusedCategoryEmbedding(nn.Module):
    """Free category embeddings refined by :math:`K`-hop attention diffusion (HPCL4SR Eq. 2).

    .. math::

        Z = \\sum_{k=0}^{K} \\theta_k \\mathcal{A}^k E, \\qquad
        \\theta_k = \\alpha (1 - \\alpha)^k, \\qquad
        p(i \\sim j) = \\sigma(z_i^\\top z_j)

    Args:
        num_categories: ``C`` nodes.
        channels: embedding size ``D``.
        num_hops: diffusion depth ``K`` (0: no diffusion).
        alpha: teleport probability :math:`\\alpha`.

    Shapes:
        ``forward(edge_index (2, E), edge_weight (E,)) -> (C, D)``.
    """

    def __init__(
        self, num_categories: int, channels: int = 32, num_hops: int = 2, alpha: float = 0.15
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_categories, channels)
        self.diffusion = AttentionDiffusion(channels, num_hops=num_hops, alpha=alpha, attention=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.diffusion.reset_parameters()

    def forward(self, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        return self.diffusion(self.embedding.weight, edge_index, edge_weight)  # (C, D)

    @staticmethod
    def decode(z: Tensor, pairs: Tensor) -> Tensor:
        """``(P,)`` logits :math:`z_i^\\top z_j` of the ``(2, P)`` category pairs."""
        return (z[pairs[0]] * z[pairs[1]]).sum(dim=-1)


def informative_edges(graph: Data, min_lift: float = 1.0) -> Data:
    """The edges of a raw category graph that co-occur more often than chance.

    Lift :math:`a_{ij} \\cdot 2m / (a_i a_j)` with :math:`2m = \\sum_{ij} a_{ij}`; edges
    with lift ``> min_lift`` are kept, with their raw counts as ``edge_weight``.
    """
    num_nodes = int(graph.num_nodes)
    degree = weighted_degree(graph.edge_index, graph.edge_weight, num_nodes)  # (C,) a_i
    total = graph.edge_weight.sum()
    lift = graph.edge_weight * total / (degree[graph.edge_index[0]] * degree[graph.edge_index[1]])  # (E,)
    keep = lift > min_lift
    return Data(edge_index=graph.edge_index[:, keep], edge_weight=graph.edge_weight[keep],
                num_nodes=num_nodes)


def roc_auc(scores: Tensor, labels: Tensor) -> float:
    """Area under the ROC curve by the Mann-Whitney rank statistic (ties get half credit)."""
    ranks = torch.from_numpy(rankdata(scores.detach().numpy()))  # average ranks, 1-based
    pos = labels > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def train_link_prediction(
    train: Data, val: Data, test: Data, num_hops: int, alpha: float, channels: int, epochs: int, lr: float,
    seed: int,
) -> tuple[float, float]:
    """Train one model; return (best validation AUC, test AUC at that epoch)."""
    random.seed(seed)
    torch.manual_seed(seed)
    num_nodes = int(train.num_nodes)
    # message-passing graph = training edges only, weighted by Eq. 1 of the training graph
    mp_index = train.edge_index
    mp_weight = degree_normalize(mp_index, train.edge_weight, num_nodes)  # (E_train,)
    model = DiffusedCategoryEmbedding(num_nodes, channels, num_hops, alpha)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    positives = train.edge_label_index  # (2, P) supervision edges (both directions)
    best_val, best_test = -1.0, 0.0
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        negatives = negative_sampling(mp_index, num_nodes=num_nodes, num_neg_samples=positives.shape[1])
        z = model(mp_index, mp_weight)  # (C, D)
        logits = torch.cat([model.decode(z, positives), model.decode(z, negatives)])  # (2P,)
        labels = torch.cat([torch.ones(positives.shape[1]), torch.zeros(negatives.shape[1])])
        F.binary_cross_entropy_with_logits(logits, labels).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            z = model(mp_index, mp_weight)
            val_auc = roc_auc(model.decode(z, val.edge_label_index), val.edge_label)
            if val_auc > best_val:
                best_val = val_auc
                best_test = roc_auc(model.decode(z, test.edge_label_index), test.edge_label)
    return best_val, best_test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic", help="dataset spec (default: synthetic)")
    parser.add_argument("--hops", type=int, nargs="+", default=[0, 1, 2, 4, 8],
                        help="diffusion depths K to compare")
    parser.add_argument("--alpha", type=float, default=0.15, help="teleport probability alpha of Eq. 2")
    parser.add_argument("--channels", type=int, default=32, help="embedding size D")
    parser.add_argument("--epochs", type=int, default=200, help="full-batch training steps per model")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--min-lift", type=float, default=1.0, help="keep edges with lift above this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the graph is tiny, more threads only add overhead)")
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic data, 20 steps, K in {0, 2}")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.hops = 20, [0, 2]
    torch.set_num_threads(args.threads)

    # 1. training interactions only -> raw co-occurrence counts a_ij (node c - 1 = category c)
    options = (SMOKE if args.smoke else SYNTHETIC) if args.data == "synthetic" else {}
    dataset = load_dataset(args.data, **options)
    raw = category_graph(dataset, protocol="loo")
    # 2. informative edges only; 3. train / val / test edge split (undirected, negatives for val/test)
    graph = informative_edges(raw, args.min_lift)
    random.seed(args.seed)  # PyG's negative_sampling draws with Python's `random`
    torch.manual_seed(args.seed)
    splitter = T.RandomLinkSplit(num_val=0.1, num_test=0.2, is_undirected=True,
                                 add_negative_train_samples=False, neg_sampling_ratio=1.0)
    train, val, test = splitter(graph)
    print(f"category graph: {raw.num_nodes} categories, {raw.num_edges // 2} co-occurring pairs, "
          f"{graph.num_edges // 2} with lift > {args.min_lift}; "
          f"{train.edge_index.shape[1] // 2} train / {int(val.edge_label.sum())} val / "
          f"{int(test.edge_label.sum())} test edges")
    # 4-5. one model per diffusion depth K
    for hops in args.hops:
        val_auc, test_auc = train_link_prediction(train, val, test, hops, args.alpha, args.channels,
                                                  args.epochs, args.lr, args.seed)
        print(f"K={hops}: valid AUC {val_auc:.4f}  test AUC {test_auc:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
