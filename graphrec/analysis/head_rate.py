"""Head rate of intent clusters: how evenly head and tail sequences share the clusters (S4Rec Fig. 3).

Wei et al., "Leave No One Behind" (S4Rec, WWW 2024), Fig. 3: S4Rec's prototypes mix
head and tail sequences, whereas ICLRec's k-means intents tend to gather head
sequences in some clusters and tail sequences in others. For a trained run every
training sequence :math:`u` (every training row of the split, encoded as the model
clusters it, ``model.intent_space``) is assigned its cluster :math:`h(u)` — S4Rec:
its nearest prototype, :math:`\\arg\\max_k z_u \\mu_k^\\top`; ICLRec: its nearest
k-means intent, :math:`\\arg\\min_k \\lVert z_u - c_k \\rVert` — and each non-empty
cluster :math:`k` gets

.. math::
    \\mathrm{HR}_k = \\frac{|\\{u : h(u) = k,\\ u \\in \\mathcal{H}\\}|}{|\\{u : h(u) = k\\}|},

with :math:`\\mathcal{H}` the head sequences (the longest 20 % of training sequences,
:func:`graphrec.eval.head_tail.head_users`). The cluster-size-weighted mean of the
:math:`\\mathrm{HR}_k` is the overall head share; a box plot of the :math:`\\mathrm{HR}_k`
per run shows how far clusters stray from it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphrec.atomic import write_json_atomic, write_png_atomic
from graphrec.eval.head_tail import HEAD_RATIO, head_users
from graphrec.experiment.runs import LoadedRun

#: model attributes holding the clusters, in the order tried (S4Rec, ICLRec)
CLUSTER_ATTRIBUTES = ("prototypes", "intents")


def _clusterer(model: torch.nn.Module) -> tuple[str, Any]:
    """The model's cluster module (with ``assign(z)``) and its attribute name; ``ValueError`` if none."""
    name = type(model).__name__
    if not callable(getattr(model, "intent_space", None)):
        raise ValueError(f"{name} has no intent clusters (needs intent_space and prototypes or intents, "
                         "as S4Rec and ICLRec)")
    for attribute in CLUSTER_ATTRIBUTES:
        module = getattr(model, attribute, None)
        if module is not None and callable(getattr(module, "assign", None)):
            fitted = getattr(module, "fitted", None)
            if isinstance(fitted, Tensor) and not bool(fitted):
                raise ValueError(f"{name}'s k-means {attribute} were never fitted (no training epoch ran)")
            return attribute, module
    variant = getattr(model, "variant", None)
    raise ValueError(f"{name}{f' (variant {variant!r})' if variant else ''} has no clusters to analyse")


def num_clusters(model: torch.nn.Module) -> int:
    """``K``, the number of clusters of an S4Rec or ICLRec model."""
    _, module = _clusterer(model)
    return int(module().shape[0])  # (K, D)


def cluster_assignments(model: torch.nn.Module, split: Any, batch_size: int = 1024,
                        device: str | torch.device = "cpu") -> np.ndarray:
    """``(R,)`` cluster :math:`h(u)` of every training row of ``split`` (eval mode, no gradient).

    Args:
        model: an S4Rec (prototypes or k-means intents) or ICLRec model.
        split: the run's split (``num_train_rows``, ``train_batch(rows)``).
        batch_size: rows per forward pass.
        device: where to encode.
    """
    _, module = _clusterer(model)
    was_training = model.training
    model.eval()
    parts: list[Tensor] = []
    try:
        with torch.no_grad():
            for begin in range(0, split.num_train_rows, batch_size):
                rows = np.arange(begin, min(begin + batch_size, split.num_train_rows))
                batch = split.train_batch(rows).to(device)
                z = model.intent_space(batch.input_ids)  # type: ignore[operator]  # (B, D)
                parts.append(module.assign(z).cpu())  # (B,)
    finally:
        model.train(was_training)
    return torch.cat(parts).numpy() if parts else np.zeros(0, dtype=np.int64)


