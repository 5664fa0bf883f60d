"""Shared test fixtures."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from script_import import ROOT, import_script


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """``load_benchmark("render_table")`` imports ``benchmarks/render_table.py`` (not a package)."""
    return lambda script: import_script(ROOT / "benchmarks" / f"{script}.py", "graphrec_benchmark")
