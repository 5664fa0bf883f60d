"""Training losses as pure functions, one module per family.

Every function takes plain tensors and returns a scalar (mean over rows unless its
docstring says otherwise). The families:

* :mod:`~graphrec.losses.next_item` — full softmax, sampled softmax, BCE, and
  :func:`next_item_loss` over a batch's non-padding positions;
* :mod:`~graphrec.losses.contrastive` — InfoNCE, NT-Xent, prototype negatives,
  the additive-angular-margin InfoNCE;
* :mod:`~graphrec.losses.clustering` — soft assignment, Sinkhorn-Knopp, swapped
  prediction, self-distillation;
* :mod:`~graphrec.losses.multi_interest` — the closest interest's sampled softmax,
  max-over-interests full CE, interest orthogonality;
* :mod:`~graphrec.losses.seq2seq` — DSSRec's seq2item and latent seq2seq losses;
* :mod:`~graphrec.losses.samplers` — negative samplers (log-probabilities and draws).

Every public name is re-exported here: ``from graphrec.losses import info_nce``.
"""

from graphrec.losses.clustering import (
    cluster_cross_entropy,
    self_distillation_kl,
    sinkhorn_knopp,
    soft_assignment,
    swapped_prediction,
)
from graphrec.losses.contrastive import (
    additive_angular_margin,
    angular_margin_info_nce,
    info_nce,
    nt_xent,
    prototype_info_nce,
    prototype_negatives,
)
from graphrec.losses.multi_interest import (
    MAX_INTEREST_BLOCK,
    argmax_interest,
    interest_orthogonality,
    interest_sampled_softmax,
    max_interest_full_ce,
)
from graphrec.losses.next_item import (
    NEXT_ITEM_LOSSES,
    NextItemLoss,
    bce_with_negatives,
    full_softmax_ce,
    next_item_loss,
    sampled_softmax_ce,
)
from graphrec.losses.samplers import CANDIDATE_SAMPLERS, candidate_log_probs, sample_candidates
from graphrec.losses.seq2seq import (
    confidence_mask,
    disentangled_seq2item,
    disentangled_seq2item_catalogue,
    latent_seq2seq_loss,
    latent_seq2seq_losses,
)

__all__ = [
    "CANDIDATE_SAMPLERS",
    "MAX_INTEREST_BLOCK",
    "NEXT_ITEM_LOSSES",
    "NextItemLoss",
    "additive_angular_margin",
    "angular_margin_info_nce",
    "argmax_interest",
    "bce_with_negatives",
    "candidate_log_probs",
    "cluster_cross_entropy",
    "confidence_mask",
    "disentangled_seq2item",
    "disentangled_seq2item_catalogue",
    "full_softmax_ce",
    "info_nce",
    "interest_orthogonality",
    "interest_sampled_softmax",
    "latent_seq2seq_loss",
    "latent_seq2seq_losses",
    "max_interest_full_ce",
    "next_item_loss",
    "nt_xent",
    "prototype_info_nce",
    "prototype_negatives",
    "sample_candidates",
    "sampled_softmax_ce",
    "self_distillation_kl",
    "sinkhorn_knopp",
    "soft_assignment",
    "swapped_prediction",
]
