"""A resume continues the same run, or is refused.

``--resume`` restores ``last.pt`` and trains on. That is only the same experiment
when everything that shapes it is unchanged: the data (its checksum), the model
and its options, the protocol, the optimiser and its learning rate, the seed, ...
:func:`check_resumable` compares the configuration stored in the checkpoint with
the one asked for now and refuses any difference outside :data:`RESUMABLE_CHANGES`,
listing every difference, so a resumed run never silently mixes two experiments.

What may change on resume (it does not change what is computed, or only extends it):
more or fewer ``epochs``, ``patience``, ``progress``, ``num_threads``,
``eval_batch_size``, ``device``, ``tensorboard_dir``, ``resume`` itself, and where
the run lives (``log_file``, ``checkpoint_dir``, the experiment's ``output_dir``:
a run folder may be moved).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: train-config keys that may differ between a run and its resume
RESUMABLE_CHANGES = ("epochs", "patience", "progress", "num_threads", "eval_batch_size", "device",
                     "tensorboard_dir", "resume", "log_file", "checkpoint_dir")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def config_differences(saved: Mapping[str, Any], current: Mapping[str, Any],
                       allowed: tuple[str, ...] = ()) -> list[str]:
    """``"key: saved -> current"`` for every dotted key that differs, except ``allowed`` ones."""
    a, b = _flatten(saved), _flatten(current)
    out = []
    for key in sorted(set(a) | set(b)):
        if key in allowed:
            continue
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            out.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    return out


def check_resumable(state: Mapping[str, Any], config: Mapping[str, Any],
                    metadata: Mapping[str, Any], where: str) -> None:
    """Refuse resuming ``state`` (a ``last.pt``) with another train ``config`` or experiment.

    Args:
        state: the checkpoint's content (``config``, ``metadata``).
        config: ``TrainConfig.to_dict()`` of the run asked for now.
        metadata: the trainer's metadata now (``experiment`` config, ``data_checksum``, ...).
        where: the checkpoint path, for the message.

    Raises:
        ValueError: listing every difference.
    """
    allowed = tuple(f"train.{k}" for k in RESUMABLE_CHANGES)
    diffs = config_differences({"train": state.get("config") or {}}, {"train": dict(config)}, allowed)
    saved_meta = state.get("metadata") or {}
    for key in ("data_checksum", "num_items"):
        if key in saved_meta and key in metadata and saved_meta[key] != metadata[key]:
            diffs.append(f"{key}: {saved_meta[key]!r} -> {metadata[key]!r}")
    # the train section was compared above; the folder may move
    skip: tuple[str, ...] = ("train", "output_dir")
    saved_model, current_model = saved_meta.get("model_config"), metadata.get("model_config")
    if isinstance(saved_model, Mapping) and isinstance(current_model, Mapping):
        # the model's resolved options: an option given explicitly at its default is no difference
        diffs += config_differences({"model": saved_model}, {"model": current_model})
        skip += ("model_options",)
    if "experiment" in saved_meta and "experiment" in metadata:
        saved_exp = {k: v for k, v in saved_meta["experiment"].items() if k not in skip}
        current_exp = {k: v for k, v in metadata["experiment"].items() if k not in skip}
        diffs += config_differences(saved_exp, current_exp)
    if diffs:
        raise ValueError(
            f"{where}: cannot resume: this run was started with other settings; a resumed run must be the "
            f"same experiment (only {', '.join(RESUMABLE_CHANGES)} may change). Differences:\n  "
            + "\n  ".join(diffs)
            + "\nStart a new run in another folder, or pass --overwrite to replace this one."
        )


__all__ = ["RESUMABLE_CHANGES", "check_resumable", "config_differences"]