def cluster_head_rates(clusters: np.ndarray, is_head: np.ndarray,
                       num_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Size and head rate :math:`\\mathrm{HR}_k` of every cluster (NaN for an empty one).

    Args:
        clusters: ``(R,)`` cluster of every sequence, in ``0..K-1``.
        is_head: ``(R,)`` bool, whether each sequence is a head sequence.
        num_clusters: ``K``.

    Returns:
        ``(sizes, rates)``: ``(K,)`` int64 and ``(K,)`` float64; the head share of all
        rows is :math:`\\sum_k \\mathrm{size}_k \\mathrm{HR}_k / \\sum_k \\mathrm{size}_k`.
    """
    ids = np.asarray(clusters, dtype=np.int64)
    head = np.asarray(is_head, dtype=bool)
    if ids.shape != head.shape or ids.ndim != 1:
        raise ValueError(f"clusters {ids.shape} and is_head {head.shape} must be 1-D of the same length")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num_clusters):
        raise ValueError(f"cluster ids must lie in 0..{num_clusters - 1}")
    sizes = np.bincount(ids, minlength=num_clusters)  # (K,)
    heads = np.bincount(ids, weights=head.astype(np.float64), minlength=num_clusters)  # (K,)
    rates = np.full(num_clusters, np.nan)
    np.divide(heads, sizes, out=rates, where=sizes > 0)
    return sizes.astype(np.int64), rates


def run_head_rates(run: LoadedRun, batch_size: int = 1024, head_ratio: float = HEAD_RATIO,
                   label: str | None = None) -> dict[str, Any]:
    """The head rate of every cluster of one loaded run, as a JSON-able dict.

    Returns:
        ``{"label", "run", "model", "clusters" ("prototypes" | "intents"), "num_clusters",
        "num_sequences", "head_ratio", "head_share", "cluster_sizes", "head_rates"
        (None for empty clusters), "summary"}``; ``summary`` holds the mean, std, min,
        quartiles and max of the non-empty clusters' head rates and their size-weighted mean.
    """
    model, split = run.model, run.split
    attribute, _ = _clusterer(model)
    clusters = cluster_assignments(model, split, batch_size, run.device)  # (R,)
    is_head = head_users(split, head_ratio)[np.asarray(split.train_users, dtype=np.int64)]  # (R,)
    k = num_clusters(model)
    sizes, rates = cluster_head_rates(clusters, is_head, k)
    filled = rates[sizes > 0]
    weighted = float((sizes * np.nan_to_num(rates)).sum() / sizes.sum()) if sizes.sum() else float("nan")
    summary = ({"mean": float(filled.mean()), "std": float(filled.std()), "min": float(filled.min()),
                "q1": float(np.quantile(filled, 0.25)), "median": float(np.median(filled)),
                "q3": float(np.quantile(filled, 0.75)), "max": float(filled.max()),
                "size_weighted_mean": weighted} if len(filled) else {})
    name = run.config.model
    return {
        "label": label or f"{name} ({run.checkpoint.parent.parent.name or run.checkpoint.parent.name})",
        "run": str(run.checkpoint),
        "model": name,
        "model_options": dict(run.config.model_options),
        "clusters": attribute,
        "num_clusters": k,
        "nonempty_clusters": int((sizes > 0).sum()),
        "num_sequences": int(len(clusters)),
        "head_ratio": float(head_ratio),
        "head_share": float(is_head.mean()) if len(is_head) else float("nan"),
        "cluster_sizes": sizes.tolist(),
        "head_rates": [None if s == 0 else float(r) for s, r in zip(sizes, rates, strict=True)],
        "summary": summary,
    }


def plot_head_rates(reports: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Box plot of the non-empty clusters' head rates, one box per run, written atomically as PNG.

    A dashed line marks each run's overall head share (the size-weighted mean of its boxes).
    Uses matplotlib's Agg canvas directly (no display, no global backend change).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4.0, 1.6 * len(reports) + 2.0), 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    data = [[r for r in report["head_rates"] if r is not None] for report in reports]
    positions = np.arange(1, len(reports) + 1)
    ax.boxplot(data, positions=positions, widths=0.5, showmeans=True)
    for x, report in zip(positions, reports, strict=True):
        ax.hlines(report["head_share"], x - 0.35, x + 0.35, colors="tab:red", linestyles="dashed",
                  label="head share of all sequences" if x == 1 else "_nolegend_")
    ax.set_xticks(positions)
    ax.set_xticklabels([f"{r['label']}\nK={r['num_clusters']}" for r in reports], fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("head rate of a cluster")
    ax.set_title("share of head sequences per cluster")
    if reports:
        ax.legend(loc="upper right", fontsize=8)
    return write_png_atomic(fig, path)


def head_rate_report(runs: Sequence[LoadedRun], labels: Sequence[str] | None = None, batch_size: int = 1024,
                     head_ratio: float = HEAD_RATIO) -> dict[str, Any]:
    """Head rates of every run's clusters (:func:`run_head_rates`), as one JSON-able dict.

    Returns:
        ``{"head_ratio": rho, "runs": [per-run dict, ...]}``.
    """
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    reports = [run_head_rates(run, batch_size, head_ratio, None if labels is None else labels[i])
               for i, run in enumerate(runs)]
    return {"head_ratio": float(head_ratio), "runs": reports}


def write_head_rate(report: dict[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``head_rate.png`` (:func:`plot_head_rates`) and ``head_rate.json`` into ``out_dir``.

    ``out_dir`` must be a folder graphrec may write into (the CLI claims it with
    :func:`graphrec.outputs.claim_output_dir`). Returns the two paths.
    """
    out = Path(out_dir)
    png = plot_head_rates(report["runs"], out / "head_rate.png")
    payload = {**report, "plot": png.name}
    return [png, write_json_atomic(out / "head_rate.json", payload)]


__all__ = ["CLUSTER_ATTRIBUTES", "cluster_assignments", "cluster_head_rates", "head_rate_report",
           "num_clusters", "plot_head_rates", "run_head_rates", "write_head_rate"]
