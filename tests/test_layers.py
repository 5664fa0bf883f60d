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
            "graphrec.experiment.runs, graphrec.experiment.recommend, graphrec.experiment.protocols\n"
            "loop = ('graphrec.train.trainer', 'graphrec.experiment.runner')\n"
            "print(sorted(m for m in sys.modules if m in loop))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# the whole package, bottom-up: a layer imports only from itself and the layers before it.
# infrastructure (config checks, atomic writes, output folders, the process group) sits at the
# bottom; the command line at the top.
LAYERS: list[tuple[str, ...]] = [
    ("config", "atomic", "outputs", "replacement", "distributed"),
    ("data",),
    ("graph",),
    ("losses",),
    ("nn",),
    ("models",),
    ("eval",),
    ("train",),
    ("experiment",),
    ("analysis",),
    ("serving",),
    ("cli", "__main__"),
]


def _layer_of(name: str) -> int | None:
    """The index in :data:`LAYERS` of the graphrec module ``name`` (``None`` outside graphrec)."""
    parts = name.split(".")
    if parts[0] != "graphrec" or len(parts) < 2:
        return None
    for index, members in enumerate(LAYERS):
        if parts[1] in members:
            return index
    return None


def _modules() -> list[tuple[Path, int]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top == "__init__":
            continue
        layer = _layer_of(f"graphrec.{top}")
        assert layer is not None, f"{path.relative_to(PACKAGE)} belongs to no layer: add it to LAYERS"
        out.append((path, layer))
    return out


def test_no_module_imports_a_layer_above_its_own() -> None:
    for path, layer in _modules():
        bad = sorted(n for n in _imports(path) if (_layer_of(n) or 0) > layer)
        assert not bad, f"{path.relative_to(PACKAGE)} (layer {LAYERS[layer]}) imports {bad}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from graphrec.experiment.runner import run_experiment\nimport graphrec.data\n")
    found = sorted(n for n in _imports(module) if (_layer_of(n) or 0) > LAYERS.index(("models",)))
    assert found == ["graphrec.experiment.runner", "graphrec.experiment.runner.run_experiment"]


def test_the_trainer_imports_no_protocol() -> None:
    for path in sorted((PACKAGE / "train").glob("*.py")):
        bad = sorted(n for n in _imports(path) if n.startswith("graphrec.eval"))
        assert not bad, f"{path.name} imports {bad}"
