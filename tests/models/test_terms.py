"""Every next-item model's ``terms()`` names exactly the keys of its ``loss_terms``, in every
configuration that changes them (S4Rec's variants, DSSRec's ablations), and its options are
one frozen ``Config`` that keywords and a config object fill alike."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

from graphrec.data.loo import LeaveOneOutSplit
from graphrec.models import resolve
from graphrec.models.context import ModelContext
from graphrec.models.s4rec import VARIANTS
from tests.train.ddp_worker import make_dataset, train_state

CASES: list[tuple[str, dict[str, Any]]] = [
    ("pop", {}),
    ("gru4rec", {}),
    ("sasrec", {}),
    ("sasrec", {"encoder": "gru"}),
    ("bert4rec", {}),
    ("cl4srec", {}),
    ("iclrec", {"num_intents": 4}),
    *[("s4rec", {"variant": v, "num_prototypes": 4}) for v in sorted(VARIANTS)],
    ("dssrec", {}),
    ("dssrec", {"seq2seq": False}),
    ("dssrec", {"split_points": "one"}),
    ("dssrec", {"split_points": "one", "seq2seq": False}),
]

NAMES = sorted({name for name, _ in CASES})


@pytest.fixture(scope="module")
def split() -> LeaveOneOutSplit:
    return LeaveOneOutSplit.build(make_dataset(num_users=40, num_items=30), max_len=8)


@pytest.mark.parametrize("name,options", CASES, ids=lambda c: str(c))
def test_terms_are_the_keys_of_loss_terms(split: LeaveOneOutSplit, name: str,
                                          options: dict[str, Any]) -> None:
    torch.manual_seed(0)
    cls = resolve(name)
    sized = {"hidden_size": 8} if "hidden_size" in cls.config_keys() else {}
    model = cls.from_context(ModelContext.from_split(split), **sized, **options)
    model.on_epoch_start(train_state(split))  # the k-means intents of ICLRec and S4Rec's k-means variants
    batch = model.training_batch(split.train_batch(np.arange(16)), torch.Generator().manual_seed(0))
    assert set(model.loss_terms(batch)) == set(model.terms())
    assert len(set(model.terms())) == len(model.terms())


@pytest.mark.parametrize("name", NAMES)
def test_config_and_keywords_build_the_same_model(name: str) -> None:
    cls = resolve(name)
    assert cls.config_keys() == cls.Config.keys()
    assert "num_items" not in cls.config_keys()
    sized = {"hidden_size": 8} if "hidden_size" in cls.config_keys() else {}
    torch.manual_seed(0)
    by_keywords = cls(20, **sized)  # type: ignore[call-arg]
    torch.manual_seed(0)
    by_config = cls(20, cls.Config(**sized))  # type: ignore[call-arg]
    torch.manual_seed(0)
    by_dict = cls.from_config(20, **sized)
    for other in (by_config, by_dict):
        assert other.config == by_keywords.config  # type: ignore[comparison-overlap]
        assert list(other.state_dict()) == list(by_keywords.state_dict())
        assert all(torch.equal(v, other.state_dict()[k]) for k, v in by_keywords.state_dict().items())
    config = by_keywords.config  # type: ignore[attr-defined]
    assert isinstance(config, cls.Config) and config == cls.Config.from_options(config.to_dict())
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_len = 3
    with pytest.raises(TypeError, match="takes a"):
        cls(20, object())  # type: ignore[call-arg, arg-type]
