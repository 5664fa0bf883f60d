r"""Synthetic sequences with planted multi-interest, category and sequential structure.

The embedded default dataset (offline quick start) and the ground truth for tests
that a model recovers users' interests. The process mirrors the assumptions of
multi-interest models (MIND, Li et al. CIKM 2019; ComiRec, Cen et al. KDD 2020):
a user mixes a few latent intents, each intent is a set of categories, and
within an intent items follow short chains, as SASRec (Kang & McAuley, ICDM 2018)
assumes when it models the next item from the previous ones.

Generative process, with :math:`N` items, :math:`C` categories, :math:`K`
intents of :math:`m` categories each (:math:`Km \le C`), and :math:`U` users:

1. Categories: a random permutation :math:`\pi` of the items; item
   :math:`\pi_j` gets category :math:`c_{\pi_j} = (j \bmod C) + 1`, so every
   category holds :math:`\lfloor N/C \rfloor` or :math:`\lceil N/C \rceil` items.
2. Intents: a random permutation :math:`\sigma` of the categories;
   intent :math:`k` owns :math:`\mathcal{C}_k = \{\sigma_{km}, \dots, \sigma_{km+m-1}\}`
   (disjoint). An item's intent is :math:`g(i) = k` iff :math:`c_i \in \mathcal{C}_k`
   (:math:`-1` for categories in no intent: those items appear only as noise).
3. Popularity (Zipf): :math:`w_i = r_i^{-a}` with :math:`r` a random permutation
   of :math:`1..N`; within intent :math:`k`,
   :math:`p(i \mid k) = w_i \, [g(i) = k] / \sum_j w_j [g(j) = k]`.
4. Chains: the items of each intent are put on a random cycle;
   :math:`\operatorname{succ}(i)` is the next item on the cycle of :math:`g(i)`.
5. User :math:`u`: :math:`n_u \sim \mathcal{U}\{n_{lo}..n_{hi}\}` intents
   :math:`\mathcal{I}_u` drawn without replacement, mixture weights
   :math:`\theta_u \sim \operatorname{Dirichlet}(\mathbf{1}_{n_u})` on them, and length

   .. math::
       L_u = \operatorname{clip}\big(\operatorname{round}(e^{\mu + s\xi_u}),
       L_{min}, L_{max}\big),\quad \xi_u \sim \mathcal{N}(0, 1),\quad
       \mu = \ln \bar L - s^2/2

   (lognormal with mean :math:`\bar L` before clipping: a long tail).
6. Steps :math:`t = 1..L_u`: the intent is sticky,

   .. math::
       z_t = \begin{cases} z_{t-1} & \text{w.p. } \kappa \ (t > 1) \\
       \sim \operatorname{Cat}(\theta_u) & \text{otherwise} \end{cases}

   a noise flag :math:`\epsilon_t \sim \operatorname{Bern}(\eta)` and a chain
   flag :math:`b_t \sim \operatorname{Bern}(\rho)` give

   .. math::
       i_t = \begin{cases}
       \sim w / \textstyle\sum w & \epsilon_t = 1 \quad\text{(noise: any item)}\\
       \operatorname{succ}(i_{t-1}) & \epsilon_t = 0,\ b_t = 1,\ g(i_{t-1}) = z_t\\
       \sim p(\cdot \mid z_t) & \text{otherwise.}
       \end{cases}

So the fraction of noise items is :math:`\eta` in expectation, every non-noise
item of step :math:`t` lies in a category of :math:`\mathcal{C}_{z_t}`,
categories of one intent co-occur (and those of a user's intents), and the next
item is :math:`\operatorname{succ}` of the previous one roughly
:math:`(1-\eta)\,\kappa\,\rho` of the time, far above what popularity predicts.

Generation is vectorised over users (one numpy step per position): 3,000 users
take a few tens of milliseconds. The same seed gives the same checksum.
"""

from __future__ import annotations

import argparse
import functools
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from graphrec.config import check_keys, coerce
from graphrec.data.dataset import SequenceDataset
from graphrec.data.filters import apply_filters
from graphrec.data.interactions import dataset_from_interactions, interactions_from_dataset

DESCRIPTION = "synthetic sequences with planted intents, category co-occurrence and item chains (offline)"
EXAMPLES = """\
  graphrec prepare synthetic --out data/synthetic
  graphrec prepare synthetic --num-users 10000 --num-items 5000 --num-intents 20 --noise 0.2 --seed 1 \\
      --out data/synthetic-large
"""


