"""Every multi-interest model's ``terms()`` names exactly the keys of its ``loss_terms``, in every
configuration that changes them (HPCL4SR's variants, DSIE's ablations)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from graphrec.data.synthetic import generate_synthetic
from graphrec.data.user_split import UserSplit
from graphrec.models import resolve
from graphrec.models.context import ModelContext
from graphrec.models.hpcl4sr import VARIANTS
from graphrec.models.multi_interest import MultiInterestRecommender

CASES: list[tuple[str, dict[str, Any]]] = [
    ("comirec_sa", {}),
    ("comirec_sa", {"add_positions": False}),
    ("comirec_dr", {}),
    ("mind", {}),
    ("mind", {"relu_layer": False}),
    *[("hpcl4sr", {"variant": v}) for v in sorted(VARIANTS)],
    ("dsie", {}),
    ("dsie", {"contrastive": False}),
    ("dsie", {"use_global": False, "contrastive": False}),
    ("dsie", {"orthogonality": False}),
    ("dsie", {"num_interests": 1}),
    ("dsie", {"readout": "interests"}),
]


@pytest.fixture(scope="module")
def split() -> UserSplit:
    data = generate_synthetic(num_users=60, num_items=40, num_categories=9, num_intents=3, mean_length=8,
                              max_length=30, seed=0)
    return UserSplit.build(data, max_len=10, seed=0)


@pytest.mark.parametrize("name,options", CASES, ids=lambda c: str(c))
def test_terms_are_the_keys_of_loss_terms(split: UserSplit, name: str, options: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = resolve(name).from_context(ModelContext.from_split(split), hidden_size=8, num_negatives=16,
                                       **options)
    assert isinstance(model, MultiInterestRecommender)
    gen = torch.Generator().manual_seed(0)
    batch = split.train_batch(np.arange(16))
    assert set(model.loss_terms(model.training_batch(batch, gen))) == set(model.terms())
    assert len(set(model.terms())) == len(model.terms())
