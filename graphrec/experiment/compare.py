"""Paired comparison of runs over the same users: mean differences with bootstrap intervals.

Every leave-one-out run keeps each evaluated user's test rank beside its
``result.json`` (:data:`graphrec.experiment.runner.RANK_FILES`); every user-split run
keeps each evaluated user's own test value of every metric (Recall/HR/NDCG/NDCG_comirec
@N, :data:`graphrec.experiment.runner.USER_VALUE_FILES`), since a user there has several
targets and no single rank. Two sets of runs —
side A and side B, e.g. one model over several seeds against another — are compared
on the same users, user by user:

.. math::
    a_u = \\frac{1}{|A|}\\sum_{r \\in A} m(\\mathrm{rank}^r_u), \\quad
    b_u = \\frac{1}{|B|}\\sum_{r \\in B} m(\\mathrm{rank}^r_u), \\quad
    d_u = a_u - b_u, \\quad \\bar d = \\frac{1}{U}\\sum_u d_u

with :math:`m` the per-user term of the metric (:func:`graphrec.eval.ranks.metric_values` of the
rank under leave-one-out, the stored value under the user split).
The 95 % interval of :math:`\\bar d` is the paired percentile bootstrap over users:
draw ``R`` samples of ``U`` users with replacement, :math:`\\bar d^{*}_j = \\frac1U\\sum_i d_{u^{*}_{ji}}`,
and take the 2.5 % and 97.5 % quantiles of :math:`\\bar d^{*}`. Pairing removes the
variation between users that both sides share; an interval that excludes 0 says the
difference is larger than the resampling noise of these users (the seeds' own
variation enters only through the averages :math:`a_u, b_u`).

Runs are refused unless all of them evaluated the same users on data with the same
checksum, under the same protocol. Everything here is pure numpy on arrays
except :func:`load_run_ranks` (reads a run folder) and :func:`format_table`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from graphrec.atomic import file_sha256
from graphrec.eval.metrics import DEFAULT_KS, metric_names
from graphrec.eval.ranks import load_ranks, load_user_values, metric_values

VARIANTS = ("masked", "unmasked")
#: bootstrap samples drawn per chunk are capped so that a chunk's indices hold at most this many entries
CHUNK_ENTRIES = 1 << 22


@dataclass(frozen=True)
class RunRanks:
    """The per-user test results of one finished run: ranks (leave-one-out) or metric values (user split).

    Attributes:
        path: the run folder.
        users: ``(U,)`` evaluated user ids, in the order of ``ranks`` / ``values``.
        ranks: ``(U,)`` 1-based test ranks of the chosen variant (leave-one-out), or
            ``None`` for a user-split run.
        data_checksum: checksum of the data the run was evaluated on.
        model: the run's model name.
        seed: the run's seed.
        protocol: ``"loo"`` or ``"user"``.
        values: user split: ``{metric name: (U,) float64 per-user value}``; ``None`` under
            leave-one-out.
    """

    path: Path
    users: np.ndarray
    ranks: np.ndarray | None
    data_checksum: str
    model: str
    seed: int | None
    protocol: str = "loo"
    values: dict[str, np.ndarray] | None = None

    def metric_values(self, name: str) -> np.ndarray:
        """``(U,)`` float64 per-user value of metric ``name`` (its mean over users is the metric)."""
        if self.values is None:
            assert self.ranks is not None
            return metric_values(self.ranks, name)
        if name not in self.values:
            raise ValueError(f"{self.path}: the user-split run keeps per-user values of "
                             f"{sorted(self.values)}, not {name!r}")
        return self.values[name]


def load_run_ranks(run: str | os.PathLike[str], variant: str = "unmasked") -> RunRanks:
    """Read a run folder's ``result.json`` and its per-user results of the ``masked`` or ``unmasked`` test.

    Leave-one-out runs give their ranks, user-split runs their per-user metric values.

    Raises:
        FileNotFoundError: no ``result.json`` or a file it names is missing.
        ValueError: an unknown variant, or a result without per-user results (a run
            written before they were kept).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    folder = Path(run)
    result_path = folder / "result.json"
    if not result_path.is_file():
        raise FileNotFoundError(f"{folder}: no result.json (not a finished run folder)")
    result = read_result(result_path)
    if result.get("protocol") == "user":
        return _load_user_values(folder, result, variant)
    files = result.get("ranks")
    if not isinstance(files, dict) or f"test_{variant}" not in files or "users" not in files:
        raise ValueError(f"{result_path}: holds no per-user ranks (protocol {result.get('protocol')!r}; "
                         "only leave-one-out runs trained by this version keep them); retrain the run")
    check_checksums(folder, files, ("users", f"test_{variant}"))
    users = load_ranks(folder / files["users"])
    ranks = load_ranks(folder / files[f"test_{variant}"])
    if users.shape != ranks.shape:
        raise ValueError(f"{folder}: {files['users']} holds {len(users)} users but "
                         f"{files[f'test_{variant}']} {len(ranks)} ranks")
    check_ranks(folder / files[f"test_{variant}"], ranks, result, variant)
    return RunRanks(folder, users, ranks, str(result.get("data_checksum")), str(result.get("model")),
                    result.get("seed"))


