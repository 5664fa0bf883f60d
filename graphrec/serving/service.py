"""``graphrec serve DIR``: recommendations from an export over HTTP (FastAPI on uvicorn).

Endpoints:

* ``GET /health`` — ``{"status": "ok", "model", "num_items", "num_users", "data_checksum"}``;
* ``POST /recommend`` — body ``{"items": [...]}`` (a sequence of item names, oldest first) or
  ``{"user": "..."}`` (a known user: their whole history), with ``"k"`` (1..1000, default 10)
  and ``"include_history"`` (default false: items of the sequence are not recommended);
  answer ``{"items": [{"item", "score"}, ...]}``, best first. A multi-interest model scores
  every item by its best interest, which equals merging the interests' top-k lists by score
  as the user-split evaluation does. Unknown items or users, an empty sequence and a body
  with both or neither of ``items``/``user`` are 4xx errors that say what is wrong.

Concurrent requests are batched (:class:`MicroBatcher`): requests arriving within
``max_wait_ms`` of each other, up to ``max_batch``, are scored in one forward pass.

Needs the ``serve`` extra (``pip install -e ".[serve]"``). (No ``from __future__ import
annotations`` here: FastAPI reads the request model from the handler's annotation at runtime.)
"""

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.experiment.recommend import top_n
from graphrec.serving.export import load_export

#: the longest list one request may ask for
MAX_K = 1000


@dataclass
class Pending:
    """One request waiting in the batcher."""

    items: list[int]
    k: int
    include_history: bool
    future: asyncio.Future[Any] = field(repr=False)


class MicroBatcher:
    """Collects concurrent requests and scores them together.

    Args:
        score: ``(sequences, k, include_history) -> (items (R, k), scores (R, k))`` for a list
            of item-id sequences (run in a worker thread).
        max_batch: most requests per forward pass.
        max_wait_ms: how long the first request of a batch waits for others.

    Attributes:
        batch_sizes: the size of every batch run (for monitoring and tests).
    """

    def __init__(self, score: Any, max_batch: int = 64, max_wait_ms: float = 5.0) -> None:
        self.score = score
        self.max_batch = int(max_batch)
        self.max_wait = float(max_wait_ms) / 1000.0
        self.queue: asyncio.Queue[Pending] | None = None
        self.batch_sizes: list[int] = []
        self.worker: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, items: list[int], k: int, include_history: bool) -> Any:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.worker is None or self.worker.done():
            # a queue and a worker per event loop (a server runs one; test clients may start several)
            self.loop, self.queue = loop, asyncio.Queue()
            self.worker = loop.create_task(self._run(self.queue))
        assert self.queue is not None
        future: asyncio.Future[Any] = loop.create_future()
        await self.queue.put(Pending(items, k, include_history, future))
        return await future

    async def _run(self, queue: asyncio.Queue[Pending]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await queue.get()
            batch = [first]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            self.batch_sizes.append(len(batch))
            for include in (False, True):  # one forward pass per history setting
                group = [p for p in batch if p.include_history is include]
                if not group:
                    continue
                k = max(p.k for p in group)
                try:
                    items, scores = await loop.run_in_executor(
                        None, self.score, [p.items for p in group], k, include)
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                    for p in group:
                        p.future.set_exception(exc)
                    continue
                for row, p in enumerate(group):
                    p.future.set_result((items[row, :p.k], scores[row, :p.k]))


def create_app(export_dir: str | os.PathLike[str], max_batch: int = 64, max_wait_ms: float = 5.0) -> Any:
    """The FastAPI application serving the export in ``export_dir``."""
    try:
        from fastapi import FastAPI, HTTPException
        from pydantic import BaseModel, Field
    except ImportError:
        raise ImportError("graphrec serve needs the serve extra: pip install -e \".[serve]\"") from None

    loaded, manifest = load_export(export_dir)
    model, dataset = loaded.model, loaded.dataset
    max_len = loaded.config.train.max_len
    item_names = dataset.item_names or [str(i) for i in range(1, dataset.num_items + 1)]
    item_ids = {name: i + 1 for i, name in enumerate(item_names)}
    user_rows = ({name: u for u, name in enumerate(dataset.user_names)} if dataset.user_names
                 else {str(u): u for u in range(dataset.num_users)})

    def score(sequences: list[list[int]], k: int, include_history: bool) -> tuple[Any, Any]:
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.array([i for s in sequences for i in s], dtype=np.int64)
        items, scores = top_n(model, indptr, flat, n=k, max_len=max_len, exclude_seen=not include_history,
                              device=loaded.device)
        return items.numpy(), scores.numpy()

    batcher = MicroBatcher(score, max_batch, max_wait_ms)

    class RecommendRequest(BaseModel):
        items: list[str] | None = Field(default=None, description="item names, oldest first")
        user: str | None = Field(default=None, description="a known user's name")
        k: int = Field(default=10, ge=1, le=MAX_K)
        include_history: bool = False

    app = FastAPI(title="graphrec", description=f"{manifest['model']} recommendations")
    app.state.batcher = batcher
    app.state.manifest = manifest

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model": manifest["model"], "num_items": dataset.num_items,
                "num_users": dataset.num_users, "data_checksum": manifest["data_checksum"]}

    @app.post("/recommend")
    async def recommend(request: RecommendRequest) -> dict[str, Any]:
        if (request.items is None) == (request.user is None):
            raise HTTPException(422, "give exactly one of 'items' (a sequence) or 'user' (a known user)")
        if request.user is not None:
            if request.user not in user_rows:
                raise HTTPException(404, f"unknown user {request.user!r}")
            sequence = [int(i) for i in dataset.sequence(user_rows[request.user])]
        else:
            assert request.items is not None
            unknown = [name for name in request.items if name not in item_ids]
            if unknown:
                raise HTTPException(422, f"unknown item(s) {unknown[:5]}; items are named as in the "
                                         "dataset the model was trained on")
            if not request.items:
                raise HTTPException(422, "the sequence is empty")
            sequence = [item_ids[name] for name in request.items]
        items, scores = await batcher.submit(sequence, request.k, request.include_history)
        return {"items": [{"item": item_names[int(i) - 1], "score": float(s)}
                          for i, s in zip(items, scores, strict=True) if int(i) > 0]}

    return app


def serve(export_dir: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8000,
          max_batch: int = 64, max_wait_ms: float = 5.0) -> None:
    """Run the service with uvicorn until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise ImportError("graphrec serve needs the serve extra: pip install -e \".[serve]\"") from None
    uvicorn.run(create_app(Path(export_dir), max_batch, max_wait_ms), host=host, port=port)


__all__ = ["MAX_K", "MicroBatcher", "create_app", "serve"]