def _param(default: Any, doc: str, **metadata: Any) -> Any:
    """A :class:`SyntheticConfig` field: its default and the line that documents it."""
    return field(default=default, metadata={"doc": doc, **metadata})


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of :func:`generate_synthetic` (see the module docstring for the symbols).

    The one place that names, documents (each field's ``doc``, also the help of
    ``graphrec prepare synthetic``), defaults and validates the generator's
    parameters. Float fields are stored as ``float`` and ``intents_per_user`` as a
    tuple of ints, whatever numbers they were given; an invalid combination raises
    ``ValueError`` at construction.
    """

    num_users: int = _param(3000, "U, number of users")
    num_items: int = _param(1500, "N, number of items")
    num_categories: int = _param(30, "C, number of categories")
    num_intents: int = _param(10, "K, number of latent intents")
    categories_per_intent: int = _param(3, "m, categories owned by each intent")
    intents_per_user: tuple[int, int] = _param(
        (1, 3), "(n_lo, n_hi): intents per user, uniform in LO..HI", metavar=("LO", "HI")
    )
    noise: float = _param(0.1, "eta, fraction of noise items")
    mean_length: float = _param(12.0, "L-bar, mean sequence length before clipping")
    min_length: int = _param(5, "L_min, shortest generated sequence")
    max_length: int = _param(200, "L_max, longest generated sequence")
    length_sigma: float = _param(0.8, "s, spread of the lognormal sequence length")
    popularity_exponent: float = _param(0.8, "a, Zipf exponent of item popularity")
    transition_prob: float = _param(0.6, "rho, chance to follow the item chain")
    intent_stickiness: float = _param(0.8, "kappa, chance to keep the intent")
    seed: int = _param(0, "random seed")

    def __post_init__(self) -> None:
        for f in fields(self):
            value, kind = getattr(self, f.name), _field_types()[f.name]
            if kind in (int, float) and isinstance(value, (str, bool)):
                value = coerce(value, kind, f"data_options.{f.name}")  # raises naming the option
                object.__setattr__(self, f.name, value)
            if kind is int and (not isinstance(value, int) or not -(2**62) < value < 2**62):
                raise ValueError(f"data_options.{f.name} must be an integer of sensible size, got {value!r}")
            if kind is float:
                object.__setattr__(self, f.name, float(value))
            elif typing.get_origin(kind) is tuple:
                object.__setattr__(self, f.name, tuple(int(v) for v in value))
        self.validate()

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base: SyntheticConfig | None = None) -> SyntheticConfig:
        """``base`` (default: the defaults) with ``options`` replaced.

        Raises:
            ValueError: a key that is not a field (the valid keys are listed), or
                invalid values.
            TypeError: ``base`` is not a :class:`SyntheticConfig`.
        """
        if base is not None and not isinstance(base, SyntheticConfig):
            raise TypeError(
                f"expected a SyntheticConfig, got {type(base).__name__}; pass the parameters by keyword"
            )
        check_keys(options, [f.name for f in fields(cls)], "synthetic")
        return replace(base, **options) if base is not None else cls(**options)

    def validate(self) -> None:
        if self.num_users < 1 or self.num_items < 1:
            raise ValueError("num_users and num_items must be >= 1")
        if not 1 <= self.num_categories <= self.num_items:
            raise ValueError(f"num_categories must lie in 1..num_items = {self.num_items}")
        if self.num_intents < 1 or self.categories_per_intent < 1:
            raise ValueError("num_intents and categories_per_intent must be >= 1")
        if self.num_intents * self.categories_per_intent > self.num_categories:
            raise ValueError(
                f"num_intents * categories_per_intent = {self.num_intents * self.categories_per_intent} "
                f"exceeds num_categories = {self.num_categories} (intents own disjoint categories)"
            )
        if len(self.intents_per_user) != 2:
            raise ValueError(f"intents_per_user must be a pair (lo, hi), got {self.intents_per_user}")
        lo, hi = self.intents_per_user
        if not 1 <= lo <= hi <= self.num_intents:
            raise ValueError(f"intents_per_user {self.intents_per_user} must satisfy 1 <= lo <= hi <= "
                             f"num_intents = {self.num_intents}")
        for name in ("noise", "transition_prob", "intent_stickiness"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("lengths must satisfy 1 <= min_length <= max_length")
        if self.mean_length <= 0 or self.length_sigma < 0:
            raise ValueError("mean_length must be > 0 and length_sigma >= 0")


@functools.cache
def _field_types() -> dict[str, Any]:
    """Field name -> resolved type of :class:`SyntheticConfig`."""
    return typing.get_type_hints(SyntheticConfig)


@dataclass(frozen=True)
class SyntheticTruth:
    """The planted structure behind a synthetic dataset.

    Attributes:
        user_intents: ``(U, K)`` bool, the intents each user mixes.
        user_intent_weights: ``(U, K)`` float, mixture weights :math:`\\theta_u` (rows sum to 1).
        item_intent: ``(N + 1,)`` int64 intent :math:`g(i)`; ``-1`` for padding and
            items whose category belongs to no intent.
        intent_categories: ``(K, m)`` int64 category ids of each intent.
        successor: ``(N + 1,)`` int64 :math:`\\operatorname{succ}(i)` (0 where none).
        interaction_intent: ``(nnz,)`` int64 intent :math:`z_t` of every interaction.
        noise_mask: ``(nnz,)`` bool, True where the item is a noise draw.
    """

    user_intents: np.ndarray
    user_intent_weights: np.ndarray
    item_intent: np.ndarray
    intent_categories: np.ndarray
    successor: np.ndarray
    interaction_intent: np.ndarray
    noise_mask: np.ndarray


def _draw(cumulative: np.ndarray, low: np.ndarray, high: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of positions in ``[low, high)`` of a cumulative weight array."""
    base = np.where(low > 0, cumulative[np.maximum(low - 1, 0)], 0.0)
    target = base + u * (cumulative[high - 1] - base)
    return np.clip(np.searchsorted(cumulative, target, side="right"), low, high - 1)


