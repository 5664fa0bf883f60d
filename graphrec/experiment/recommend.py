"""Top-N recommendation with a trained model, for dataset users or for new sequences.

Serving uses a user's *whole* sequence (all interactions, the held-out ones
included): the model reads its last ``max_len`` items and scores all items with
the shared ``score_all`` (``max_k <interest_k, item>``); items already in the
sequence are excluded unless asked otherwise, and the ``n`` best are returned
with ``torch.topk`` in blocks of users.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from graphrec.data.batch import SeqBatch
from graphrec.data.csr import csr_slices
from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.loo import left_padded_windows
from graphrec.eval.loo import mask_history_scores
from graphrec.models.base import SequentialRecommender


def sequences_batch(indptr: np.ndarray, items: np.ndarray, max_len: int) -> SeqBatch:
    """A batch holding the last ``max_len`` items of each CSR row plus the full rows as history.

    Args:
        indptr: ``(R + 1,)`` offsets; items: ``(nnz,)`` item ids (``1..N``).
        max_len: model input length ``L``.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    inputs = left_padded_windows(items, indptr[1:], indptr[:-1], max_len)  # (R, L)
    return SeqBatch(
        input_ids=torch.from_numpy(inputs),
        user_ids=torch.arange(len(indptr) - 1),
        history_indptr=torch.from_numpy(indptr - indptr[0]),
        history_items=torch.from_numpy(items[indptr[0]:indptr[-1]]),
    )


@torch.no_grad()
def top_n(
    model: SequentialRecommender,
    indptr: np.ndarray,
    items: np.ndarray,
    n: int = 10,
    max_len: int = 50,
    exclude_seen: bool = True,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> tuple[Tensor, Tensor]:
    """The ``n`` best items for each sequence of a CSR list.

    Returns:
        ``(items (R, n), scores (R, n))``, best first; when fewer than ``n`` items
        are eligible, the remaining slots hold item 0 with score ``-inf``.
    """
    if n <= 0:
        raise ValueError(f"the list length must be positive, got {n}")
    model.eval()
    n = min(n, model.num_items)
    out_items, out_scores = [], []
    for start in range(0, len(indptr) - 1, batch_size):
        stop = min(start + batch_size, len(indptr) - 1)
        batch = sequences_batch(indptr[start:stop + 1], items, max_len).to(device)
        scores = model.score_all(batch).float()  # (B, N + 1)
        if exclude_seen:
            assert batch.history_indptr is not None and batch.history_items is not None
            mask_history_scores(scores, batch.history_indptr, batch.history_items)
        best_scores, best_items = torch.topk(scores, n, dim=1)  # (B, n)
        best_items[torch.isneginf(best_scores)] = 0
        out_items.append(best_items.cpu())
        out_scores.append(best_scores.cpu())
    return torch.cat(out_items), torch.cat(out_scores)


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, text)`` of the file's non-blank lines (numbers count every line)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DataFormatError(path, None, f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise DataFormatError(path, None, "the file is empty")
    return lines


def _read_lines(path: Path) -> list[str]:
    return [line for _, line in _numbered_lines(path)]


def users_to_rows(dataset: SequenceDataset, names: Sequence[str], source: str) -> np.ndarray:
    """Map user names (as in the source data, or dense indices when it has none) to user indices."""
    lookup = ({name: i for i, name in enumerate(dataset.user_names)} if dataset.user_names
              else {str(i): i for i in range(dataset.num_users)})
    missing = [name for name in names if name not in lookup]
    if missing:
        raise ValueError(f"{source}: unknown user(s) {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''} (the dataset has {dataset.num_users} users)")
    return np.array([lookup[name] for name in names], dtype=np.int64)


def parse_sequences(path: Path, dataset: SequenceDataset) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Read one space-separated item sequence per line (item names as in the dataset) into CSR.

    Returns:
        ``(indptr, items, line_numbers)``: blank lines are skipped, and each sequence keeps the
        number of the line it was read from.
    """
    lookup = ({name: i + 1 for i, name in enumerate(dataset.item_names)} if dataset.item_names
              else {str(i): i for i in range(1, dataset.num_items + 1)})
    rows: list[list[int]] = []
    numbers: list[int] = []
    for number, line in _numbered_lines(path):
        tokens = line.replace(",", " ").split()
        if not tokens:
            raise DataFormatError(path, number, f"{line!r} names no item; a line is one sequence of "
                                  "item names separated by spaces or commas")
        numbers.append(number)
        unknown = [t for t in tokens if t not in lookup]
        if unknown:
            raise DataFormatError(path, number, f"unknown item(s) {unknown[:5]}; items must be named "
                                  "as in the dataset the model was trained on")
        rows.append([lookup[t] for t in tokens])
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return indptr, np.array([i for r in rows for i in r], dtype=np.int64), numbers


def format_recommendations(keys: Sequence[str], items: Tensor, scores: Tensor,
                           dataset: SequenceDataset, fmt: str) -> str:
    """CSV (``user,rank,item,score``) or JSON (``{user: [{item, score}, ...]}``)."""
    names = dataset.item_names

    def item_name(i: int) -> str:
        return names[i - 1] if names else str(i)

    if fmt == "json":
        payload = {
            key: [{"item": item_name(int(i)), "score": round(float(s), 6)}
                  for i, s in zip(row_items, row_scores) if int(i) > 0]
            for key, row_items, row_scores in zip(keys, items, scores)
        }
        return json.dumps(payload, indent=2)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["user", "rank", "item", "score"])
    for key, row_items, row_scores in zip(keys, items, scores):
        for rank, (i, s) in enumerate(zip(row_items, row_scores), start=1):
            if int(i) > 0:
                writer.writerow([key, rank, item_name(int(i)), f"{float(s):.6f}"])
    return buffer.getvalue()


def recommend_from_args(args: argparse.Namespace) -> int:
    """Command-line glue for ``graphrec recommend``."""
    from graphrec.experiment.runs import load_run

    run = load_run(args.run, data=args.data, device=args.device)
    model, dataset, device = run.model, run.dataset, run.device
    max_len = run.config.train.max_len
    if args.sequences_file is not None:
        indptr, items, numbers = parse_sequences(args.sequences_file, dataset)
        keys = [f"line{i}" for i in numbers]
    else:
        names = args.users if args.users else _read_lines(args.users_file)
        source = str(args.users_file) if args.users_file else "--users"
        rows = users_to_rows(dataset, [str(n) for n in names], source)
        indptr, items = csr_slices(dataset.items, dataset.indptr[rows], dataset.indptr[rows + 1])
        keys = [str(n) for n in names]
    top_items, top_scores = top_n(model, indptr, items, n=args.top, max_len=max_len,
                                  exclude_seen=not args.keep_seen, device=device)
    text = format_recommendations(keys, top_items, top_scores, dataset, args.format)
    if args.out is not None:
        from graphrec.outputs import write_output_file

        write_output_file(args.out, text, overwrite=args.overwrite)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
