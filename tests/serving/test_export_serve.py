"""``graphrec export`` and ``graphrec serve``: a self-contained folder, and HTTP answers equal to
``graphrec recommend``'s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.cli import main
from graphrec.experiment.recommend import top_n
from graphrec.experiment.runs import load_run
from graphrec.serving.export import load_export, read_manifest

TINY = ["data_options.num_users=60", "data_options.num_items=40", "data_options.num_categories=9",
        "data_options.num_intents=3", "data_options.mean_length=6", "train.batch_size=32",
        "model.hidden_size=8"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("serving")
    run = root / "run"
    assert main(["train", "--out", str(run), "--epochs", "1", "--data", "synthetic", "--no-progress",
                 "model.num_layers=1", *TINY]) == 0
    out = root / "export"
    assert main(["export", str(run), "--out", str(out)]) == 0
    return run, out


def test_the_export_is_complete_and_scores_as_the_run(exported: tuple[Path, Path]) -> None:
    run, out = exported
    manifest = read_manifest(out)
    assert {"model.pt", "item_embeddings.npy", "items.json", "dataset/arrays.npz"} <= set(manifest["files"])
    assert manifest["model"] == "sasrec" and manifest["metrics"]["test_masked"]["HR@10"] >= 0
    loaded, _ = load_export(out)
    original = load_run(run, device="cpu")
    table = np.load(out / "item_embeddings.npy")
    np.testing.assert_allclose(table, original.model.item_embeddings().detach().numpy())
    indptr, items = np.array([0, 3, 5]), np.array([1, 2, 3, 4, 5])
    for a, b in zip(top_n(loaded.model, indptr, items, 5, 10), top_n(original.model, indptr, items, 5, 10),
                    strict=True):
        torch.testing.assert_close(a, b)


def test_a_changed_file_or_a_foreign_folder_is_refused(exported: tuple[Path, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run, out = exported
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(out, copy)
    table = np.load(copy / "item_embeddings.npy")
    np.save(copy / "item_embeddings.npy", table * 2)
    with pytest.raises(ValueError, match="item_embeddings.npy: its checksum differs"):
        read_manifest(copy)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    assert main(["export", str(run), "--out", str(mine)]) == 2
    assert "was not made by graphrec" in capsys.readouterr().err and (mine / "notes.txt").exists()
    assert main(["export", str(run), "--out", str(out)]) == 2  # an export is replaced only with --overwrite
    assert "--overwrite" in capsys.readouterr().err


fastapi = pytest.importorskip("fastapi")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # starlette's TestClient on httpx


@pytest.fixture(scope="module")
def client(exported: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from graphrec.serving.service import create_app

    return TestClient(create_app(exported[1], max_batch=8, max_wait_ms=20))


def test_health_and_recommendations_equal_graphrec_recommend(exported: tuple[Path, Path], client,  # type: ignore[no-untyped-def]
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model"] == "sasrec" and health["num_items"] == 40
    assert main(["recommend", str(exported[0]), "--users", "3", "--top", "5", "--format", "json"]) == 0
    expected = json.loads(capsys.readouterr().out)["3"]
    answer = client.post("/recommend", json={"user": "3", "k": 5}).json()["items"]
    assert [a["item"] for a in answer] == [e["item"] for e in expected]
    assert [a["score"] for a in answer] == pytest.approx([e["score"] for e in expected], rel=1e-5)


def test_history_is_excluded_unless_asked(client) -> None:  # type: ignore[no-untyped-def]
    history = ["1", "2", "3", "4"]
    plain = [a["item"] for a in client.post("/recommend", json={"items": history, "k": 40}).json()["items"]]
    assert not set(plain) & set(history) and len(plain) == 36
    every = client.post("/recommend", json={"items": history, "k": 40, "include_history": True}).json()
    assert {a["item"] for a in every["items"]} == {str(i) for i in range(1, 41)}


@pytest.mark.parametrize("body,status,needle", [
    ({"items": ["1"], "user": "3"}, 422, "exactly one"),
    ({}, 422, "exactly one"),
    ({"items": ["1", "nope"]}, 422, "nope"),
    ({"items": []}, 422, "empty"),
    ({"user": "nobody"}, 404, "nobody"),
    ({"items": ["1"], "k": 0}, 422, "k"),
    ({"items": ["1"], "k": 5000}, 422, "k"),
])
def test_bad_requests_are_4xx_that_say_why(client, body: dict, status: int, needle: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/recommend", json=body)
    assert response.status_code == status and needle in response.text


def test_concurrent_requests_are_batched_and_answered_as_alone(exported: tuple[Path, Path]) -> None:
    import httpx

    from graphrec.serving.service import create_app

    app = create_app(exported[1], max_batch=16, max_wait_ms=50)
    bodies = [{"items": [str(1 + (i * 7) % 40), str(1 + (i * 3) % 40)], "k": 5} for i in range(12)]

    async def run() -> tuple[list, list]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            together = await asyncio.gather(*(http.post("/recommend", json=b) for b in bodies))
            alone = [await http.post("/recommend", json=b) for b in bodies]
        return [r.json() for r in together], [r.json() for r in alone]

    together, alone = asyncio.run(run())
    for a, b in zip(together, alone, strict=True):  # same lists; scores equal up to float rounding
        assert [x["item"] for x in a["items"]] == [x["item"] for x in b["items"]]
        assert [x["score"] for x in a["items"]] == pytest.approx([x["score"] for x in b["items"]], rel=1e-5)
    assert max(app.state.batcher.batch_sizes) > 1  # some requests shared a forward pass


def test_a_real_server_on_localhost_starts_answers_and_stops(exported: tuple[Path, Path]) -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "graphrec", "serve", str(exported[1]), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        answer = httpx.post(f"{url}/recommend", json={"items": ["1", "2"], "k": 3}, timeout=10)
        assert answer.status_code == 200 and len(answer.json()["items"]) == 3
        bad = httpx.post(f"{url}/recommend", json={"items": ["nope"]}, timeout=10)
        assert bad.status_code == 422 and "nope" in bad.text
    finally:
        server.terminate()
        server.wait(timeout=30)
