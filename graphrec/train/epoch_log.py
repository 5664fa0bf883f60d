"""The training log: one JSON line per epoch, and TensorBoard scalars when configured."""

from __future__ import annotations

import json
from typing import Any

#: validation metrics sent to TensorBoard
TENSORBOARD_METRICS = ("HR@", "NDCG@", "Recall@", "MRR")


class EpochLog:
    """Appends epoch records to ``log_file`` (JSON lines) and to ``tensorboard_dir``.

    Args:
        log_file: the JSON-lines file (``None``: no file).
        tensorboard_dir: a TensorBoard log folder (``None``: none; needs the ``tb`` extra).
    """

    def __init__(self, log_file: str | None, tensorboard_dir: str | None) -> None:
        self.log_file = log_file
        self.tensorboard_dir = tensorboard_dir
        self._writer: Any = None

    def write(self, record: dict[str, Any]) -> None:
        """Append one epoch's record (``epoch``, ``loss*``, ``seq_per_s``, ``valid``)."""
        if self.log_file:
            with open(self.log_file, "a") as fh:
                fh.write(json.dumps(record, default=float) + "\n")
        if self.tensorboard_dir:
            writer = self._tensorboard()
            scalars = {k: v for k, v in record.items() if k.startswith("loss") or k == "seq_per_s"}
            scalars.update({f"valid/{k}": v for k, v in (record.get("valid") or {}).items()
                            if k.startswith(TENSORBOARD_METRICS)})
            for name, value in scalars.items():
                writer.add_scalar(name, float(value), record["epoch"])
            writer.flush()

    def _tensorboard(self) -> Any:
        """The run's ``SummaryWriter`` (created on first use)."""
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError(
                    "train.tensorboard_dir is set but tensorboard is not installed; "
                    'install the extra: pip install -e ".[tb]"'
                ) from exc
            self._writer = SummaryWriter(log_dir=self.tensorboard_dir)
        return self._writer


__all__ = ["EpochLog"]
