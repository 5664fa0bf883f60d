"""How different a user's interests are (HPCL4SR Fig. 1), and a case-study printer (HPCL4SR §5.5).

**Interest similarity.** For every evaluated user :math:`u` of a run (the valid or test
users of its split, encoded from their histories as at evaluation) the model's ``K``
interests :math:`q_{u,1..K}` (``model.interests``) give the ``K (K - 1) / 2`` pairwise
cosine similarities

.. math::
    s_{u,k,k'} = \\frac{q_{u,k}^\\top q_{u,k'}}{\\lVert q_{u,k} \\rVert \\lVert q_{u,k'} \\rVert},
    \\qquad k < k' .

Zhu et al. (HPCL4SR, World Wide Web 2024), Fig. 1, plot the share of these values in
each similarity interval, over 128 random users, for REMI and HPCL4SR: similar
interests pile up near 1. :func:`interest_similarity_report` computes that
histogram (percent of all pairs per bin over ``[-1, 1]``) for several runs, with the
distribution of each user's mean pairwise similarity beside it, and
:func:`write_interest_similarity` writes ``interest_similarity.png`` and
``interest_similarity.json``.

**Case study.** :func:`case_study` shows, for chosen held-out users, the history with
its categories, each interest's own top items (with categories and scores), the merged
list the protocol evaluates (:func:`graphrec.eval.retrieval.multi_interest_topn`) and the
held-out targets, marking hits; :func:`format_case_study` prints it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from graphrec.atomic import write_json_atomic, write_png_atomic
from graphrec.data.dataset import SequenceDataset
from graphrec.eval.retrieval import EMPTY_ITEM, interest_topn, multi_interest_topn
from graphrec.experiment.runs import LoadedRun

#: the similarity histogram's range
SIMILARITY_RANGE = (-1.0, 1.0)


def pairwise_cosines(interests: Tensor) -> Tensor:
    """``(B, K (K - 1) / 2)`` cosine similarity of every pair ``k < k'`` of each row's interests.

    A zero interest has similarity 0 with every other one.

    Args:
        interests: ``(B, K, D)``, ``K >= 2``.
    """
    if interests.dim() != 3 or interests.shape[1] < 2:
        raise ValueError(f"interests must be (B, K, D) with K >= 2, got {tuple(interests.shape)}")
    x = F.normalize(interests.double(), dim=-1)  # (B, K, D)
    gram = x @ x.transpose(1, 2)  # (B, K, K)
    first, second = torch.triu_indices(x.shape[1], x.shape[1], offset=1)  # pairs k < k'
    return gram[:, first, second]  # (B, K (K - 1) / 2)


def user_interests(model: torch.nn.Module, split: Any, which: str = "test", rows: np.ndarray | None = None,
                   batch_size: int = 512, device: str | torch.device = "cpu") -> Tensor:
    """``(R, K, D)`` interests of held-out ``rows`` of ``which`` (eval mode, no gradient), on CPU."""
    if rows is None:
        rows = np.arange(split.num_eval_rows(which))
    was_training = model.training
    model.eval()
    parts: list[Tensor] = []
    try:
        with torch.no_grad():
            for begin in range(0, len(rows), batch_size):
                batch = split.eval_batch(which, rows[begin:begin + batch_size]).to(device)
                parts.append(model.interests(batch).float().cpu())  # type: ignore[operator]  # (B, K, D)
    finally:
        model.train(was_training)
    if not parts:
        raise ValueError(f"no {which} users to encode")
    return torch.cat(parts)


def similarity_histogram(values: np.ndarray, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges ``(bins + 1,)`` over ``[-1, 1]`` and the percent of ``values`` in each bin ``(bins,)``."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    flat = np.clip(np.asarray(values, dtype=np.float64).ravel(), *SIMILARITY_RANGE)
    counts, edges = np.histogram(flat, bins=bins, range=SIMILARITY_RANGE)
    percent = 100.0 * counts / max(len(flat), 1)
    return edges, percent


def _summary(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "q1": float(np.quantile(values, 0.25)), "median": float(np.median(values)),
            "q3": float(np.quantile(values, 0.75)), "max": float(values.max())}


def run_interest_similarity(run: LoadedRun, which: str = "test", num_users: int | None = None, seed: int = 0,
                            bins: int = 20, batch_size: int = 512,
                            label: str | None = None) -> dict[str, Any]:
    """The interest-similarity histogram of one loaded run, as a JSON-able dict.

    Args:
        run: a run trained under the user split (held-out users with histories).
        which: ``"valid"`` or ``"test"`` users.
        num_users: a random sample of that many users (the paper: 128); ``None``: all.
        seed: seed of the sample.
        bins: histogram bins over ``[-1, 1]``.
        batch_size: users per forward pass.
        label: the run's name in the plot.

    Returns:
        ``{"label", "run", "model", "model_options", "num_interests", "num_users", "users",
        "pairs": {"edges", "percent", "summary"}, "user_mean": {"edges", "percent", "summary"}}``.
    """
    split = run.split
    if not hasattr(split, "eval_set"):
        raise ValueError(f"{run.checkpoint}: the interest analysis needs a run under the user split "
                         f"(protocol 'user'), this one used {run.config.protocol!r}")
    total = split.num_eval_rows(which)
    rows = np.arange(total)
    if num_users is not None and num_users < total:
        rows = np.sort(np.random.default_rng(seed).choice(total, size=num_users, replace=False))
    interests = user_interests(run.model, split, which, rows, batch_size, run.device)  # (R, K, D)
    if interests.shape[1] < 2:
        raise ValueError(f"{run.config.model} has K = {interests.shape[1]} interest per user; the "
                         "similarity of interests needs K >= 2")
    cos = pairwise_cosines(interests).numpy()  # (R, P)
    user_mean = cos.mean(axis=1)  # (R,)
    edges, percent = similarity_histogram(cos, bins)
    user_edges, user_percent = similarity_histogram(user_mean, bins)
    name = run.config.model
    return {
        "label": label or f"{name} ({run.checkpoint.parent.parent.name or run.checkpoint.parent.name})",
        "run": str(run.checkpoint),
        "model": name,
        "model_options": dict(run.config.model_options),
        "which": which,
        "num_interests": int(interests.shape[1]),
        "num_users": int(len(rows)),
        "users": [int(u) for u in split.eval_set(which).users[rows]],
        "pairs": {"edges": edges.tolist(), "percent": percent.tolist(), "summary": _summary(cos.ravel())},
        "user_mean": {"edges": user_edges.tolist(), "percent": user_percent.tolist(),
                      "summary": _summary(user_mean)},
    }


def interest_similarity_report(runs: Sequence[LoadedRun], labels: Sequence[str] | None = None,
                               which: str = "test", num_users: int | None = None, seed: int = 0,
                               bins: int = 20, batch_size: int = 512) -> dict[str, Any]:
    """:func:`run_interest_similarity` of every run: ``{"which", "bins", "num_users", "seed", "runs"}``."""
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    reports = [run_interest_similarity(run, which, num_users, seed, bins, batch_size,
                                       None if labels is None else labels[i]) for i, run in enumerate(runs)]
    return {"which": which, "bins": int(bins), "num_users": num_users, "seed": int(seed), "runs": reports}


def plot_interest_similarity(reports: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Fig. 1 style: percent of interest pairs per similarity bin, one bar series per run (PNG, atomic).

    A second panel shows the distribution of each user's mean pairwise similarity.
    Uses matplotlib's Agg canvas directly (no display, no global backend change).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.0))
    FigureCanvasAgg(fig)
    for panel, (key, title) in enumerate((("pairs", "pairs of a user's interests"),
                                          ("user_mean", "mean over a user's pairs"))):
        ax = fig.add_subplot(1, 2, panel + 1)
        count = max(len(reports), 1)
        for i, report in enumerate(reports):
            edges = np.asarray(report[key]["edges"])
            width = (edges[1] - edges[0]) / (count + 0.5)
            centers = edges[:-1] + width * (i + 0.75)
            mean = report[key]["summary"]["mean"]
            ax.bar(centers, report[key]["percent"], width=width, align="center",
                   label=f"{report['label']} (K={report['num_interests']}, mean {mean:.2f})")
        ax.set_xlim(*SIMILARITY_RANGE)
        ax.set_xlabel("cosine similarity")
        ax.set_ylabel("percent")
        ax.set_title(title)
        if reports:
            ax.legend(loc="upper left", fontsize=7)
    return write_png_atomic(fig, path)


def write_interest_similarity(report: dict[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``interest_similarity.png`` and ``interest_similarity.json`` into ``out_dir``.

    ``out_dir`` must be a folder graphrec may write into (the CLI claims it with
    :func:`graphrec.outputs.claim_output_dir`). Returns the two paths.
    """
    out = Path(out_dir)
    png = plot_interest_similarity(report["runs"], out / "interest_similarity.png")
    return [png, write_json_atomic(out / "interest_similarity.json", {**report, "plot": png.name})]