def generate_synthetic_with_truth(
    config: SyntheticConfig | None = None, **options: Any
) -> tuple[SequenceDataset, SyntheticTruth]:
    """Generate the dataset and return it with its :class:`SyntheticTruth`.

    Args:
        config: the parameters (default: :class:`SyntheticConfig` defaults).
        options: fields of :class:`SyntheticConfig` to replace, e.g.
            ``generate_synthetic_with_truth(num_users=500, seed=1)``.

    Returns:
        ``(dataset, truth)``; ``dataset.meta["synthetic"]`` holds the parameters
        and the intent -> categories table.

    Raises:
        ValueError: an unknown option (the valid ones are listed) or invalid values.
    """
    cfg = SyntheticConfig.from_options(options, config)
    rng = np.random.default_rng(cfg.seed)
    U, N, C = cfg.num_users, cfg.num_items, cfg.num_categories
    K, m = cfg.num_intents, cfg.categories_per_intent

    # 1-2. items -> categories -> intents
    category = np.zeros(N + 1, dtype=np.int64)
    category[1 + rng.permutation(N)] = np.arange(N) % C + 1
    intent_categories = (1 + rng.permutation(C)[: K * m]).reshape(K, m)  # (K, m)
    intent_of_category = np.full(C + 1, -1, dtype=np.int64)
    intent_of_category[intent_categories.ravel()] = np.repeat(np.arange(K), m)
    item_intent = intent_of_category[category]
    item_intent[0] = -1

    # 3. Zipf popularity; cumulative weights over all items and over items grouped by intent
    weight = np.zeros(N + 1)
    weight[1:] = (1.0 + rng.permutation(N)) ** (-cfg.popularity_exponent)
    all_cum = np.cumsum(weight[1:])  # (N,) position j <-> item j + 1
    by_intent = np.nonzero(item_intent >= 0)[0]
    shuffle = rng.random(len(by_intent))
    by_intent = by_intent[np.lexsort((shuffle, item_intent[by_intent]))]  # grouped by intent, random within
    intent_cum = np.cumsum(weight[by_intent])
    bounds = np.searchsorted(item_intent[by_intent], np.arange(K + 1))  # (K + 1,) start of each intent

    # 4. chains: the (random) in-intent order above, closed into a cycle per intent
    successor = np.zeros(N + 1, dtype=np.int64)
    nxt = np.arange(1, len(by_intent) + 1)
    ends = bounds[1:] - 1
    nxt[ends] = bounds[:-1]
    successor[by_intent] = by_intent[nxt]

    # 5. users: intents, weights, lengths
    lo, hi = cfg.intents_per_user
    n_u = rng.integers(lo, hi + 1, size=U)
    rank = np.argsort(rng.random((U, K)), axis=1).argsort(axis=1)  # (U, K) random rank of each intent
    user_intents = rank < n_u[:, None]
    gamma = rng.standard_gamma(1.0, size=(U, K)) * user_intents  # Dirichlet(1) via normalised Gamma(1)
    theta = gamma / gamma.sum(axis=1, keepdims=True)  # (U, K)
    theta_cum = np.cumsum(theta, axis=1)
    mu = np.log(cfg.mean_length) - cfg.length_sigma**2 / 2
    lengths = np.clip(np.rint(np.exp(mu + cfg.length_sigma * rng.standard_normal(U))),
                      cfg.min_length, cfg.max_length).astype(np.int64)

    # 6. steps, vectorised over users
    T = int(lengths.max())
    u_switch, u_intent, u_noise, u_chain, u_item = rng.random((5, U, T))  # (U, T) each
    items = np.zeros((U, T), dtype=np.int64)
    intents = np.zeros((U, T), dtype=np.int64)
    noisy = u_noise < cfg.noise
    z = np.zeros(U, dtype=np.int64)
    prev = np.zeros(U, dtype=np.int64)
    for t in range(T):
        fresh = np.minimum((theta_cum < u_intent[:, t, None]).sum(axis=1), K - 1)
        z = fresh if t == 0 else np.where(u_switch[:, t] < cfg.intent_stickiness, z, fresh)
        in_intent = by_intent[_draw(intent_cum, bounds[z], bounds[z + 1], u_item[:, t])]
        anywhere = 1 + _draw(all_cum, np.zeros(U, dtype=np.int64), np.full(U, N), u_item[:, t])
        chain = (u_chain[:, t] < cfg.transition_prob) & (item_intent[prev] == z) & (t > 0)
        step = np.where(noisy[:, t], anywhere, np.where(chain, successor[prev], in_intent))
        items[:, t], intents[:, t] = step, z
        prev = step

    real = np.arange(T)[None, :] < lengths[:, None]  # (U, T)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    params = asdict(cfg)
    params["intents_per_user"] = list(cfg.intents_per_user)
    meta = {
        "source": "synthetic",
        "synthetic": {**params, "intent_categories": intent_categories.tolist()},
        "filters": [],
    }
    dataset = SequenceDataset(
        indptr=indptr, items=items[real], num_items=N, item_category=category,
        category_names=[f"c{c}" for c in range(1, C + 1)], meta=meta,
    )
    truth = SyntheticTruth(
        user_intents=user_intents,
        user_intent_weights=theta,
        item_intent=item_intent,
        intent_categories=intent_categories,
        successor=successor,
        interaction_intent=intents[real],
        noise_mask=noisy[real],
    )
    return dataset, truth


