"""MkDocs hooks: the configuration reference, generated from the config dataclasses at build time.

A page holding ``<!-- config-reference -->`` gets, in its place, one table for the experiment's
top-level keys, one for ``train.*`` (:class:`graphrec.train.config.TrainConfig`) and one per
registered model (its ``Config`` dataclass, what ``graphrec models NAME`` prints), each key with
its type, default and the description from the dataclass's docstring. The page can never go
stale: it is written from the code each time the site is built.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import re
import typing
from pathlib import Path
from typing import Any

_spec = importlib.util.spec_from_file_location("griffe_rest", Path(__file__).with_name("griffe_rest.py"))
assert _spec is not None and _spec.loader is not None
griffe_rest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(griffe_rest)

MARKER = "<!-- config-reference -->"
_ENTRY = re.compile(r"^(\s+)([A-Za-z_][\w ,/]*):\s*(.*)$")


def _entries(doc: str) -> list[tuple[list[str], str]]:
    """``(names, text)`` of every entry of the ``Attributes:``/``Args:`` sections of ``doc``."""
    entries: list[tuple[list[str], list[str]]] = []
    section, indent = False, None
    for line in doc.splitlines():
        if line.strip() in ("Attributes:", "Args:"):
            section, indent = True, None
            continue
        if not section:
            continue
        if line and not line.startswith(" "):
            section = False
            continue
        match = _ENTRY.match(line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent = len(match.group(1))
            names = [n.strip() for n in re.split(r"[,/]", match.group(2)) if n.strip()]
            entries.append((names, [match.group(3)]))
        elif line.strip() and entries:
            entries[-1][1].append(line.strip())
    return [(names, " ".join(" ".join(text).split())) for names, text in entries]


def field_descriptions(cls: type) -> dict[str, str]:
    """``name -> text`` from the docstrings of ``cls`` and its bases (the nearest class wins)."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for names, text in _entries(inspect.getdoc(klass) or ""):
            found.update(dict.fromkeys(names, text))
    return found


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def config_table(cls: type, prefix: str, skip: tuple[str, ...] = ()) -> str:
    """A Markdown table of the dataclass ``cls``'s fields as ``prefix<name>`` keys."""
    hints = typing.get_type_hints(cls)
    descriptions = field_descriptions(cls)
    lines = ["| key | type | default | what it sets |", "|---|---|---|---|"]
    for item in dataclasses.fields(cls):
        if item.name in skip:
            continue
        if item.default is not dataclasses.MISSING:
            default = repr(item.default)
        elif item.default_factory is not dataclasses.MISSING:
            default = repr(item.default_factory())
        else:
            default = "required"
        text = griffe_rest.rest_to_markdown(descriptions.get(item.name, ""))
        lines.append(f"| `{prefix}{item.name}` | `{_escape(_type_name(hints[item.name]))}` | "
                     f"`{_escape(default)}` | {_escape(text)} |")
    return "\n".join(lines)


def reference() -> str:
    from graphrec.experiment.config import ExperimentConfig
    from graphrec.models import available, resolve
    from graphrec.train.config import TrainConfig

    parts = ["## Experiment", "", config_table(ExperimentConfig, "", skip=("train",)), "",
             "## Training (`train.*`)", "", config_table(TrainConfig, "train."), "",
             "## Models (`model.*`)", ""]
    for name in available():
        cls = resolve(name)
        summary = (inspect.getdoc(cls) or "").splitlines()[0]
        parts += [f"### {name}", "", summary, "", config_table(cls.Config, "model."), ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, reference())
    return markdown
