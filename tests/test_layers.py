"""One layer per concern: evaluation and serving never import the training loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "graphrec"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_eval_imports_nothing_from_train() -> None:
    for path in sorted((PACKAGE / "eval").glob("*.py")):
        bad = sorted(n for n in _imports(path) if n == "graphrec.train" or n.startswith("graphrec.train."))
        assert not bad, f"{path.name} imports {bad}"


def test_serving_and_evaluation_do_not_load_the_trainer() -> None:
    code = ("import sys, graphrec.eval, "
            "graphrec.experiment.runs, graphrec.recommend, graphrec.experiment.protocols\n"
            "loop = ('graphrec.train.trainer', 'graphrec.experiment.runner')\n"
            "print(sorted(m for m in sys.modules if m in loop))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# the lower layers, bottom-up: a package imports only from the layers before it (and the shared
# config checks, graphrec.config); losses are pure functions that layers may wrap
LOWER_LAYERS = ["data", "graph", "losses", "nn"]
ABOVE = ["graph", "nn", "models", "losses", "eval", "train", "analysis", "experiment",
         "experiment_config", "protocols", "runs", "recommend", "compare", "cli"]


def test_lower_layers_import_nothing_above_them() -> None:
    for index, layer in enumerate(LOWER_LAYERS):
        above = [name for name in ABOVE if name not in LOWER_LAYERS[: index + 1]]
        paths = sorted((PACKAGE / layer).rglob("*.py")) or [PACKAGE / f"{layer}.py"]
        for path in paths:
            bad = sorted(n for n in _imports(path)
                         if any(n == f"graphrec.{a}" or n.startswith(f"graphrec.{a}.") for a in above))
            assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"