def generate_synthetic(config: SyntheticConfig | None = None, **options: Any) -> SequenceDataset:
    """The dataset of :func:`generate_synthetic_with_truth` without the truth.

    Args:
        config: the parameters (default: :class:`SyntheticConfig` defaults).
        options: fields of :class:`SyntheticConfig` to replace, e.g.
            ``generate_synthetic(num_users=500, seed=1)``.
    """
    dataset, _ = generate_synthetic_with_truth(config, **options)
    return dataset


# ------------------------------------------------------------------ source contract
#: ``min_length`` / ``max_length`` are set together by ``--length-range MIN MAX``
#: (``--min-length`` is the shared sequence-length filter)
_LENGTH_RANGE = ("min_length", "max_length")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`SyntheticConfig` field, with its doc and default."""
    defaults = SyntheticConfig()
    fields_by_name = {f.name: f for f in fields(SyntheticConfig)}
    for f in fields_by_name.values():
        if f.name == _LENGTH_RANGE[1]:
            continue
        if f.name == _LENGTH_RANGE[0]:
            low, high = (getattr(defaults, name) for name in _LENGTH_RANGE)
            docs = "; ".join(fields_by_name[name].metadata["doc"] for name in _LENGTH_RANGE)
            parser.add_argument("--length-range", type=int, nargs=2, default=[low, high],
                                metavar=("MIN", "MAX"),
                                help=f"clip generated lengths to MIN..MAX: {docs} (default {low} {high})")
            continue
        kind, default = _field_types()[f.name], getattr(defaults, f.name)
        option: dict[str, Any] = {"type": kind, "default": default}
        if typing.get_origin(kind) is tuple:
            option = {"type": typing.get_args(kind)[0], "nargs": len(typing.get_args(kind)),
                      "default": list(default), "metavar": f.metadata["metavar"]}
            default = " ".join(map(str, default))
        parser.add_argument("--" + f.name.replace("_", "-"), **option,
                            help=f"{f.metadata['doc']} (default {default})")


def from_args(args: argparse.Namespace, filters: dict[str, Any]) -> SequenceDataset:
    options = {f.name: getattr(args, f.name) for f in fields(SyntheticConfig) if f.name not in _LENGTH_RANGE}
    options.update(zip(_LENGTH_RANGE, args.length_range, strict=True))
    return apply_filters_to_dataset(generate_synthetic(SyntheticConfig(**options)), filters)


def apply_filters_to_dataset(dataset: SequenceDataset, filters: dict[str, Any] | None) -> SequenceDataset:
    """Apply :func:`~graphrec.data.filters.apply_filters` to a built dataset.

    Returns ``dataset`` itself when no filter is active; otherwise a rebuilt
    dataset (ids renumbered in order of first appearance, ``item_names`` = old ids).
    """
    frame = interactions_from_dataset(dataset)
    filtered, records = apply_filters(frame, **(filters or {}))
    if not records:
        return dataset
    assert dataset.item_category is not None
    filtered = filtered.assign(category=dataset.item_category[filtered["item"].to_numpy()])
    meta = {**dataset.meta, "filters": records}
    rebuilt = dataset_from_interactions(pd.DataFrame(filtered), meta=meta)
    rebuilt.category_names = None
    return rebuilt
