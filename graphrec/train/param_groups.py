"""Optimizer parameter groups chosen by parameter name or module type.

``train.param_groups`` is a list of groups; each names its parameters with
``params`` and sets any of ``lr`` and ``weight_decay``:

.. code-block:: yaml

    train:
      param_groups:
        - {params: "@embedding|@norm|@bias", weight_decay: 0.0}  # no decay there
        - {params: "prototypes", lr: 0.01}                       # a faster lr for prototypes

``params`` is a ``|``-separated list of selectors, each either a regular
expression searched in the parameter's qualified name (``encoder.blocks.0.attn.in_proj``)
or one of the type selectors ``@embedding`` (weights of ``nn.Embedding``),
``@norm`` (parameters of LayerNorm / BatchNorm / GroupNorm modules) and ``@bias``
(parameters whose name ends in ``bias``). A parameter joins the *first* group that
selects it; the others form the default group with ``train.lr`` and
``train.weight_decay``. A group that selects nothing is an error (a typo would
otherwise silently train with the defaults). The learning-rate schedule scales
every group's own ``lr``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from torch import nn

TYPE_SELECTORS = ("@embedding", "@norm", "@bias")
_GROUP_KEYS = ("params", "lr", "weight_decay")
_NORMS = (nn.LayerNorm, nn.BatchNorm1d, nn.GroupNorm)


def check_param_groups(groups: Iterable[Any]) -> list[dict[str, Any]]:
    """Validate the config form of ``param_groups`` (keys, types, regular expressions)."""
    if isinstance(groups, (str, Mapping)) or not isinstance(groups, Iterable):
        raise ValueError("param_groups must be a list of {params, lr, weight_decay} mappings")
    out = []
    for i, group in enumerate(groups):
        if not isinstance(group, Mapping):
            raise ValueError(f"param_groups[{i}] must be a mapping, got {group!r}")
        unknown = sorted(set(group) - set(_GROUP_KEYS))
        if unknown or "params" not in group:
            raise ValueError(f"param_groups[{i}]: needs 'params' and may set 'lr', 'weight_decay'; "
                             f"got keys {sorted(group)}")
        clean: dict[str, Any] = {"params": str(group["params"])}
        for selector in _selectors(clean["params"]):
            if not selector.startswith("@"):
                try:
                    re.compile(selector)
                except re.error as exc:
                    raise ValueError(f"param_groups[{i}].params: bad regular expression {selector!r} "
                                     f"({exc})") from None
            elif selector not in TYPE_SELECTORS:
                raise ValueError(f"param_groups[{i}].params: unknown selector {selector!r}; "
                                 f"type selectors: {list(TYPE_SELECTORS)}")
        for key in ("lr", "weight_decay"):
            if key in group:
                try:
                    value = float(group[key])
                except (TypeError, ValueError):
                    raise ValueError(f"param_groups[{i}].{key}: expected a number, "
                                     f"got {group[key]!r}") from None
                if value < 0 or (key == "lr" and value == 0):
                    raise ValueError(f"param_groups[{i}].{key} must be {'> 0' if key == 'lr' else '>= 0'}")
                clean[key] = value
        out.append(clean)
    return out


def _selectors(params: str) -> list[str]:
    return [s.strip() for s in params.split("|") if s.strip()]


def _typed_names(model: nn.Module) -> dict[str, set[str]]:
    """Qualified parameter names selected by each type selector."""
    names: dict[str, set[str]] = {s: set() for s in TYPE_SELECTORS}
    for module_name, module in model.named_modules():
        prefix = f"{module_name}." if module_name else ""
        if isinstance(module, nn.Embedding):
            names["@embedding"].add(prefix + "weight")
        if isinstance(module, _NORMS):
            names["@norm"].update(prefix + n for n, _ in module.named_parameters(recurse=False))
    names["@bias"] = {n for n, _ in model.named_parameters() if n.endswith("bias")}
    return names


def build_param_groups(model: nn.Module, groups: list[dict[str, Any]], lr: float,
                       weight_decay: float) -> list[dict[str, Any]]:
    """Optimizer groups (``[{params, lr, weight_decay, name}]``) for the trainable parameters.

    Without configured groups this is one group of every trainable parameter, in
    ``model.parameters()`` order.

    Raises:
        ValueError: when a configured group selects no trainable parameter.
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not groups:
        return [{"params": [p for _, p in named], "lr": lr, "weight_decay": weight_decay, "name": "default"}]
    typed = _typed_names(model)
    members: list[list[Any]] = [[] for _ in groups]
    rest = []
    for name, param in named:
        for i, group in enumerate(groups):
            if any(name in typed[s] if s.startswith("@") else re.search(s, name)
                   for s in _selectors(group["params"])):
                members[i].append(param)
                break
        else:
            rest.append(param)
    out = []
    for i, (group, params) in enumerate(zip(groups, members)):
        if not params:
            sample = ", ".join(n for n, _ in named[:8])
            raise ValueError(f"param_groups[{i}] (params: {group['params']!r}) selects no trainable "
                             f"parameter of {type(model).__name__}; its parameters include: {sample}, ...")
        out.append({"params": params, "lr": group.get("lr", lr),
                    "weight_decay": group.get("weight_decay", weight_decay), "name": group["params"]})
    if rest:
        out.append({"params": rest, "lr": lr, "weight_decay": weight_decay, "name": "default"})
    return out


__all__ = ["TYPE_SELECTORS", "build_param_groups", "check_param_groups"]
