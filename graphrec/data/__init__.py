"""Canonical dataset, readers, filters, splits, batching and synthetic data."""

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError
from graphrec.data.load import load_dataset
from graphrec.data.loo import LeaveOneOutSplit
from graphrec.data.synthetic import SyntheticConfig, generate_synthetic

__all__ = [
    "DataFormatError",
    "LeaveOneOutSplit",
    "SequenceDataset",
    "SyntheticConfig",
    "generate_synthetic",
    "load_dataset",
]