def read_result(path: Path) -> dict[str, Any]:
    """A run's ``result.json`` as a mapping; a truncated or foreign file is named with the reason."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason}); not a graphrec result") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}); the run did not finish "
                         "writing it, or it is not a graphrec result") from None
    if not isinstance(result, dict):
        raise ValueError(f"{path}: holds a JSON {type(result).__name__}, not a graphrec result")
    return result


def check_checksums(folder: Path, files: dict[str, Any], keys: Sequence[str]) -> None:
    """Refuse a per-user file whose SHA-256 differs from the one its ``result.json`` recorded."""
    recorded = files.get("sha256")
    if not isinstance(recorded, dict):
        return  # a run written before checksums were kept: the means are still checked
    for key in keys:
        name = files.get(key)
        if not isinstance(name, str):
            continue
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (result.json names it)")
        if recorded.get(name) != file_sha256(path):
            raise ValueError(f"{path}: its checksum differs from the one result.json recorded; the file "
                             "was changed after the run wrote it")


#: how far a mean recomputed from per-user files may lie from the recorded metric
RECORDED_TOLERANCE = 1e-6
#: fewer bootstrap resamples than this give no usable interval
MIN_RESAMPLES = 200


def _recorded(result: dict[str, Any], variant: str) -> dict[str, Any]:
    recorded = (result.get("metrics") or {}).get(f"test_{variant}")
    return recorded if isinstance(recorded, dict) else {}


def check_ranks(path: Path, ranks: np.ndarray, result: dict[str, Any], variant: str) -> None:
    """Refuse ranks outside ``1..N`` or whose HR@k means differ from those ``result.json`` recorded."""
    num_items = int((result.get("data_summary") or {}).get("num_items") or 0)
    if len(ranks) and (ranks.min() < 1 or (num_items and ranks.max() > num_items)):
        raise ValueError(f"{path}: ranks must lie in 1..{num_items or 'N'}, "
                         f"found {ranks.min()}..{ranks.max()}")
    for name, value in _recorded(result, variant).items():
        if not (name.startswith("HR@") and isinstance(value, (int, float))):
            continue
        mean = float(np.mean(ranks <= int(name[3:]))) if len(ranks) else 0.0
        if abs(mean - value) > RECORDED_TOLERANCE:
            raise ValueError(f"{path}: its ranks give {name} = {mean:.6f} but result.json records "
                             f"{value:.6f}; the file does not belong to this run")


def check_user_values(path: Path, values: dict[str, np.ndarray], result: dict[str, Any],
                      variant: str) -> None:
    """Refuse per-user values that are not finite, lie outside their range, or whose means differ
    from the metrics ``result.json`` recorded."""
    recorded = _recorded(result, variant)
    for name, column in values.items():
        if not np.all(np.isfinite(column)):
            raise ValueError(f"{path}: {name} holds values that are not finite")
        upper = None if name.startswith("NDCG_comirec") else 1.0
        if len(column) and (column.min() < 0.0 or (upper is not None and column.max() > upper)):
            raise ValueError(f"{path}: {name} must lie in [0, {upper or 'inf'}), found "
                             f"{column.min():.4g}..{column.max():.4g}")
        value = recorded.get(name)
        mean = float(column.mean()) if len(column) else 0.0
        if isinstance(value, (int, float)) and len(column) and abs(mean - value) > RECORDED_TOLERANCE:
            raise ValueError(f"{path}: its {name} values average {mean:.6f} but result.json "
                             f"records {value:.6f}; the file does not belong to this run")


def _load_user_values(folder: Path, result: dict[str, Any], variant: str) -> RunRanks:
    """A user-split run's per-user metric values (``result["per_user"]``)."""
    files = result.get("per_user")
    if not isinstance(files, dict) or f"test_{variant}" not in files or "metrics" not in files:
        raise ValueError(f"{folder / 'result.json'}: a user-split run without per-user metric values "
                         "(written before they were kept); retrain the run")
    names = [str(name) for name in files["metrics"]]
    check_checksums(folder, files, ("users", f"test_{variant}"))
    users = load_ranks(folder / files["users"])
    matrix = load_user_values(folder / files[f"test_{variant}"], len(names))  # (U, M)
    if matrix.shape[0] != len(users):
        raise ValueError(f"{folder}: {files['users']} holds {len(users)} users but "
                         f"{files[f'test_{variant}']} {matrix.shape[0]} rows")
    values = {name: matrix[:, j] for j, name in enumerate(names)}
    check_user_values(folder / files[f"test_{variant}"], values, result, variant)
    return RunRanks(folder, users, None, str(result.get("data_checksum")), str(result.get("model")),
                    result.get("seed"), protocol="user", values=values)