# ------------------------------------------------------------------- case study
def _item_entry(dataset: SequenceDataset, item: int, **extra: Any) -> dict[str, Any]:
    names, cat_names = dataset.item_names, dataset.category_names
    category = int(dataset.item_category[item]) if dataset.item_category is not None else 0
    return {
        "item": names[item - 1] if names else str(item),
        "category": (cat_names[category - 1] if cat_names and category > 0 else str(category)),
        **extra,
    }


def sample_eval_users(run: LoadedRun, count: int, which: str = "test", seed: int = 0) -> list[str]:
    """Names of ``count`` held-out users of the ``which`` group, drawn without replacement.

    The draw depends only on ``seed`` and the split, so the same command shows the same users.
    Returns them in split order; all of them when the group has at most ``count``.
    """
    split, dataset = run.split, run.dataset
    if not hasattr(split, "eval_set"):
        raise ValueError(f"{run.checkpoint}: the case study needs a run under the user split "
                         "(protocol 'user')")
    if count < 1:
        raise ValueError(f"the number of users must be >= 1, got {count}")
    users = split.eval_set(which).users
    if count < len(users):
        users = users[np.sort(np.random.default_rng(seed).choice(len(users), size=count, replace=False))]
    return [dataset.user_names[int(u)] if dataset.user_names else str(int(u)) for u in users]


