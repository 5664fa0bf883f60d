"""DSSRec's intention-disentanglement layer, DSIE's local-scale extractor and 1-D ResNet."""

from __future__ import annotations

import torch

from graphrec.nn.disentangle import IntentionDisentangle
from graphrec.nn.intention import IntentionPrototypeExtractor
from graphrec.nn.resnet1d import ResNet1d


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    z = torch.randn(3, 5, 8)  # (B, W, D)
    valid = torch.tensor([[False, False, True, True, True], [True] * 5, [False] * 4 + [True]])
    return z, valid


def test_disentangle_weights_form_a_convex_combination() -> None:
    z, valid = _inputs()
    layer = IntentionDisentangle(8, num_intents=4, max_len=6)
    p_k_i, p_i = layer.weights(z, valid)
    assert p_k_i.shape == (3, 4, 5) and p_i.shape == (3, 5)
    w = p_k_i * p_i.unsqueeze(1)  # (B, K, W) w_{k,i} = p_{k|i} p_i
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(dim=(1, 2)), torch.ones(3))
    torch.testing.assert_close(p_k_i.sum(dim=1)[valid], torch.ones(int(valid.sum())))  # softmax over k
    assert (w.masked_select(~valid.unsqueeze(1)) == 0).all()
    out = layer(z, valid)
    assert out.shape == (3, 4, 8) and torch.isfinite(out).all()
    # the two bias sets give different outputs from the same states
    with torch.no_grad():
        layer.beta[1].add_(1.0)
    assert not torch.allclose(layer(z, valid, bias_set=1), out)


def test_disentangle_gradients_flow() -> None:
    z, valid = _inputs()
    z.requires_grad_(True)
    layer = IntentionDisentangle(8, num_intents=2, max_len=5)
    layer(z, valid).pow(2).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert layer.prototypes.grad is not None and layer.prototypes.grad.abs().sum() > 0


def test_prototype_extractor_filters_items_far_from_every_prototype() -> None:
    layer = IntentionPrototypeExtractor(4, num_interests=2, max_len=3, cluster_temperature=0.05,
                                        positions=False)
    with torch.no_grad():
        layer.prototypes.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        layer.noise_logit.fill_(10.0)  # the null option beats a cosine of 0.5 / 0.05 = 10 ... barely
    e = torch.tensor([[[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 1.0, 0, 0]]])  # item 2 is noise
    valid = torch.ones(1, 3, dtype=torch.bool)
    relevance, attention = layer.weights(e, valid)
    assert relevance.shape == attention.shape == (1, 2, 3)
    assert relevance[0, :, 1].max() < 1e-3 < relevance[0, 0, 0]
    assert (relevance.sum(dim=1) <= 1).all()
    torch.testing.assert_close(attention.sum(dim=-1), torch.ones(1, 2))
    assert layer(e, valid).shape == (1, 2, 4)


def test_resnet1d_kernel_one_is_order_free_and_zero_at_padding() -> None:
    z, valid = _inputs()
    net = ResNet1d(8, num_blocks=2, kernel_size=1).eval()
    out = net(z, valid)
    assert (out[~valid] == 0).all()
    perm = torch.tensor([0, 1, 4, 2, 3])  # permutes the real items of row 0 and 1 among themselves
    row = net(z[1:2, perm], valid[1:2])
    torch.testing.assert_close(row, out[1:2, perm])


def _prefix_layer() -> IntentionDisentangle:
    layer = IntentionDisentangle(8, num_intents=4, max_len=7)
    with torch.no_grad():  # large positions and biases, so that a misaligned alpha shows
        layer.position.normal_()
        layer.beta.normal_()
        layer.query_bias.normal_()
    return layer


def test_disentangle_prefixes_last_column_is_forward() -> None:
    z, valid = _inputs()
    layer = _prefix_layer()
    for bias_set in (0, 1):
        out = layer.forward_prefixes(z, valid, bias_set)  # (B, W, K, D)
        assert out.shape == (3, 5, 4, 8)
        torch.testing.assert_close(out[:, -1], layer(z, valid, bias_set), atol=1e-6, rtol=1e-6)


def test_disentangle_prefix_column_is_forward_of_the_prefix_with_the_window_positions() -> None:
    """Column t pools z[:, :t + 1] exactly as forward does when alpha keeps the whole window's rows
    (``width=W``); forward on the prefix as a window of its own (its newest column on the last
    alpha row) differs, by the position alignment only."""
    z, valid = _inputs()
    layer = _prefix_layer()
    width = z.shape[1]
    out = layer.forward_prefixes(z, valid, bias_set=1)  # (B, W, K, D)
    for t in range(width):
        prefix = layer(z[:, : t + 1], valid[:, : t + 1], bias_set=1, width=width)  # (B, K, D)
        torch.testing.assert_close(out[:, t], prefix, atol=1e-6, rtol=1e-6)
        own = layer(z[:, : t + 1], valid[:, : t + 1], bias_set=1)  # alpha aligned to column t
        several = valid[:, : t + 1].sum(dim=1) >= 2  # rows whose importance p_i(t) depends on alpha
        if t < width - 1 and bool(several.any()):
            assert not torch.allclose(out[several, t], own[several], atol=1e-4)
    # a column without a real position i <= t pools nothing: LN_5(beta_k)
    empty = layer.norm_out(layer.beta[1])  # (K, D)
    torch.testing.assert_close(out[0, 1], empty)
    torch.testing.assert_close(out[2, 3], empty)


def test_disentangle_prefix_weights_are_causal_convex_combinations() -> None:
    z, valid = _inputs()
    layer = _prefix_layer()
    p_k_i, p_it = layer.prefix_weights(z, valid)
    assert p_k_i.shape == (3, 4, 5) and p_it.shape == (3, 5, 5)
    w = p_k_i.unsqueeze(1) * p_it.unsqueeze(2)  # (B, W_t, K, W_i) w_{k,i}(t)
    assert (w >= 0).all()
    later = torch.ones(5, 5, dtype=torch.bool).triu(1)  # i > t
    assert (p_it[:, later] == 0).all() and (p_it.masked_select(~valid.unsqueeze(1)) == 0).all()
    seen = valid.cumsum(dim=1) > 0  # (B, W_t) a real position i <= t exists
    totals = w.sum(dim=(2, 3))  # (B, W_t)
    torch.testing.assert_close(totals[seen], torch.ones(int(seen.sum())))
    assert (totals[~seen] == 0).all()
    # the last column's importance is weights()' p_i
    torch.testing.assert_close(p_it[:, -1], layer.weights(z, valid)[1], atol=1e-6, rtol=1e-6)


def test_disentangle_prefixes_gradients_flow_causally() -> None:
    z, valid = _inputs()
    z.requires_grad_(True)
    layer = _prefix_layer()
    layer.forward_prefixes(z, valid)[:, 2].pow(2).sum().backward()  # the prefixes ending at column 2
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert z.grad[:, 3:].abs().sum() == 0 and z.grad[1, :3].abs().sum() > 0