def check_same_users(runs: Sequence[RunRanks]) -> None:
    """Refuse runs that do not share the first run's data checksum and evaluated users, naming them."""
    if not runs:
        raise ValueError("no runs to compare")
    first = runs[0]
    other_protocol = [str(r.path) for r in runs if r.protocol != first.protocol]
    if other_protocol:
        raise ValueError(f"runs evaluated under another protocol than {first.path} ({first.protocol!r}): "
                         f"{', '.join(other_protocol)}")
    other_data = [str(r.path) for r in runs if r.data_checksum != first.data_checksum]
    if other_data:
        raise ValueError(f"runs evaluated on other data than {first.path} (checksum {first.data_checksum}): "
                         f"{', '.join(other_data)}; compare runs of the same dataset only")
    other_users = [str(r.path) for r in runs
                   if r.users.shape != first.users.shape or not np.array_equal(r.users, first.users)]
    if other_users:
        raise ValueError(f"runs evaluated on other users than {first.path}: {', '.join(other_users)}")


def default_metrics(run: RunRanks) -> list[str]:
    """The metrics compared unless named: HR/NDCG@{5,10,20} and MRR (leave-one-out), or every
    stored per-user metric but the ComiRec-code NDCG (user split)."""
    if run.values is None:
        return metric_names(DEFAULT_KS)
    return [name for name in run.values if not name.startswith("NDCG_comirec")]


def side_values(runs: Sequence[RunRanks], metric: str) -> np.ndarray:
    """``(U,)`` per-user value of ``metric`` averaged over the runs of one side (:math:`a_u`)."""
    return np.mean(np.stack([r.metric_values(metric) for r in runs]), axis=0)  # (U,)