def case_study(run: LoadedRun, users: Sequence[str], top: int = 10,
               which: str = "test") -> list[dict[str, Any]]:
    """What a run recommends to some held-out users, interest by interest.

    Args:
        run: a run under the user split.
        users: user names as in the dataset (dense indices when it has none); each must
            be a user of the ``which`` group.
        top: list length N of every interest and of the merged list.
        which: ``"valid"`` or ``"test"``.

    Returns:
        One dict per user: ``user``, ``history`` (every history item with its category,
        ``in_window`` marking the ``max_len`` the model reads), ``interests`` (per interest
        its top items with category, score and ``target``), ``merged`` (the evaluated
        list, ``target`` marked) and ``targets`` (held-out items, ``hit`` marked).
    """
    from graphrec.experiment.recommend import users_to_rows

    split, dataset, model = run.split, run.dataset, run.model
    if not hasattr(split, "eval_set"):
        raise ValueError(f"{run.checkpoint}: the case study needs a run under the user split "
                         "(protocol 'user')")
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    part = split.eval_set(which)
    user_index = users_to_rows(dataset, list(users), "--users")
    row_of = {int(u): r for r, u in enumerate(part.users)}
    missing = [name for name, u in zip(users, user_index, strict=True) if int(u) not in row_of]
    if missing:
        examples = [dataset.user_names[u] if dataset.user_names else str(u) for u in part.users[:5]]
        raise ValueError(f"user(s) {missing} are not {which} users of this run's split (only held-out users "
                         f"have targets); e.g. {examples}")
    rows = np.array([row_of[int(u)] for u in user_index], dtype=np.int64)
    batch = split.eval_batch(which, rows).to(run.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            interests = model.interests(batch).float()  # (R, K, D)
            item_emb = model.item_embeddings().float()  # (N + 1, D)
            per_items, per_scores = interest_topn(interests, item_emb, top)  # (R, K, top)
            merged, merged_scores = multi_interest_topn(interests, item_emb, top)  # (R, top)
    finally:
        model.train(was_training)
    out = []
    for r, (name, row) in enumerate(zip(users, rows, strict=True)):
        targets = part.target_items[part.target_indptr[row]:part.target_indptr[row + 1]]
        target_set = {int(t) for t in targets}
        start, end = int(part.history_start[row]), int(part.history_end[row])
        history = dataset.items[start:end]
        window = split.max_len
        listed = {int(i) for i in merged[r].tolist() if int(i) != EMPTY_ITEM}
        out.append({
            "user": str(name),
            "history": [_item_entry(dataset, int(i), in_window=bool(j >= len(history) - window))
                        for j, i in enumerate(history)],
            "interests": [
                [_item_entry(dataset, int(i), score=round(float(s), 4), target=int(i) in target_set)
                 for i, s in zip(per_items[r, k].tolist(), per_scores[r, k].tolist(), strict=True)
                 if int(i) != EMPTY_ITEM]
                for k in range(per_items.shape[1])
            ],
            "merged": [_item_entry(dataset, int(i), score=round(float(s), 4), target=int(i) in target_set)
                       for i, s in zip(merged[r].tolist(), merged_scores[r].tolist(), strict=True)
                       if int(i) != EMPTY_ITEM],
            "targets": [_item_entry(dataset, int(t), hit=int(t) in listed) for t in targets],
        })
    return out


def format_case_study(cases: Sequence[dict[str, Any]]) -> str:
    """Human-readable text of :func:`case_study`: ``item [category]``, targets marked ``*``."""

    def show(entries: Sequence[dict[str, Any]], mark: str | None = None) -> str:
        return ", ".join(f"{e['item']} [{e['category']}]{'*' if mark and e.get(mark) else ''}"
                         for e in entries)

    lines: list[str] = []
    for case in cases:
        history = case["history"]
        cut = sum(1 for e in history if not e["in_window"])
        lines.append(f"user {case['user']}: {len(history)} history items"
                     + (f" (the model reads the last {len(history) - cut})" if cut else ""))
        lines.append(f"  history: {show(history)}")
        for k, items in enumerate(case["interests"]):
            lines.append(f"  interest {k}: {show(items, 'target')}")
        lines.append(f"  merged:   {show(case['merged'], 'target')}")
        hits = sum(1 for e in case["targets"] if e["hit"])
        lines.append(f"  targets ({hits} of {len(case['targets'])} in the merged list): "
                     f"{show(case['targets'], 'hit')}")
    lines.append("(* = a held-out target; for targets: retrieved in the merged list)")
    return "\n".join(lines)


__all__ = [
    "SIMILARITY_RANGE",
    "case_study",
    "format_case_study",
    "interest_similarity_report",
    "pairwise_cosines",
    "plot_interest_similarity",
    "run_interest_similarity",
    "similarity_histogram",
    "user_interests",
    "write_interest_similarity",
]
