"""Docstrings are reST-flavoured (``.. math::``, ``:math:``, ``:class:`...```); render them in Markdown.

A griffe extension loaded by mkdocstrings (``docs/mkdocs.yml``): before the Google-style
sections are parsed, every docstring's reST math becomes arithmatex math (``$$ ... $$`` blocks,
``\\( ... \\)`` inline) and cross-reference roles become code spans.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|obj|exc):`~?([^`]+)`")
_INLINE_MATH = re.compile(r":math:`([^`]+)`")


def _math_blocks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(".. math::"):
            indent = len(line) - len(stripped)
            body: list[str] = []
            first = stripped[len(".. math::"):].strip()
            if first:
                body.append(first)
            i += 1
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i].strip())
                i += 1
            pad = " " * indent
            out += ["", pad + "$$", *[pad + b for b in body if b], pad + "$$", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters):\s*$")
_GROUPED = re.compile(r"^(\s+)([A-Za-z_]\w*(?:\s*(?:,|/)\s*[A-Za-z_]\w*)+):(.*)$")


def _split_grouped_parameters(text: str) -> str:
    """``a, b: text`` (or ``a / b: text``) in an ``Args:`` section becomes one entry per name."""
    out: list[str] = []
    section_indent: int | None = None
    for line in text.splitlines():
        header = _SECTION.match(line)
        if header:
            section_indent = len(header.group(1))
            out.append(line)
            continue
        if section_indent is not None and line.strip() and len(line) - len(line.lstrip()) <= section_indent:
            section_indent = None
        grouped = _GROUPED.match(line) if section_indent is not None else None
        if grouped:
            names = re.split(r"\s*(?:,|/)\s*", grouped.group(2))
            out += [f"{grouped.group(1)}{name}:{grouped.group(3)}" for name in names]
            continue
        out.append(line)
    return "\n".join(out)


def rest_to_markdown(text: str) -> str:
    """``text`` with reST math and roles in Markdown, grouped parameter entries split."""
    text = _split_grouped_parameters(_math_blocks(text))
    text = _INLINE_MATH.sub(lambda m: f"\\({m.group(1)}\\)", text)
    return _ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1] if '~' in m.group(0) else m.group(1)}`", text)


class ReSTDocstrings(griffe.Extension):
    """Rewrites every docstring once it is loaded."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)