def bootstrap_means(diffs: np.ndarray, resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """Means of ``resamples`` bootstrap samples of the users, for every row of ``diffs``.

    Sample ``j`` draws ``U`` user indices :math:`u^*_{j1..jU}` uniformly with replacement
    (``numpy.random.default_rng(seed)``, in chunks of samples, vectorised) and every row
    ``m`` gets :math:`\\frac1U\\sum_i d_{m, u^*_{ji}}`. The same samples serve every row,
    and the draws depend only on ``seed``, ``U`` and ``resamples``.

    Args:
        diffs: ``(U,)`` or ``(M, U)`` per-user values.
        resamples: number of bootstrap samples ``R`` (>= 1).
        seed: seed of the sampler.

    Returns:
        ``(R,)`` or ``(M, R)`` float64 bootstrap means.
    """
    values = np.asarray(diffs, dtype=np.float64)
    single = values.ndim == 1
    rows = values[None, :] if single else values  # (M, U)
    if rows.ndim != 2 or rows.shape[1] == 0:
        raise ValueError(f"need per-user values of shape (U,) or (M, U) with U > 0, got {values.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    num_users = rows.shape[1]
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_ENTRIES // num_users)
    out = np.empty((rows.shape[0], resamples), dtype=np.float64)  # (M, R)
    for begin in range(0, resamples, chunk):
        size = min(chunk, resamples - begin)
        idx = rng.integers(0, num_users, size=(size, num_users))  # (C, U) users of each sample
        for m in range(rows.shape[0]):  # one row per metric, a few
            out[m, begin : begin + size] = rows[m][idx].mean(axis=1)  # (C,)
    return out[0] if single else out


def percentile_interval(means: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of bootstrap means."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(np.asarray(means, dtype=np.float64), [tail, 1.0 - tail])
    return float(lo), float(hi)


def paired_bootstrap(a_values: np.ndarray, b_values: np.ndarray, resamples: int = 2000, seed: int = 0,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean paired difference :math:`\\bar d = \\frac1U\\sum_u (a_u - b_u)` and its bootstrap interval.

    Args:
        a_values / b_values: ``(U,)`` per-user values of the two sides, same users in the same order.
        resamples: bootstrap samples (:func:`bootstrap_means`).
        seed: seed of the sampler.
        confidence: coverage of the percentile interval (default 0.95).

    Returns:
        ``(mean_diff, lo, hi)``.
    """
    a = np.asarray(a_values, dtype=np.float64)
    b = np.asarray(b_values, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a_values and b_values must be 1-D of the same length, got {a.shape} and {b.shape}")
    diffs = a - b  # (U,) d_u
    lo, hi = percentile_interval(bootstrap_means(diffs, resamples, seed), confidence)
    return float(diffs.mean()), lo, hi


def compare_runs(runs_a: Sequence[RunRanks], runs_b: Sequence[RunRanks], metrics: Sequence[str] | None = None,
                 resamples: int = 2000, seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Paired comparison of side A against side B on every metric (see the module docstring).

    Returns:
        ``{"num_users", "data_checksum", "resamples", "seed", "confidence", "runs_a", "runs_b",
        "metrics": {name: {"mean_a", "mean_b", "diff", "ci_low", "ci_high", "excludes_zero"}}}``;
        every metric uses the same bootstrap samples.
    """
    if not runs_a or not runs_b:
        raise ValueError("each side needs at least one run")
    if resamples < MIN_RESAMPLES:
        raise ValueError(f"--resamples {resamples}: an interval needs at least {MIN_RESAMPLES} resamples")
    seen: set[Path] = set()
    for run in [*runs_a, *runs_b]:
        key = Path(run.path).resolve()
        if key in seen:
            raise ValueError(f"{run.path}: given twice; each run may appear once across both sides")
        seen.add(key)
    check_same_users([*runs_a, *runs_b])
    names = list(metrics) if metrics else default_metrics(runs_a[0])
    a = np.stack([side_values(runs_a, name) for name in names])  # (M, U)
    b = np.stack([side_values(runs_b, name) for name in names])  # (M, U)
    boot = bootstrap_means(a - b, resamples, seed)  # (M, R)
    table: dict[str, dict[str, Any]] = {}
    for m, name in enumerate(names):
        lo, hi = percentile_interval(boot[m], confidence)
        table[name] = {"mean_a": float(a[m].mean()), "mean_b": float(b[m].mean()),
                       "diff": float((a[m] - b[m]).mean()), "ci_low": lo, "ci_high": hi,
                       "excludes_zero": bool(lo > 0.0 or hi < 0.0)}
    return {
        "num_users": int(a.shape[1]),
        "data_checksum": runs_a[0].data_checksum,
        "resamples": int(resamples),
        "seed": int(seed),
        "confidence": float(confidence),
        "runs_a": [{"run": str(r.path), "model": r.model, "seed": r.seed} for r in runs_a],
        "runs_b": [{"run": str(r.path), "model": r.model, "seed": r.seed} for r in runs_b],
        "metrics": table,
    }


def format_table(report: dict[str, Any]) -> str:
    """The comparison as a plain-text table (one line per metric)."""
    models_a = ", ".join(sorted({r["model"] for r in report["runs_a"]}))
    models_b = ", ".join(sorted({r["model"] for r in report["runs_b"]}))
    pct = int(round(100 * report["confidence"]))
    lines = [f"A: {models_a} ({len(report['runs_a'])} runs)   B: {models_b} ({len(report['runs_b'])} runs)   "
             f"{report['num_users']} users, {report['resamples']} bootstrap samples, seed {report['seed']}",
             f"{'metric':<10} {'mean A':>9} {'mean B':>9} {'A - B':>10}   {f'{pct} % CI':<23} excludes 0"]
    for name, row in report["metrics"].items():
        interval = f"[{row['ci_low']:+.5f}, {row['ci_high']:+.5f}]"
        mark = "yes" if row["excludes_zero"] else "no"
        lines.append(f"{name:<10} {row['mean_a']:>9.5f} {row['mean_b']:>9.5f} {row['diff']:>+10.5f}   "
                     f"{interval:<23} {mark}")
    return "\n".join(lines)


def normal_interval(diffs: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The normal approximation of the interval, :math:`\\bar d \\pm z_{(1+c)/2}\\, s / \\sqrt{U}`.

    ``s`` is the population standard deviation of the per-user differences (that of the
    bootstrap distribution); the percentile bootstrap approaches it for large ``U``.
    """
    d = np.asarray(diffs, dtype=np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    half = z * float(d.std()) / math.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


__all__ = ["CHUNK_ENTRIES", "VARIANTS", "RunRanks", "bootstrap_means", "check_same_users", "compare_runs",
           "default_metrics",
           "format_table", "load_run_ranks", "normal_interval", "paired_bootstrap", "percentile_interval",
           "side_values"]
