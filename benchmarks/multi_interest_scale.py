"""ComiRec-SA at Taobao scale: one training epoch and user-split retrieval over the whole catalogue.

Measures, on the synthetic Taobao ``UserBehavior.csv`` of ``prepare_scale.py``
(default 20M rows, 1M users, 2M items, 10,000 categories, seed 0; same generator,
:func:`prepare_scale.write_synthetic`), after conversion with
:func:`data_prep.taobao.convert_taobao` and iterative 5-core filtering (in a child
process, so that its memory is not this process's):

1. **training**: ComiRec-SA (``comirec_sa``: K = 4, d = 64, max_len = 50, sampled
   softmax over 1280 shared log-uniform negatives with log-Q correction) built by
   :func:`graphrec.experiment.config.build_model` from the user split
   (:class:`graphrec.data.user_split.UserSplit`, seed 2024, 8:1:1), trained for ONE
   epoch over all training rows with batch 128 and lr 1e-3. ``--sparse`` (the default)
   trains with a sparse item table (``model.sparse_items=true``: the table's gradient
   covers the batch's items and the sampled negatives only) and
   :class:`~graphrec.train.lazy_adam.LazyAdam` (``train.optimizer=lazy_adam``), which
   updates those rows only; ``--dense`` trains the dense table with Adam, which updates
   every row of the table every step. The record says which (``"item_table"``,
   ``"optimizer"``). The loop is the
   trainer's step without validation (the :class:`~graphrec.train.trainer.Trainer`
   always validates after its last epoch and then tests, which at this scale would
   cost more than the epoch): the same seeded row permutation, the model's own batch
   step (``training_batch``, seeded per ``(seed, epoch, step)``), ``loss_terms`` summed
   with weight 1, backward, the optimizer step. Recorded: rows (training sequences) per second,
   seconds split into batch step / forward+backward / optimizer step, and the stage's
   peak resident memory. ``--max-steps`` caps the epoch for small trials; the record
   then says ``capped: true`` with the steps done and the steps of a whole epoch, and
   any whole-epoch time is labelled ``extrapolated_epoch_seconds``.
2. **retrieval**: ``--eval-users`` (default 10,000) held-out test users (a seeded
   sample) are encoded once into ``(K, D)`` interests; each interest retrieves its
   top-50 over the whole catalogue and the lists are merged by score
   (:func:`graphrec.eval.retrieval.multi_interest_topn`), once with the exact blocked
   torch search and once with faiss (:class:`~graphrec.eval.retrieval.FaissItemIndex`,
   ``IndexFlatIP``) when it is installed (``pip install 'graphrec[faiss]'``;
   otherwise ``"faiss": null`` with the reason). Recorded per backend: queries (users)
   per second of the search + merge, the stage's peak memory, Recall/HR/NDCG@{20,50}
   of the model after its (possibly capped) epoch (a check that both backends agree,
   not an accuracy result), and the mean overlap
   ``|top50_exact ∩ top50_faiss| / 50`` over users (:func:`topn_overlap`).

Peak memory is ``ru_maxrss``; before each stage the kernel's high-water mark is reset
to the current RSS (``/proc/self/clear_refs``, Linux >= 4.0) so that each stage's peak
is its own (``peak_scope: "stage"``); where that is refused the peaks are of the process
so far (``peak_scope: "process"``). The conversion's peak is the child's.

What the numbers mean: rows/s is training windows (users with at most ``max_len + 1``
items own one row) per second of wall clock, including the batch step; queries/s is
users per second with their interests already computed (the encoding is timed apart).
Both faiss ``IndexFlatIP`` and the torch search are exact, so the overlap is expected
to be 1.0 up to ties and float summation order; a value clearly below 1 means that
the two backends disagree. Timings on a shared machine are upper bounds (the record
holds the load average).

    # full size (Taobao scale; writes benchmarks/results/multi_interest_scale.json)
    OMP_NUM_THREADS=2 python benchmarks/multi_interest_scale.py
    # small trial under another name, capped epoch (add --dense for the dense table + Adam)
    python benchmarks/multi_interest_scale.py --rows 2000000 --users 100000 --items 200000 \\
        --eval-users 2000 --max-steps 50 --name trial_scale
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_scale import write_synthetic  # noqa: E402
from record import RESULTS_DIR, peak_memory_mib, write_record  # noqa: E402

from graphrec.data.batch import SeqBatch  # noqa: E402
from graphrec.data.load import load_dataset  # noqa: E402
from graphrec.data.user_split import UserSplit  # noqa: E402
from graphrec.eval.retrieval import (  # noqa: E402
    EMPTY_ITEM,
    FaissItemIndex,
    faiss_available,
    multi_interest_topn,
)
from graphrec.eval.user_protocol import finalize_user_metrics, list_metric_sums  # noqa: E402
from graphrec.experiment.config import ExperimentConfig, build_model  # noqa: E402
from graphrec.experiment.protocols import resolve_protocol  # noqa: E402
from graphrec.models.base import SequentialRecommender  # noqa: E402
from graphrec.models.hooks import TrainState, mix_seed  # noqa: E402
from graphrec.train.config import TrainConfig  # noqa: E402
from graphrec.train.lazy_adam import LazyAdam  # noqa: E402
from graphrec.train.seed import seed_everything  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAME = "multi_interest_scale"
#: the held-out group whose users are retrieved for
WHICH = "test"


# ---------------------------------------------------------------------- memory
def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS; whether the kernel allowed it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def current_rss_mib() -> float | None:
    """This process's resident memory now (MiB), or ``None`` off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


