"""Model registry: an explicit name -> class table, resolved lazily.

``resolve("sasrec")`` returns the class; an unknown name raises listing the valid ones.
"""

from __future__ import annotations

import importlib

from graphrec.models.base import SequentialRecommender

#: name -> "module:ClassName"; modules are imported on first use
MODELS: dict[str, str] = {
    "pop": "graphrec.models.pop:POP",
    "gru4rec": "graphrec.models.gru4rec:GRU4Rec",
    "sasrec": "graphrec.models.sasrec:SASRec",
    "sasrec_mi": "graphrec.models.sasrec_mi:SASRecMI",
    "fmlprec": "graphrec.models.fmlp:FMLPRec",
    "bsarec": "graphrec.models.bsarec:BSARec",
    "srgnn": "graphrec.models.srgnn:SRGNN",
    "cl4srec": "graphrec.models.cl4srec:CL4SRec",
    "iclrec": "graphrec.models.iclrec:ICLRec",
    "bert4rec": "graphrec.models.bert4rec:BERT4Rec",
    "s4rec": "graphrec.models.s4rec:S4Rec",
    "mind": "graphrec.models.mind:MIND",
    "comirec_sa": "graphrec.models.comirec:ComiRecSA",
    "comirec_dr": "graphrec.models.comirec:ComiRecDR",
    "hpcl4sr": "graphrec.models.hpcl4sr:HPCL4SR",
    "dssrec": "graphrec.models.dssrec:DSSRec",
    "dsie": "graphrec.models.dsie:DSIE",
}


def resolve(name: str) -> type[SequentialRecommender]:
    """The model class registered under ``name`` (case-insensitive)."""
    key = name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {sorted(MODELS)}")
    module_name, class_name = MODELS[key].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def available() -> list[str]:
    """Registered model names."""
    return sorted(MODELS)


__all__ = ["MODELS", "SequentialRecommender", "available", "resolve"]
