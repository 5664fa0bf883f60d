"""Generic config plumbing shared by every layer that reads user settings (data, models, training).

Config lives only at the edge: YAML / command line -> plain dicts -> frozen
dataclasses. Unknown keys are an error that lists the valid keys and suggests the
closest one; values given as strings (``lr=1e-3``) are coerced to the field's type.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import yaml


def check_keys(given: Iterable[str], valid: Iterable[str], section: str) -> None:
    """Raise ``ValueError`` for keys not in ``valid``, with a did-you-mean suggestion."""
    valid = sorted(valid)
    unknown = sorted(set(given) - set(valid))
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(f"unknown key(s) in [{section}]: {', '.join(hints)}; valid keys: {valid}")


# ------------------------------------------------------------------ generic dict -> dataclass
T = typing.TypeVar("T")


def from_dict(cls: type[T], values: Mapping[str, Any], section: str) -> T:
    """Instantiate the dataclass ``cls`` from ``values`` with key checking and coercion."""
    if not isinstance(values, Mapping):
        raise ValueError(f"[{section}] must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    check_keys(values, fields, section)
    hints = typing.get_type_hints(cls)
    kwargs = {k: coerce(v, hints[k], f"{section}.{k}") for k, v in values.items()}
    return cls(**kwargs)


def coerce(value: Any, annotation: Any, name: str) -> Any:
    """Convert ``value`` (often a string from the command line) to ``annotation``.

    Supports ``bool``, ``int``, ``float``, ``str``, ``X | None``, ``dict[...]`` and
    ``list[...]`` (strings for the last two are parsed as YAML).
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "~", "")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], name) if len(inner) == 1 else value
    try:
        if annotation is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _BOOLS:
                return _BOOLS[value.strip().lower()]
            raise ValueError("expected true/false")
        if annotation is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer, got a boolean")
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                parsed = float(value) if any(c in value for c in ".eE") else int(value)
                if float(parsed) != int(parsed):
                    raise ValueError("expected an integer")
                return int(parsed)
            if isinstance(value, int):
                return value
            raise ValueError("expected an integer")
        if annotation is float:
            if isinstance(value, bool):
                raise ValueError("expected a number, got a boolean")
            return float(value)
        if annotation is str:
            if isinstance(value, (dict, list)):
                raise ValueError("expected a string")
            return str(value)
        if origin is dict or annotation is dict:
            parsed = yaml.safe_load(value) if isinstance(value, str) else value
            if parsed is None:
                return {}
            if not isinstance(parsed, Mapping):
                raise ValueError("expected a mapping")
            if len(args) == 2:
                return {coerce(k, args[0], name): coerce(v, args[1], f"{name}.{k}")
                        for k, v in parsed.items()}
            return dict(parsed)
        if origin is list or annotation is list:
            parsed = yaml.safe_load(value) if isinstance(value, str) else value
            if not isinstance(parsed, (list, tuple)):
                raise ValueError("expected a list")
            return [coerce(v, args[0], name) for v in parsed] if args else list(parsed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot use {value!r} as {_type_name(annotation)} ({exc})") from None
    return value


_BOOLS = {"true": True, "yes": True, "on": True, "1": True,
          "false": False, "no": False, "off": False, "0": False}


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


# ------------------------------------------------------------------------ YAML + overrides
def int_in_range(low: int, high: int) -> Any:
    """An ``argparse`` type: an integer in ``[low, high]``, or a one-line error saying so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside [{low:,}, {high:,}]")
        return value

    parse.__name__ = "integer"
    return parse


#: the largest seed torch's generators take
MAX_SEED = 2**63 - 1

#: the largest config file read, in bytes
MAX_CONFIG_BYTES = 1 << 20
#: the most values a config may hold once its YAML aliases are expanded
MAX_CONFIG_VALUES = 100_000


def count_values(data: Any, limit: int) -> int:
    """Number of values in ``data`` as a deep copy would make them (aliases counted every time),
    counting no further than ``limit + 1``."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file (and line for syntax errors).

    Bounded: a file over :data:`MAX_CONFIG_BYTES`, or one whose aliases expand to more than
    :data:`MAX_CONFIG_VALUES` values (a "billion laughs" file), is refused before it is copied.
    """
    try:
        size = os.path.getsize(path)
        if size > MAX_CONFIG_BYTES:
            raise ValueError(f"{path}: a config file of {size:,} bytes is larger than the "
                             f"{MAX_CONFIG_BYTES:,} a config can need")
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ValueError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level of a config file must be a mapping")
    if count_values(data, MAX_CONFIG_VALUES) > MAX_CONFIG_VALUES:
        raise ValueError(f"{path}: expands to more than {MAX_CONFIG_VALUES:,} values (YAML aliases "
                         "repeated inside each other); a config needs far fewer")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=1e-3"`` -> ``(["train", "lr"], 1e-3)``; the value is parsed as YAML."""
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like key=value (e.g. train.lr=0.001)")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".")]
    if not path or any(not p for p in path):
        raise ValueError(f"override {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(config: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key=value`` overrides (dotted keys for nested sections) to a config dict.

    A dotted key into a section that holds a plain value turns that value into
    ``{"name": value}`` first, so ``model.hidden_size=64`` works on ``model: sasrec``.
    Returns a new dict; the input is not modified. Type coercion happens when the
    dict is turned into a dataclass (:func:`from_dict`).
    """
    out = _deep_copy(config)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = {}
            elif not isinstance(child, dict):
                child = {"name": child}
            node[key] = child
            node = child
        node[path[-1]] = value
    return out


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


__all__ = ["apply_overrides", "check_keys", "coerce", "from_dict", "load_yaml", "parse_override"]
