"""Import a script of ``benchmarks/`` or ``examples/`` (folders that are not packages) as a module.

Tests import it as ``from script_import import import_script``: ``tests/`` is on ``sys.path``
because ``tests/conftest.py`` lives there (pytest's default ``prepend`` import mode).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def import_script(path: Path, prefix: str) -> ModuleType:
    """Execute ``path`` as the module ``<prefix>_<stem>``, registered in ``sys.modules`` (anew each call)."""
    module_name = f"{prefix}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