class StageMemory:
    """Per-stage peak RSS with the process-wide peak kept across the resets."""

    def __init__(self) -> None:
        self.process_peak_mib = peak_memory_mib()
        self.resettable = False
        self.start_mib: float | None = None

    def start(self) -> None:
        """Begin a stage: note the peak so far, reset the high-water mark."""
        self.process_peak_mib = max(self.process_peak_mib, peak_memory_mib())
        self.resettable = reset_peak_rss()
        self.start_mib = current_rss_mib()

    def end(self) -> dict[str, Any]:
        """The stage's memory: RSS at its start, its peak and what that peak covers."""
        peak = peak_memory_mib()
        self.process_peak_mib = max(self.process_peak_mib, peak)
        return {"rss_start_mib": self.start_mib, "peak_rss_mib": peak,
                "peak_scope": "stage" if self.resettable else "process"}


# --------------------------------------------------------------------- overlap
def topn_overlap_per_row(a: Tensor, b: Tensor) -> Tensor:
    """``(R,)`` float64: ``|set(a[r]) ∩ set(b[r])| / n`` for two ``(R, n)`` lists of item ids.

    Empty slots (item 0) never count as shared; a repeated item counts once.
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"expected two (R, n) tensors of the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    rows, n = a.shape
    if n == 0:
        raise ValueError("lists of length 0 have no overlap")
    if rows == 0:
        return torch.zeros(0, dtype=torch.float64)
    a, b = a.long().cpu(), b.long().cpu()
    stride = int(max(int(a.max()), int(b.max()), 0)) + 1
    offset = torch.arange(rows, dtype=torch.long)[:, None] * stride  # (R, 1)
    keys_a = torch.unique((a + offset)[a != EMPTY_ITEM])  # distinct (row, item) of a
    keys_b = torch.unique((b + offset)[b != EMPTY_ITEM])
    shared = keys_a[torch.isin(keys_a, keys_b)]
    return torch.bincount(shared // stride, minlength=rows).to(torch.float64) / n


def topn_overlap(a: Tensor, b: Tensor) -> float:
    """Mean over rows of ``|set(a[r]) ∩ set(b[r])| / n`` for ``(R, n)`` item lists (NaN for R = 0)."""
    per_row = topn_overlap_per_row(a, b)
    return float(per_row.mean()) if per_row.numel() else math.nan


# ----------------------------------------------------------------- conversion
def convert_child(csv: Path, dataset_dir: Path, kcore: int) -> dict[str, Any]:
    """Convert ``csv`` with ``kcore``-core filtering, save it to ``dataset_dir`` (run in a child)."""
    from data_prep.taobao import convert_taobao

    start = time.perf_counter()
    dataset = convert_taobao(csv, filters={"kcore_k": kcore})
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    dataset.save(dataset_dir)
    return {
        "seconds": round(seconds, 2),
        "save_seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mib": peak_memory_mib(),
        "summary": dataset.summary(),
        "filters": dataset.meta["filters"],
    }


def prepare_dataset(args: argparse.Namespace, tmp: Path) -> tuple[Path, dict[str, Any]]:
    """Write the synthetic file, convert it in a child process; the dataset folder and the facts."""
    csv = tmp / "UserBehavior.csv"
    start = time.perf_counter()
    write_synthetic(csv, args.rows, args.users, args.items, args.categories, args.seed)
    write_seconds = time.perf_counter() - start
    dataset_dir = tmp / "dataset"
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--convert-only", str(csv),
         "--dataset-dir", str(dataset_dir), "--kcore", str(args.kcore)],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                       os.environ.get("PYTHONPATH")]))},
    )
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"conversion failed (exit {child.returncode})")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    facts = {"input_file_bytes": csv.stat().st_size, "write_seconds": round(write_seconds, 2),
             "convert": measured}
    csv.unlink()  # the dataset folder is all that is needed from here on
    return dataset_dir, facts


# -------------------------------------------------------------------- training
def train_one_epoch(model: SequentialRecommender, split: UserSplit, batch_size: int, lr: float, seed: int,
                    max_steps: int | None = None, progress: bool = True,
                    optimizer_name: str = "adam") -> dict[str, Any]:
    """One epoch (or its first ``max_steps`` steps) of the trainer's step, without validation.

    Same row permutation (``torch.randperm`` with a generator seeded by ``seed``), same
    batch step (``training_batch`` with a generator seeded by ``(seed, 1, step)``) and
    loss (the sum of ``loss_terms``, every weight 1) as
    :class:`~graphrec.train.trainer.Trainer` on one process; the model's hooks run.
    ``optimizer_name`` is ``"adam"`` or ``"lazy_adam"`` (needed by a model with sparse
    gradients, as in the trainer).

    Returns:
        rows, steps done / total, whether capped, seconds (and per phase), rows/s, mean loss,
        the optimizer and whether the item table's gradient was sparse.
    """
    n = split.num_train_rows
    steps_total = math.ceil(n / batch_size)
    steps = steps_total if max_steps is None else min(max_steps, steps_total)
    sparse = bool(getattr(model, "sparse_gradients", False))
    if sparse and optimizer_name != "lazy_adam":
        raise ValueError("a model with sparse gradients needs optimizer_name='lazy_adam'")
    if optimizer_name not in ("adam", "lazy_adam"):
        raise ValueError(f"optimizer_name must be 'adam' or 'lazy_adam', got {optimizer_name!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = LazyAdam(params, lr=lr) if optimizer_name == "lazy_adam" else torch.optim.Adam(params, lr=lr)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    state = TrainState(seed=seed, epoch=1, step=0, epochs=1, steps_per_epoch=steps_total,
                       device=torch.device("cpu"))
    phases = {"batch_step": 0.0, "forward_backward": 0.0, "optimizer": 0.0}
    rows_done, loss_sum = 0, 0.0
    model.train()
    start = time.perf_counter()
    model.on_epoch_start(state)
    bar = tqdm(total=steps, desc="train", leave=False, dynamic_ncols=True, disable=not progress)
    for step in range(steps):
        t0 = time.perf_counter()
        rows = perm[step * batch_size:(step + 1) * batch_size]
        generator = torch.Generator().manual_seed(mix_seed(seed, 1, step))
        batch = model.training_batch(split.train_batch(rows), generator)
        t1 = time.perf_counter()
        terms = model.loss_terms(batch)
        total = torch.stack([value.float() for value in terms.values()]).sum()
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        t2 = time.perf_counter()
        optimizer.step()
        state.step = step + 1
        model.on_step_end(state)
        t3 = time.perf_counter()
        phases["batch_step"] += t1 - t0
        phases["forward_backward"] += t2 - t1
        phases["optimizer"] += t3 - t2
        rows_done += len(rows)
        loss_sum += float(total.detach())
        bar.update(1)
        if step % 10 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss_sum / (step + 1):.4f}",
                            seq_s=f"{rows_done / (time.perf_counter() - start):.0f}")
    bar.close()
    model.on_epoch_end(state)
    seconds = time.perf_counter() - start
    if not math.isfinite(loss_sum):
        raise FloatingPointError(f"training loss is {loss_sum / max(steps, 1)}")
    capped = steps < steps_total
    return {
        "optimizer": optimizer_name,
        "item_table": "sparse" if sparse else "dense",
        "train_rows": n,
        "rows": rows_done,
        "steps": steps,
        "steps_per_epoch": steps_total,
        "capped": capped,
        "seconds": round(seconds, 3),
        "phase_seconds": {k: round(v, 3) for k, v in phases.items()},
        "rows_per_s": round(rows_done / seconds, 1) if seconds > 0 else None,
        "mean_loss": round(loss_sum / max(steps, 1), 5),
        # labelled estimate, only for a capped epoch: linear in steps from the steps done
        "extrapolated_epoch_seconds": round(seconds / steps * steps_total, 1) if capped and steps else None,
    }


# ------------------------------------------------------------------- retrieval
def encode_users(model: SequentialRecommender, input_ids: Tensor, batch_size: int,
                 progress: bool = True) -> Tensor:
    """``(R, K, D)`` float32 interests of ``(R, L)`` left-padded histories, in eval mode, no gradients."""
    model.eval()
    out = []
    with torch.no_grad():
        for lo in tqdm(range(0, input_ids.shape[0], batch_size), desc="encode", leave=False,
                       disable=not progress):
            ids = input_ids[lo:lo + batch_size]
            batch = SeqBatch(input_ids=ids, user_ids=torch.zeros(ids.shape[0], dtype=torch.long))
            out.append(model.interests(batch).float())
    return torch.cat(out) if out else torch.zeros(0)


def retrieve(interests: Tensor, item_emb: Tensor, n: int, batch_size: int,
             index: FaissItemIndex | None = None, progress: bool = True,
             desc: str = "retrieve") -> tuple[Tensor, float]:
    """``(R, n)`` merged multi-interest top-``n`` lists in blocks of users, and the seconds taken."""
    lists = []
    start = time.perf_counter()
    with torch.no_grad():
        blocks = range(0, interests.shape[0], batch_size)
        for lo in tqdm(blocks, desc=desc, leave=False, disable=not progress):
            items, _ = multi_interest_topn(interests[lo:lo + batch_size], item_emb, n, index=index)
            lists.append(items)
    seconds = time.perf_counter() - start
    return (torch.cat(lists) if lists else torch.zeros((0, n), dtype=torch.long)), seconds


def retrieval_benchmark(model: SequentialRecommender, split: UserSplit, eval_users: int, topn: int,
                        batch_size: int, seed: int, memory: StageMemory,
                        progress: bool = True) -> dict[str, Any]:
    """Encode ``eval_users`` held-out users, retrieve with torch and faiss, compare the lists."""
    available = split.num_eval_rows(WHICH)
    count = min(eval_users, available)
    rows = np.sort(np.random.default_rng(seed).choice(available, size=count, replace=False))
    batch = split.eval_batch(WHICH, rows)
    assert batch.target_indptr is not None and batch.target_items is not None
    ns = sorted({min(20, topn), topn})
    categories = (torch.as_tensor(split.dataset.item_category, dtype=torch.long)
                  if split.dataset.has_categories else None)

    memory.start()
    start = time.perf_counter()
    interests = encode_users(model, batch.input_ids, batch_size, progress)  # (R, K, D)
    encode_seconds = time.perf_counter() - start
    with torch.no_grad():
        item_emb = model.item_embeddings().detach().float()  # (N + 1, D)
    out: dict[str, Any] = {
        "which": WHICH, "users": count, "users_available": available, "topn": topn,
        "batch_size": batch_size,
        "encode": {"seconds": round(encode_seconds, 3),
                   "users_per_s": round(count / encode_seconds, 1) if encode_seconds > 0 else None,
                   "memory": memory.end()},
    }

    def metrics_of(lists: Tensor) -> dict[str, float]:
        sums = list_metric_sums(lists, batch.target_indptr, batch.target_items, ns, categories)  # type: ignore[arg-type]
        return {k: round(v, 5) for k, v in finalize_user_metrics(sums).items()}

    memory.start()
    exact, seconds = retrieve(interests, item_emb, topn, batch_size, None, progress, "torch")
    out["torch"] = {"seconds": round(seconds, 3),
                    "queries_per_s": round(count / seconds, 1) if seconds > 0 else None,
                    "memory": memory.end(), "metrics": metrics_of(exact)}

    out["faiss"] = None
    out["faiss_reason"] = None
    out["overlap"] = None
    if not faiss_available():
        out["faiss_reason"] = ("faiss is not installed (pip install 'graphrec[faiss]'); "
                               "exact torch search only")
        return out
    import faiss

    memory.start()
    start = time.perf_counter()
    index = FaissItemIndex(item_emb)
    build_seconds = time.perf_counter() - start
    approx, seconds = retrieve(interests, item_emb, topn, batch_size, index, progress, "faiss")
    out["faiss"] = {"index": "IndexFlatIP", "threads": int(faiss.omp_get_max_threads()),
                    "build_seconds": round(build_seconds, 3), "seconds": round(seconds, 3),
                    "queries_per_s": round(count / seconds, 1) if seconds > 0 else None,
                    "memory": memory.end(), "metrics": metrics_of(approx)}
    per_row = topn_overlap_per_row(exact, approx)
    out["overlap"] = {
        "definition": f"mean over users of |top{topn}_torch ∩ top{topn}_faiss| / {topn}",
        "mean": round(float(per_row.mean()), 6) if count else None,
        "min": round(float(per_row.min()), 6) if count else None,
        "users_identical": int((per_row == 1.0).sum()),
    }
    return out


# ------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    data = parser.add_argument_group("synthetic Taobao file (prepare_scale.py's defaults)")
    data.add_argument("--rows", type=int, default=20_000_000)
    data.add_argument("--users", type=int, default=1_000_000)
    data.add_argument("--items", type=int, default=2_000_000)
    data.add_argument("--categories", type=int, default=10_000)
    data.add_argument("--seed", type=int, default=0, help="seed of the synthetic file")
    data.add_argument("--kcore", type=int, default=5)
    model = parser.add_argument_group("model and training")
    model.add_argument("--num-interests", type=int, default=4)
    model.add_argument("--hidden-size", type=int, default=64)
    model.add_argument("--max-len", type=int, default=50)
    model.add_argument("--num-negatives", type=int, default=1280)
    model.add_argument("--batch-size", type=int, default=128)
    model.add_argument("--lr", type=float, default=1e-3)
    model.add_argument("--train-seed", type=int, default=2024, help="model, shuffle and split seed")
    model.add_argument("--max-steps", type=int, default=None,
                       help="cap the epoch at this many steps (default: the whole epoch)")
    table = model.add_mutually_exclusive_group()
    table.add_argument("--sparse", dest="sparse", action="store_true", default=True,
                       help="sparse item table + LazyAdam (model.sparse_items=true, "
                            "train.optimizer=lazy_adam; the default)")
    table.add_argument("--dense", dest="sparse", action="store_false",
                       help="dense item table + Adam (every row updated every step)")
    retrieval = parser.add_argument_group("retrieval")
    retrieval.add_argument("--eval-users", type=int, default=10_000)
    retrieval.add_argument("--topn", type=int, default=50)
    retrieval.add_argument("--eval-batch-size", type=int, default=1024)
    out = parser.add_argument_group("output")
    out.add_argument("--name", default=NAME, help="record name (default: %(default)s)")
    out.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="default: %(default)s")
    out.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--convert-only", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dataset-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("rows", "users", "items", "categories", "batch_size", "eval_users", "topn",
                 "eval_batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.max_steps is not None and args.max_steps < 1:
        parser.error("--max-steps must be >= 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); returns the record as written."""
    args = parse_args(argv)
    if args.convert_only is not None:  # the child process
        print(json.dumps(convert_child(args.convert_only, args.dataset_dir, args.kcore)))
        return {}
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    memory = StageMemory()
    timings: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="multi_interest_scale-") as tmp:
        dataset_dir, prepared = prepare_dataset(args, Path(tmp))
        memory.start()
        start = time.perf_counter()
        dataset = load_dataset(dataset_dir)
        timings["load_seconds"] = round(time.perf_counter() - start, 2)
    cfg = ExperimentConfig(
        data="synthetic-taobao", model="comirec_sa", protocol="user",
        model_options={"hidden_size": args.hidden_size, "num_interests": args.num_interests,
                       "max_len": args.max_len, "num_negatives": args.num_negatives,
                       "sampler": "log_uniform", "sparse_items": bool(args.sparse)},
        train=TrainConfig(epochs=1, batch_size=args.batch_size, lr=args.lr, max_len=args.max_len,
                          seed=args.train_seed, device="cpu",
                          optimizer="lazy_adam" if args.sparse else "adam"),
    )
    start = time.perf_counter()
    split = resolve_protocol(cfg.protocol).build_split(dataset, cfg.train.max_len, {"seed": args.train_seed})
    timings["split_seconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    seed_everything(cfg.train.seed)
    model = build_model(cfg, split)  # training item counts for the log-uniform sampler
    timings["model_seconds"] = round(time.perf_counter() - start, 2)
    data_memory = memory.end()  # loading, split and model

    memory.start()
    train = train_one_epoch(model, split, cfg.train.batch_size, cfg.train.lr, cfg.train.seed,
                            args.max_steps, args.progress, cfg.train.optimizer)
    train["memory"] = memory.end()

    retrieval = retrieval_benchmark(model, split, args.eval_users, args.topn, args.eval_batch_size,
                                    args.train_seed, memory, args.progress)

    record = {
        "benchmark": NAME,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if k not in ("convert_only", "dataset_dir", "results_dir", "progress")},
        "model": {"name": cfg.model, "options": cfg.model_options,
                  "parameters": int(sum(p.numel() for p in model.parameters())),
                  "repr": model.extra_repr()},
        "dataset": {**prepared, "split": split.describe(), "memory": data_memory},
        "timings": timings,
        "train": train,
        "retrieval": retrieval,
        "process_peak_rss_mib": max(memory.process_peak_mib, peak_memory_mib()),
    }
    path = write_record(args.name, record, args.results_dir)
    record = json.loads(path.read_text())  # with the command, commit, machine and date added
    print(json.dumps({
        "record": str(path),
        "dataset": prepared["convert"]["summary"],
        "train": {k: train[k] for k in ("item_table", "optimizer", "rows", "steps", "steps_per_epoch",
                                        "capped", "seconds", "rows_per_s", "phase_seconds",
                                        "extrapolated_epoch_seconds")},
        "train_peak_rss_mib": train["memory"]["peak_rss_mib"],
        "torch_queries_per_s": retrieval["torch"]["queries_per_s"],
        "faiss_queries_per_s": (retrieval["faiss"] or {}).get("queries_per_s"),
        "overlap": retrieval["overlap"],
    }, indent=2))
    return record


if __name__ == "__main__":
    main()
