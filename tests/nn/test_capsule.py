"""Dynamic routing (MIND / ComiRec-DR): squash, shapes, gradients, stopped routing logits, padding."""

from __future__ import annotations

import pytest
import torch

from graphrec.nn.capsule import BILINEAR_TYPES, CapsuleRouting, squash, trunc_normal_logits


def test_squash_closed_form() -> None:
    z = torch.tensor([[3.0, 4.0], [0.0, 0.0], [0.6, 0.8]])
    out = squash(z)
    # |z| = 5 -> norm 25 / 26 along (0.6, 0.8); zero stays zero; |z| = 1 -> norm 1/2
    assert torch.allclose(out[0], torch.tensor([0.6, 0.8]) * 25 / 26, atol=1e-6)
    assert torch.equal(out[1], torch.zeros(2))
    assert torch.allclose(out[2], torch.tensor([0.3, 0.4]), atol=1e-6)
    big = squash(torch.full((1, 8), 100.0))
    assert float(big.norm()) < 1.0 and float(big.norm()) == pytest.approx(1.0, abs=1e-4)
    assert torch.allclose(squash(z.T, dim=0), out.T)


def test_trunc_normal_stays_in_two_sigma() -> None:
    draw = trunc_normal_logits((2000,), generator=torch.Generator().manual_seed(0))
    assert draw.abs().max() <= 2.0 and 0.7 < float(draw.std()) < 1.0  # truncated N(0,1): std ~0.88


@pytest.mark.parametrize("bilinear", BILINEAR_TYPES)
def test_shapes_gradients_and_padding(bilinear: str) -> None:
    torch.manual_seed(0)
    layer = CapsuleRouting(8, num_interests=3, max_len=6, bilinear=bilinear).eval()
    x = torch.randn(2, 4, 8, requires_grad=True)
    valid = torch.tensor([[False, True, True, True], [True, True, True, True]])
    out, coupling = layer.route(x * valid.unsqueeze(-1), valid)
    assert out.shape == (2, 3, 8) and coupling.shape == (2, 3, 4)
    assert torch.all(coupling[0, :, 0] == 0)  # padding gets no weight
    assert torch.allclose(coupling[:, :, 1:].sum(dim=1), torch.ones(2, 3))  # softmax over interests
    assert bool((out.norm(dim=-1) < 1).all())  # squashed
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad[1].abs().sum() > 0
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    # more left padding changes nothing (positions are counted from the newest item)
    wider = torch.cat([torch.zeros(2, 2, 8), x.detach() * valid.unsqueeze(-1)], dim=1)
    wider_valid = torch.cat([torch.zeros(2, 2, dtype=torch.bool), valid], dim=1)
    assert torch.allclose(layer(wider, wider_valid), out.detach(), atol=1e-5)


def test_one_iteration_from_zero_logits_is_the_squashed_mean() -> None:
    torch.manual_seed(1)
    layer = CapsuleRouting(4, num_interests=2, max_len=3, bilinear="per_interest", iterations=1)
    x = torch.randn(1, 3, 4)
    valid = torch.ones(1, 3, dtype=torch.bool)
    u_hat = torch.einsum("kod,bwd->bkwo", layer.weight, x)  # (1, 2, 3, 4)
    expected = squash(0.5 * u_hat.sum(dim=2))  # softmax over 2 interests of zeros = 1/2
    assert torch.allclose(layer(x, valid), expected, atol=1e-6)


def test_routing_logits_get_no_gradient_across_iterations() -> None:
    """The gradient equals that of the last weighted sum with the coupling held constant."""
    torch.manual_seed(2)
    layer = CapsuleRouting(6, num_interests=3, max_len=5, bilinear="per_position", iterations=3)
    x = torch.randn(2, 5, 6, requires_grad=True)
    valid = torch.ones(2, 5, dtype=torch.bool)
    out, coupling = layer.route(x, valid)
    assert not coupling.requires_grad  # the logits and couplings are constants for autograd
    weights = torch.randn_like(out)
    (grad_routed,) = torch.autograd.grad((out * weights).sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    fixed = squash(torch.einsum("bkw,bkwd->bkd", coupling, layer.predict(x2)))  # coupling frozen
    assert torch.allclose(fixed, out.detach(), atol=1e-6)
    (grad_fixed,) = torch.autograd.grad((fixed * weights).sum(), x2)
    assert torch.allclose(grad_routed, grad_fixed, atol=1e-6)
    # while the coupling itself does depend on x (it is not the uniform start)
    assert not torch.allclose(coupling, torch.full_like(coupling, 1 / 3))


def test_shared_map_draws_random_logits_in_training_and_fixed_ones_in_eval() -> None:
    torch.manual_seed(3)
    layer = CapsuleRouting(4, num_interests=3, max_len=5, bilinear="shared")
    assert layer.init_logits == "random" and layer.eval_logits.abs().sum() > 0
    x, valid = torch.randn(2, 5, 4), torch.ones(2, 5, dtype=torch.bool)
    out = layer(x, valid)
    assert not torch.allclose(out[:, 0], out[:, 1])  # random logits break the symmetry
    assert not torch.allclose(layer(x, valid), out)  # a new draw per training pass
    layer.eval()
    assert torch.equal(layer(x, valid), layer(x, valid))  # deterministic evaluation
    assert CapsuleRouting(4, bilinear="per_position").init_logits == "zeros"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="bilinear"):
        CapsuleRouting(4, bilinear="dense")
    with pytest.raises(ValueError, match="iterations"):
        CapsuleRouting(4, iterations=0)
    with pytest.raises(ValueError, match="max_len"):
        CapsuleRouting(4, max_len=2)(torch.zeros(1, 3, 4), torch.ones(1, 3, dtype=torch.bool))
    assert "per_position" in repr(CapsuleRouting(4))
