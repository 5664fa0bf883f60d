"""Every example runs at its smallest setting, exits 0 and prints the metric it trains for;
the YAML configs parse and one runs end to end through ``graphrec train``.

Examples are imported from ``examples/`` and their ``main(argv)`` is called in-process
(one torch thread while they run: they are tiny and threads only add contention).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from script_import import import_script

import graphrec.models
from graphrec.cli import main as graphrec_main
from graphrec.experiment.runner import build_experiment_config
from graphrec.models import resolve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted((EXAMPLES / "configs").glob("*.yaml"))
TINY = ["data_options.num_users=200", "data_options.num_items=150"]
FLOAT = r"(\d+\.\d+)"


def _load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module registered in ``sys.modules``."""
    return import_script(EXAMPLES / f"{name}.py", "graphrec_example")


def _metric(pattern: str, text: str) -> list[float]:
    """The numbers captured by ``pattern`` in ``text``; each must be a probability."""
    found = re.findall(pattern, text)
    assert found, f"no line matching {pattern!r} in:\n{text}"
    values = [float(v) for match in found for v in ((match,) if isinstance(match, str) else match)]
    assert all(0.0 <= v <= 1.0 for v in values), values
    return values


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_train_sasrec(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("train_sasrec").main(["--smoke"]) == 0
    out = capsys.readouterr().out
    _metric(rf"test \(unmasked\): HR@10 {FLOAT}  NDCG@10 {FLOAT}", out)
    _metric(rf"test \(history masked\): HR@10 {FLOAT}  NDCG@10 {FLOAT}", out)


def test_category_graph_diffusion(capsys: pytest.CaptureFixture[str]) -> None:
    module = _load("category_graph_diffusion")
    assert module.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"K=0: valid AUC", out) and re.search(r"K=2: valid AUC", out)
    assert len(_metric(rf"test AUC {FLOAT}", out)) == 2


def test_roc_auc_hand_worked() -> None:
    auc = _load("category_graph_diffusion").roc_auc
    labels = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert auc(torch.tensor([0.9, 0.8, 0.1, 0.2]), labels) == 1.0
    assert auc(torch.tensor([0.1, 0.2, 0.9, 0.8]), labels) == 0.0
    # pairs (pos, neg): (.9,.5) win, (.9,.3) win, (.3,.5) loss, (.3,.3) tie -> (2 + 0.5) / 4
    assert auc(torch.tensor([0.9, 0.3, 0.5, 0.3]), labels) == pytest.approx(0.625)


def test_srgnn_session_graphs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("srgnn_session_graphs").main(["--smoke"]) == 0
    out = capsys.readouterr().out
    _metric(rf"test: HR@10 {FLOAT}  NDCG@10 {FLOAT}", out)
    diff = float(re.search(r"max \|difference\| (\S+)", out).group(1))  # type: ignore[union-attr]
    assert diff < 1e-4


def test_session_graph_dataset_matches_session_graphs() -> None:
    module = _load("srgnn_session_graphs")
    inputs = torch.tensor([[0, 3, 5, 3], [7, 7, 2, 9]])
    targets = torch.tensor([[0, 5, 3, 4], [7, 2, 9, 1]])
    prefixes, y = module.all_prefixes(inputs, targets)
    assert prefixes.tolist()[:3] == [[0, 0, 0, 3], [0, 0, 3, 5], [0, 3, 5, 3]]
    assert y.tolist() == [5, 3, 4, 7, 2, 9, 1]
    graphs = module.SessionGraphDataset(prefixes, y)
    g = graphs[2]  # 3 -> 5 -> 3: nodes {3, 5}, edges 3->5 and 5->3
    assert g.x.tolist() == [3, 5] and g.alias.tolist() == [0, 1, 0] and g.last.tolist() == [0]
    assert sorted(map(tuple, g.edge_index.T.tolist())) == [(0, 1), (1, 0)]
    batch = module.Batch.from_data_list([graphs[0], graphs[2]], follow_batch=["alias"])
    assert batch.alias.tolist() == [0, 1, 2, 1] and batch.last.tolist() == [0, 1]  # offset by 1 node
    assert batch.alias_batch.tolist() == [0, 1, 1, 1]


def test_custom_model(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graphrec.models, "MODELS", dict(graphrec.models.MODELS))  # restored afterwards
    module = _load("custom_model")
    assert module.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    _metric(rf"pop: test HR@10 {FLOAT}  NDCG@10 {FLOAT}", out)
    _metric(rf"meanpool: test HR@10 {FLOAT}  NDCG@10 {FLOAT}", out)
    assert resolve("meanpool") is module.CausalMeanPool


