"""Canonical dataset, readers, filters, splits, batching and synthetic data."""

from graphrec.data.dataset import SequenceDataset
from graphrec.data.errors import DataFormatError

__all__ = ["DataFormatError", "SequenceDataset"]
