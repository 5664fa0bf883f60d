"""Behaviour-to-interest dynamic routing (MIND, ComiRec-DR; the capsules of HPCL4SR Eq. 10).

Li et al., "Multi-Interest Network with Dynamic Routing for Recommendation at
Tmall" (MIND), CIKM 2019, §3.3; Cen et al., "Controllable Multi-Interest Framework
for Recommendation" (ComiRec), KDD 2020, §3.2.1 (the dynamic-routing extractor
ComiRec-DR). The routing follows the released ComiRec code (``CapsuleNetwork``),
which implements both.

The ``L`` behaviour capsules :math:`e_t` (the item vectors of a sequence) are mapped
into the space of interest ``k`` by a bilinear map, then ``K`` interest capsules are
found by ``r`` routing iterations (``r = 3`` in both papers):

.. math::

    \\hat e_{k|t} = S_{k,t}\\, e_t, \\qquad
    w_{k,t} = \\frac{\\exp b_{k,t}}{\\sum_{k'} \\exp b_{k',t}} \\ (\\text{softmax over interests}),

    z_k = \\sum_t w_{k,t}\\, \\hat e_{k|t}, \\qquad
    u_k = \\mathrm{squash}(z_k) = \\frac{\\lVert z_k \\rVert^2}{1 + \\lVert z_k \\rVert^2}
          \\frac{z_k}{\\lVert z_k \\rVert}, \\qquad
    b_{k,t} \\leftarrow b_{k,t} + \\hat e_{k|t}^\\top u_k .

Padding positions get :math:`w_{k,t} = 0`. Three bilinear maps ``S`` (ComiRec's
``bilinear_type``):

* ``"shared"`` (0, MIND): one ``D x D`` map for every position and interest. The
  interests then differ only through the initial logits, which are drawn from a
  truncated :math:`\\mathcal{N}(0, 1)` (MIND: "initialised randomly");
* ``"per_interest"`` (1): one ``D x D`` map per interest, logits start at 0;
* ``"per_position"`` (2, ComiRec-DR): one ``D x D`` map per (position, interest),
  initialised :math:`\\mathcal{N}(0, 1)` as in the ComiRec code, logits start at 0.

**No gradient through the routing logits.** As in the released code, the first
``r - 1`` iterations use :math:`\\hat e` with its gradient stopped, so the logits
:math:`b` (and the coupling coefficients :math:`w` built from them) are constants for
back-propagation; only the last iteration's weighted sum of the real
:math:`\\hat e` carries gradient (to ``S`` and the item vectors).

Positions are counted from the newest item, as in
:class:`graphrec.nn.embedding.SequenceEmbedding`: on a left-padded window of width
``W`` column ``c`` uses position row ``max_len - W + c`` (the newest item always row
``max_len - 1``). ComiRec's code right-pads its windows, so its position 0 is the
oldest item; both agree on a full window.

The random initial logits of ``"shared"`` are drawn afresh at every training forward
pass (from the global generator, which the trainer seeds and checkpoints); in eval
mode a fixed draw kept in the buffer ``eval_logits`` is used, so that evaluation is
deterministic (the original code also redraws at inference).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from graphrec.nn.embedding import right_aligned

BILINEAR_TYPES = ("shared", "per_interest", "per_position")
#: the axis the coupling coefficients are normalised over: interests (Sabour et al., MIND,
#: ComiRec's TensorFlow code) or a sequence's positions (REMI's PyTorch capsule)
ROUTING_SOFTMAX = ("interests", "positions")
#: initialisations of the bilinear maps
CAPSULE_INITS = ("normal", "glorot", "kaiming")


def squash(z: Tensor, dim: int = -1, eps: float = 1e-9) -> Tensor:
    """The capsule non-linearity (Sabour et al., NeurIPS 2017; MIND Eq. 4).

    .. math::
        \\mathrm{squash}(z) = \\frac{\\lVert z \\rVert^2}{1 + \\lVert z \\rVert^2}
        \\frac{z}{\\sqrt{\\lVert z \\rVert^2 + \\epsilon}}

    Keeps the direction and maps the norm :math:`n` to :math:`n^2 / (1 + n^2) < 1`
    (``eps`` keeps the zero vector at zero with a finite gradient, as the ComiRec code).

    Args:
        z: any shape; ``dim`` is the vector dimension.
        dim: the dimension holding the vectors.
        eps: :math:`\\epsilon` under the square root.

    Returns:
        A tensor of the shape of ``z``.
    """
    norm2 = (z * z).sum(dim=dim, keepdim=True)  # (..., 1)
    return z * (norm2 / (1.0 + norm2) / torch.sqrt(norm2 + eps))


def trunc_normal_logits(shape: tuple[int, ...], device: torch.device | None = None,
                        generator: torch.Generator | None = None) -> Tensor:
    """Truncated :math:`\\mathcal{N}(0, 1)` draws in ``[-2, 2]`` (TensorFlow's ``truncated_normal``)."""
    draw = torch.randn(shape, generator=generator, device=device)
    bad = draw.abs() > 2.0
    while bool(bad.any()):  # redraw the (few) values outside [-2, 2]
        fresh = torch.randn(int(bad.sum()), generator=generator, device=device)
        draw[bad] = fresh
        bad = draw.abs() > 2.0
    return draw


class CapsuleRouting(nn.Module):
    """``K`` interest capsules from ``L`` behaviour capsules by dynamic routing (see the module docstring).

    Args:
        hidden_size: ``D``, the size of the behaviour and interest capsules.
        num_interests: ``K`` (default 4).
        max_len: the longest window ``L`` (size of the ``"per_position"`` maps).
        bilinear: ``"shared"`` (MIND), ``"per_interest"`` or ``"per_position"`` (ComiRec-DR,
            the default).
        iterations: routing iterations ``r`` (default 3).
        init_logits: ``"random"`` (truncated normal) or ``"zeros"``; default
            ``"random"`` for ``"shared"`` (else all capsules would be equal) and ``"zeros"``
            otherwise, as in the ComiRec code.
        softmax: the coupling coefficients' softmax axis, ``"interests"`` (default,
            :math:`c_{k|t} = \\mathrm{softmax}_k b_{k|t}`) or ``"positions"``
            (:math:`c_{k|t} = \\mathrm{softmax}_{t \\in \\mathrm{valid}} b_{k|t}`, REMI's capsule).
        weight_init: ``"normal"`` (N(0, 1), ComiRec's per-position maps), ``"glorot"``
            (uniform, TF's dense default) or ``"kaiming"`` (He normal); default: ``"normal"``
            for ``"per_position"``, else ``"glorot"``.

    Shapes:
        ``forward(x, valid)``: ``x`` ``(B, W, D)`` behaviour capsules (``W <= max_len``,
        left-padded), ``valid`` ``(B, W)`` bool -> ``(B, K, D)`` interest capsules.
        :meth:`route` also returns the coupling coefficients ``(B, K, W)``.
    """

    eval_logits: Tensor

    def __init__(
        self,
        hidden_size: int,
        num_interests: int = 4,
        max_len: int = 50,
        bilinear: str = "per_position",
        iterations: int = 3,
        init_logits: str | None = None,
        softmax: str = "interests",
        weight_init: str | None = None,
    ) -> None:
        super().__init__()
        if softmax not in ROUTING_SOFTMAX:
            raise ValueError(f"unknown routing softmax {softmax!r}; valid: {list(ROUTING_SOFTMAX)}")
        weight_init = weight_init or ("normal" if bilinear == "per_position" else "glorot")
        if weight_init not in CAPSULE_INITS:
            raise ValueError(f"unknown capsule weight_init {weight_init!r}; valid: {list(CAPSULE_INITS)}")
        self.softmax = softmax
        self.weight_init = weight_init
        if bilinear not in BILINEAR_TYPES:
            raise ValueError(f"unknown bilinear map {bilinear!r}; valid: {list(BILINEAR_TYPES)}")
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        if num_interests < 1:
            raise ValueError(f"num_interests must be >= 1, got {num_interests}")
        init = init_logits or ("random" if bilinear == "shared" else "zeros")
        if init not in ("random", "zeros"):
            raise ValueError(f"init_logits must be 'random' or 'zeros', got {init_logits!r}")
        self.hidden_size = int(hidden_size)
        self.num_interests = int(num_interests)
        self.max_len = int(max_len)
        self.bilinear = bilinear
        self.iterations = int(iterations)
        self.init_logits = init
        d, k = self.hidden_size, self.num_interests
        if bilinear == "shared":
            self.weight = nn.Parameter(torch.empty(d, d))  # S: (D_out, D_in)
        elif bilinear == "per_interest":
            self.weight = nn.Parameter(torch.empty(k, d, d))  # S_k: (K, D_out, D_in)
        else:
            self.weight = nn.Parameter(torch.empty(self.max_len, k, d, d))  # S_{k,t}: (L, K, D_out, D_in)
        self.register_buffer("eval_logits", torch.zeros(k, self.max_len))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight_init == "normal":
            nn.init.normal_(self.weight, std=1.0)  # the ComiRec code's random_normal_initializer
        elif self.weight_init == "glorot":
            bound = math.sqrt(6.0 / (2 * self.hidden_size))  # Glorot uniform, TF's dense default
            nn.init.uniform_(self.weight, -bound, bound)
        else:
            nn.init.normal_(self.weight, std=math.sqrt(2.0 / self.hidden_size))  # He: fan-in D
        with torch.no_grad():
            if self.init_logits == "random":
                self.eval_logits.copy_(trunc_normal_logits(tuple(self.eval_logits.shape)))
            else:
                self.eval_logits.zero_()

    def predict(self, x: Tensor) -> Tensor:
        """:math:`\\hat e_{k|t} = S_{k,t} e_t`: ``(B, W, D)`` -> ``(B, K, W, D)``."""
        b, w, d = x.shape
        if self.bilinear == "shared":
            u = x @ self.weight.T  # (B, W, D)
            return u.unsqueeze(1).expand(b, self.num_interests, w, d)  # (B, K, W, D)
        if self.bilinear == "per_interest":
            return torch.einsum("kod,bwd->bkwo", self.weight, x)  # (B, K, W, D)
        weight = right_aligned(self.weight, w, "capsule layer")  # (W, K, D, D): newest column -> last row
        return torch.einsum("wkod,bwd->bkwo", weight, x)  # (B, K, W, D)

    def initial_logits(self, batch: int, width: int, device: torch.device) -> Tensor:
        """``(B, K, W)`` :math:`b^{(0)}`: zeros, or truncated normal (fresh in training, fixed in eval).

        Raises ``ValueError`` when ``width > max_len``, for every bilinear map.
        """
        fixed = right_aligned(self.eval_logits, width, "capsule layer", dim=1)  # (K, W)
        if self.init_logits == "zeros":
            return torch.zeros(batch, self.num_interests, width, device=device)
        if self.training:
            return trunc_normal_logits((batch, self.num_interests, width), device=device)
        return fixed.unsqueeze(0).expand(batch, -1, -1).to(device)  # (B, K, W)

    def route(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """Interest capsules ``(B, K, D)`` and the last coupling coefficients ``(B, K, W)``."""
        u_hat = self.predict(x)  # (B, K, W, D)
        u_hat_iter = u_hat.detach()  # routing logits get no gradient across iterations
        keep = valid.unsqueeze(1).to(u_hat.dtype)  # (B, 1, W)
        logits = self.initial_logits(x.shape[0], x.shape[1], x.device).to(u_hat.dtype)  # (B, K, W)
        capsules = u_hat.new_zeros(x.shape[0], self.num_interests, x.shape[2])  # (B, K, D)
        coupling = logits
        for i in range(self.iterations):
            if self.softmax == "interests":
                coupling = torch.softmax(logits, dim=1) * keep  # (B, K, W) softmax over interests
            else:  # over each sequence's real positions; an empty row gets zeros
                masked = logits.masked_fill(keep == 0, float("-inf"))  # (B, K, W)
                coupling = torch.nan_to_num(torch.softmax(masked, dim=2))  # (B, K, W)
            last = i == self.iterations - 1
            source = u_hat if last else u_hat_iter
            capsules = squash(torch.einsum("bkw,bkwd->bkd", coupling, source))  # (B, K, D)
            if not last:
                logits = logits + torch.einsum("bkwd,bkd->bkw", u_hat_iter, capsules)  # (B, K, W)
        return capsules, coupling

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        return self.route(x, valid)[0]  # (B, K, D)

    def extra_repr(self) -> str:
        return (f"hidden_size={self.hidden_size}, num_interests={self.num_interests}, "
                f"max_len={self.max_len}, "
                f"bilinear={self.bilinear!r}, iterations={self.iterations}, "
                f"init_logits={self.init_logits!r}, softmax={self.softmax!r}, "
                f"weight_init={self.weight_init!r}")


__all__ = ["BILINEAR_TYPES", "CAPSULE_INITS", "ROUTING_SOFTMAX", "CapsuleRouting", "squash",
           "trunc_normal_logits"]
