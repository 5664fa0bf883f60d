"""``graphrec export RUN --out DIR``: a trained run as a folder that serves without the original data.

The folder holds

* ``model.pt`` — the best weights and the experiment configuration (no optimizer state),
  loadable with ``torch.load(weights_only=True)``;
* ``dataset/`` — the prepared dataset the model was trained on (the known users' histories,
  item and user names, and what the model's context is built from, e.g. categories);
* ``item_embeddings.npy`` — the ``(N + 1, D)`` item table (row 0 = padding), for an external
  nearest-neighbour index;
* ``items.json`` — item ``i`` is ``items[i - 1]`` (the names of the source data);
* ``faiss.index`` — with ``--faiss`` (and faiss installed), an exact inner-product index over
  rows ``1..N`` of the item table;
* ``manifest.json`` — format version, model name and options, data checksum, the run's test
  metrics, and the SHA-256 of every file.

:func:`load_export` rebuilds the model exactly as :func:`graphrec.experiment.runs.load_run`
does (model code and the evaluation path, no training code) after checking every checksum.
The folder is written to a temporary sibling and renamed into place, so an interrupted export
leaves nothing half-written.

TorchScript is not offered: the encoders' padding-free attention chooses its windows from the
data (:class:`graphrec.nn.transformer.AttentionLayout`), which a traced graph would freeze.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

import graphrec
from graphrec.atomic import file_sha256, fsync_folder
from graphrec.data.dataset import SequenceDataset
from graphrec.experiment.runs import LoadedRun, find_checkpoint, load_run
from graphrec.outputs import MARKER, OutputError, check_output_dir, write_marker
from graphrec.train.checkpoint import load_checkpoint

#: the export folder's format; bumped when its files change meaning
FORMAT_VERSION = 1
EXPORT_KIND = "export"
MANIFEST = "manifest.json"


def export_run(run: str | os.PathLike[str], out: str | os.PathLike[str], *, overwrite: bool = False,
               with_faiss: bool = False) -> Path:
    """Write the export folder of ``run`` (a run folder or checkpoint) to ``out``; returns ``out``.

    Raises:
        OutputError: ``out`` is not a folder graphrec may write (see :mod:`graphrec.outputs`).
        ImportError: ``with_faiss`` without faiss installed.
    """
    target = Path(out)
    check_output_dir(target, EXPORT_KIND, overwrite=overwrite, inputs=[run])
    loaded = load_run(run, device="cpu")
    checkpoint = find_checkpoint(run)
    state = load_checkpoint(checkpoint)
    if with_faiss:
        import faiss  # noqa: F401 - checked before anything is written
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write(tmp, loaded, state, checkpoint, with_faiss)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        fsync_folder(target.parent, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _write(folder: Path, loaded: LoadedRun, state: dict[str, Any], checkpoint: Path,
           with_faiss: bool) -> None:
    model, dataset = loaded.model, loaded.dataset
    torch.save({"model": model.state_dict(), "metadata": state.get("metadata") or {},
                "epoch": state.get("epoch")}, folder / "model.pt")
    dataset.save(folder / "dataset")
    table = model.item_embeddings().detach().float().cpu().numpy()  # (N + 1, D)
    np.save(folder / "item_embeddings.npy", table, allow_pickle=False)
    names = dataset.item_names or [str(i) for i in range(1, dataset.num_items + 1)]
    (folder / "items.json").write_text(json.dumps(names), encoding="utf-8")
    if with_faiss:
        import faiss

        index = faiss.IndexFlatIP(table.shape[1])
        index.add(np.ascontiguousarray(table[1:]))  # row r of the index = item r + 1
        faiss.write_index(index, str(folder / "faiss.index"))
    result_path = checkpoint.parent.parent / "result.json"
    metrics: dict[str, Any] = {}
    if result_path.is_file():
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if isinstance(result, dict):
            metrics = {k: v for k, v in (result.get("metrics") or {}).items() if k.startswith("test")}
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER)
    manifest = {
        "format": FORMAT_VERSION,
        "graphrec": graphrec.__version__,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": str(checkpoint),
        "model": loaded.config.model,
        "model_config": model.config.to_dict() if hasattr(model.config, "to_dict") else {},
        "num_items": dataset.num_items,
        "num_users": dataset.num_users,
        "max_len": loaded.config.train.max_len,
        "protocol": loaded.config.protocol,
        "data_checksum": dataset.checksum(),
        "metrics": metrics,
        "files": {str(p.relative_to(folder)): file_sha256(p) for p in files},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    write_marker(folder, EXPORT_KIND)
    fsync_folder(folder)


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The export's manifest, after checking its format and every file's checksum."""
    root = Path(folder)
    path = root / MANIFEST
    if not path.is_file():
        raise OutputError(f"{root}: no {MANIFEST}; not a graphrec export (make one with graphrec export)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not an export of format {FORMAT_VERSION}")
    for name, digest in (manifest.get("files") or {}).items():
        file = root / name
        if not file.is_file():
            raise FileNotFoundError(f"{file}: missing (the manifest lists it)")
        if file_sha256(file) != digest:
            raise ValueError(f"{file}: its checksum differs from the manifest's; the export was changed")
    return manifest


def load_export(folder: str | os.PathLike[str],
                device: str | None = "cpu") -> tuple[LoadedRun, dict[str, Any]]:
    """The exported model (eval mode) with its dataset, and the manifest; checksums verified."""
    root = Path(folder)
    manifest = read_manifest(root)
    dataset = SequenceDataset.load(root / "dataset")
    if dataset.checksum() != manifest["data_checksum"]:
        raise ValueError(f"{root / 'dataset'}: checksum {dataset.checksum()} differs from the manifest's")
    return load_run(root / "model.pt", data=dataset, device=device), manifest


__all__ = ["EXPORT_KIND", "FORMAT_VERSION", "export_run", "load_export", "read_manifest"]
