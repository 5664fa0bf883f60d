"""Saving and loading graphs: a PyG ``Data`` as a plain dict of tensors and scalars.

``torch.save`` of the ``Data`` object itself needs ``weights_only=False`` to load
(arbitrary unpickling). The dict form loads with ``weights_only=True`` and gives
back identical tensors. Writes go to a temporary file that is renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch_geometric.data import Data

from graphrec.atomic import atomic_open
from graphrec.data.errors import DataFormatError


def save_graph(graph: Data, path: str | os.PathLike[str]) -> Path:
    """Write ``graph`` to ``path`` atomically (``torch.save`` of ``graph.to_dict()``)."""
    target = Path(path)
    payload = graph.to_dict()
    payload["num_nodes"] = int(graph.num_nodes)
    with atomic_open(target, "wb") as fh:
        torch.save(payload, fh)
    return target


def load_graph(path: str | os.PathLike[str]) -> Data:
    """Load a graph written by :func:`save_graph`."""
    source = Path(path)
    if not source.is_file():
        raise DataFormatError(source, None, "graph file not found; write it with `graphrec graph build`")
    try:
        payload = torch.load(source, weights_only=True)
    except Exception as exc:
        raise DataFormatError(source, None, f"not a graphrec graph file ({exc.__class__.__name__})") from exc
    if not isinstance(payload, dict) or "edge_index" not in payload:
        raise DataFormatError(source, None, "not a graphrec graph file (no edge_index)")
    return Data(**payload)