def test_custom_model_is_causal() -> None:
    model = _load("custom_model").CausalMeanPool(num_items=9, hidden_size=4, dropout=0.0).eval()
    ids = torch.tensor([[0, 0, 4, 2, 7]])
    h = model.encode(ids)  # (1, 5, 4)
    changed = model.encode(torch.tensor([[0, 0, 4, 2, 9]]))
    assert torch.allclose(h[:, :4], changed[:, :4]) and not torch.allclose(h[:, 4], changed[:, 4])
    mean = model.item.weight[[4, 2]].mean(dim=0)  # position 3 sees items 4 and 2
    assert torch.allclose(h[0, 3], model.proj(mean), atol=1e-6)


def test_custom_model_uses_the_three_doors() -> None:
    from graphrec.data.load import load_dataset
    from graphrec.data.loo import LeaveOneOutSplit
    from graphrec.models.context import ModelContext
    from graphrec.models.hooks import TrainState

    module = _load("custom_model")
    split = LeaveOneOutSplit.build(load_dataset("synthetic", num_users=60, num_items=40), max_len=10)
    ctx = ModelContext.from_split(split)
    model = module.CausalMeanPool.from_context(ctx, hidden_size=8)
    assert torch.equal(model.item_category, torch.as_tensor(ctx.item_category))
    batch = model.training_batch(split.train_batch(np.arange(16)), torch.Generator().manual_seed(0))
    view, real = batch.extras["view"], batch.input_ids > 0
    assert ((view > 0).sum(1) <= real.sum(1)).all() and ((view > 0).sum(1) >= 1).all()
    terms = model.loss_terms(batch)
    assert set(terms) == {"rec", "category", "cl"} and model.loss_unit("cl", batch) == "rows"
    state = TrainState(seed=0, epoch=1, step=1, epochs=1, steps_per_epoch=1, device=torch.device("cpu"))
    model.on_step_end(state)
    assert torch.allclose(model.proj_ema, 0.01 * model.proj.weight)
    model.on_epoch_end(state)
    assert state.record["proj_ema_norm"] > 0


def test_category_graph_analysis(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    module = _load("category_graph_analysis")
    assert module.main(["--out", str(tmp_path), "--hops", "2"]) == 0
    assert "category graph:" in capsys.readouterr().out
    assert (tmp_path / "summary.json").is_file()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_parses(config: Path) -> None:
    cfg = build_experiment_config(config)
    model = resolve(cfg.model).from_config(20, **cfg.model_options)  # unknown options raise
    assert model.num_items == 20
    if "max_len" in cfg.model_options:
        assert cfg.model_options["max_len"] == cfg.train.max_len
    allowed = {("../shared/data/amazon-beauty", "loo"), ("../shared/data/amazon-beauty", "user"),
               ("data/tafeng", "user")}
    assert (cfg.data, cfg.protocol) in allowed, (cfg.data, cfg.protocol)
    if cfg.protocol == "user":
        assert cfg.train.metric == "Recall@20"


def test_configs_present() -> None:
    names = {p.name for p in CONFIGS}
    assert {"sasrec_ce_beauty.yaml", "gru4rec_beauty.yaml", "srgnn_beauty.yaml"} <= names
    cfg = build_experiment_config(EXAMPLES / "configs" / "sasrec_ce_beauty.yaml")
    assert cfg.train.lr == 0.004 and cfg.mask_history_eval and cfg.model_options["loss"] == "ce"


def test_config_trains_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--config", str(EXAMPLES / "configs" / "sasrec_ce_beauty.yaml"), "--data", "synthetic",
            "--out", str(tmp_path), "--no-progress", "train.epochs=1", *TINY]
    assert graphrec_main(argv) == 0
    assert "test, history masked: HR@5" in capsys.readouterr().out
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["config"]["train"]["lr"] == 0.004 and result["mask_history_eval"] is True
    assert result["epochs_run"] == 1 and result["data"] == "synthetic"


def test_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    for script in sorted(EXAMPLES.glob("*.py")):
        assert f"examples/{script.name}" in readme, f"{script.name} is missing from examples/README.md"
    for config in CONFIGS:
        assert config.name in readme, f"{config.name} is missing from examples/README.md"
