"""The docs stay true: their examples run, their commands parse, their generated pages are fresh."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from graphrec.cli import build_parser
from graphrec.eval.loo import loo_evaluator
from graphrec.models import available

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs" / "pages"


def _blocks(language: str) -> list[tuple[Path, str]]:
    return [(page, block) for page in sorted(PAGES.rglob("*.md"))
            for block in re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)]


def test_every_python_example_runs(capsys: pytest.CaptureFixture) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 3
    for page, block in blocks:
        exec(compile(block, str(page), "exec"), {})  # noqa: S102 - the docs' own examples
    assert capsys.readouterr().out.strip()


def test_the_extending_example_trains_through_the_three_doors() -> None:
    from graphrec.data.load import load_dataset
    from graphrec.data.loo import LeaveOneOutSplit
    from graphrec.models.context import ModelContext
    from graphrec.train.config import TrainConfig
    from graphrec.train.trainer import Trainer

    (snippet,) = [b for _, b in _blocks("python") if "class MeanPoolIntents" in b]
    namespace: dict = {}
    exec(compile(snippet, "extending.md", "exec"), namespace)  # noqa: S102 - the docs' own example
    split = LeaveOneOutSplit.build(load_dataset("synthetic", num_users=80, num_items=50), max_len=10)
    model = namespace["MeanPoolIntents"].from_context(ModelContext.from_split(split), dim=8)
    result = Trainer(model, split, TrainConfig(epochs=2, lr=0.01, progress=False),
                     evaluator=loo_evaluator(split)).fit()
    assert set(result["history"][0]) >= {"loss/rec", "loss/cl"}
    assert float(model.intents.abs().sum()) > 0  # the epoch-start k-means ran


def test_every_shell_command_parses() -> None:
    parser = build_parser()
    commands = []
    for _, block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("graphrec "):
                commands.append(line)
    assert len(commands) >= 10
    for command in commands:
        args = parser.parse_args(shlex.split(command.split(" #")[0])[1:])
        assert callable(args.handler), command


def test_every_model_has_a_page_in_the_navigation() -> None:
    nav = (ROOT / "docs" / "mkdocs.yml").read_text()
    for name in available():
        assert (PAGES / "models" / f"{name}.md").exists(), name
        assert f"models/{name}.md" in nav, name


def test_generated_pages_are_fresh_and_go_stale_when_a_record_changes(
        tmp_path: Path, load_benchmark: Callable[[str], ModuleType]) -> None:
    render = load_benchmark("render_table")
    assert render.main(["--check"]) == 0, "regenerate with python benchmarks/render_table.py"
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    path = results / "sasrec_ce_beauty.json"
    record = json.loads(path.read_text())
    record["test"]["masked"]["HR@10"] += 0.01
    path.write_text(json.dumps(record))
    assert render.main(["--check", "--results", str(results)]) == 1


def test_no_measured_numbers_in_model_docstrings() -> None:
    # a metric followed by a value (".0828", "0.1167") belongs in the records and the docs
    measured = re.compile(r"(HR|NDCG|Recall|MRR)(@\d+)?\s*(=|of|:)?\s*0?\.\d{3,4}")
    for path in sorted((ROOT / "graphrec" / "models").glob("*.py")):
        assert not measured.search(path.read_text()), path.name
