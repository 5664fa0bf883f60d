"""The HPCL4SR readings offered as options, each against a hand-worked tiny case."""

from __future__ import annotations

import math

import pytest
import torch

from graphrec.data.batch import SeqBatch
from graphrec.data.synthetic import generate_synthetic
from graphrec.data.user_split import UserSplit
from graphrec.graph.diffusion import diffusion_coefficients
from graphrec.models.context import ModelContext
from graphrec.models.hpcl4sr import HPCL4SR
from graphrec.nn.capsule import CapsuleRouting
from graphrec.nn.multi_interest import PositionPooling


def test_normalized_diffusion_weights_decrease_and_sum_to_one() -> None:
    theta = diffusion_coefficients(3, 0.15, "normalized").double()
    geometric = torch.tensor([0.15 * 0.85**k for k in range(4)], dtype=torch.float64)
    torch.testing.assert_close(theta, geometric / geometric.sum(), atol=1e-7, rtol=0)
    assert float(theta.sum()) == pytest.approx(1.0) and bool((theta[1:] < theta[:-1]).all())
    remainder = diffusion_coefficients(3, 0.15)  # the series' remainder sits on the last hop
    assert float(remainder[-1]) == pytest.approx(0.85**3) and float(remainder[-1]) > float(remainder[0])
    with pytest.raises(ValueError, match="diffusion weights"):
        diffusion_coefficients(3, 0.15, "uniform")


def test_softmax_position_pooling_weights_sum_to_one_over_real_positions() -> None:
    pool = PositionPooling(num_interests=2, max_len=4, normalize=True)
    with torch.no_grad():
        pool.weight.copy_(torch.tensor([[0.0, 1.0, 2.0, 3.0], [3.0, 0.0, 0.0, 0.0]]))
    h = torch.eye(4).unsqueeze(0).repeat(2, 1, 1)  # (2, 4, 4): position t is the unit vector e_t
    valid = torch.tensor([[False, True, True, True], [False] * 4])
    q = pool(h, valid)  # (2, 2, 4): row k = the weights over positions
    expected = torch.softmax(torch.tensor([1.0, 2.0, 3.0]), 0)
    torch.testing.assert_close(q[0, 0], torch.cat([torch.zeros(1), expected]))
    torch.testing.assert_close(q[0, 1], torch.tensor([0.0, 1 / 3, 1 / 3, 1 / 3]))
    assert torch.allclose(q[0].sum(-1), torch.ones(2)) and bool((q[1] == 0).all())


def test_position_softmax_routing_couples_each_interest_to_its_real_positions() -> None:
    torch.manual_seed(0)
    layer = CapsuleRouting(6, num_interests=3, max_len=5, bilinear="shared", softmax="positions",
                           weight_init="kaiming")
    x = torch.randn(2, 5, 6)
    valid = torch.tensor([[False, False, True, True, True], [True] * 5])
    capsules, coupling = layer.route(x, valid)
    assert capsules.shape == (2, 3, 6)
    torch.testing.assert_close(coupling.sum(-1), torch.ones(2, 3))
    assert bool((coupling[0, :, :2] == 0).all())
    interests = CapsuleRouting(6, num_interests=3, max_len=5, bilinear="shared").route(x, valid)[1]
    torch.testing.assert_close(interests.sum(1)[valid], torch.ones(int(valid.sum())))  # over interests


def test_kaiming_init_has_he_scale() -> None:
    torch.manual_seed(0)
    layer = CapsuleRouting(64, num_interests=4, max_len=30, bilinear="per_position",
                           weight_init="kaiming")
    assert float(layer.weight.detach().std()) == pytest.approx(math.sqrt(2 / 64), rel=0.02)
    with pytest.raises(ValueError, match="weight_init"):
        CapsuleRouting(8, weight_init="xavier")


@pytest.fixture(scope="module")
def context() -> ModelContext:
    data = generate_synthetic(num_users=60, num_items=40, num_categories=9, num_intents=3,
                              mean_length=8, seed=3)
    return ModelContext.from_split(UserSplit.build(data, max_len=10, seed=0))


def test_eq13_without_bias_and_every_option_builds(context: ModelContext) -> None:
    model = HPCL4SR.from_context(context, hidden_size=8, fusion_bias=False, query_pooling="softmax",
                                 diffusion_weights="normalized", capsule_softmax="positions",
                                 capsule_init="kaiming")
    assert isinstance(model, HPCL4SR) and model.fusion is not None and model.fusion.bias is None
    assert model.pool is not None and model.pool.normalize
    for bad in ({"query_pooling": "mean"}, {"class_reduction": "sum"}, {"capsule_softmax": "items"}):
        with pytest.raises(ValueError, match="model."):
            HPCL4SR.from_context(context, hidden_size=8, **bad)


def test_eq12_as_a_per_sequence_sum(context: ModelContext) -> None:
    torch.manual_seed(0)
    mean = HPCL4SR.from_context(context, hidden_size=8)
    torch.manual_seed(0)
    summed = HPCL4SR.from_context(context, hidden_size=8, class_reduction="sequence_sum")
    assert isinstance(mean, HPCL4SR) and isinstance(summed, HPCL4SR)
    input_ids = torch.tensor([[0, 0, 3, 4, 5], [0, 1, 2, 3, 4], [0, 0, 0, 0, 7]])
    items = torch.randn(3, 5, 8)
    known = int(((input_ids > 0) & (mean.item_category[input_ids] > 0)).sum())
    torch.testing.assert_close(summed.class_loss(items, input_ids),
                               mean.class_loss(items, input_ids) * known / 3)
    batch = SeqBatch(input_ids=input_ids, user_ids=torch.arange(3))
    assert summed.loss_unit("class", batch) == "rows"
    assert mean.loss_unit("class", batch) == "class_positions"
