"""Synthetic generator: determinism, counts, planted intents, noise and sequential signal."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.data import synthetic
from graphrec.data.sources import add_filter_arguments, filters_from_args
from graphrec.data.synthetic import SyntheticConfig, generate_synthetic, generate_synthetic_with_truth


@pytest.fixture(scope="module")
def generated() -> tuple:
    return generate_synthetic_with_truth(seed=3)


def test_same_seed_same_checksum_and_different_seed_differs() -> None:
    a = generate_synthetic(num_users=300, num_items=200, seed=7)
    b = generate_synthetic(num_users=300, num_items=200, seed=7)
    c = generate_synthetic(num_users=300, num_items=200, seed=8)
    assert a.checksum() == b.checksum() != c.checksum()


def test_counts_lengths_and_meta(generated: tuple) -> None:
    ds, truth = generated
    assert ds.num_users == 3000 and ds.num_items == 1500 and ds.num_categories == 30
    assert ds.lengths.min() >= 5 and ds.lengths.max() <= 200
    assert 8.0 < ds.lengths.mean() < 16.0  # lognormal with mean 12 before clipping
    assert ds.lengths.max() > 3 * ds.lengths.mean()  # a long tail
    np.testing.assert_array_equal(np.bincount(ds.item_category[1:], minlength=31)[1:], np.full(30, 50))
    meta = ds.meta["synthetic"]
    assert meta["num_intents"] == 10 and meta["intents_per_user"] == [1, 3]
    assert meta["intent_categories"] == truth.intent_categories.tolist()
    json.dumps(ds.meta)  # JSON-ready
    assert truth.noise_mask.shape == truth.interaction_intent.shape == (ds.num_interactions,)


def test_intents_partition_categories_and_users_mix_one_to_three(generated: tuple) -> None:
    ds, truth = generated
    assert truth.intent_categories.shape == (10, 3)
    assert sorted(truth.intent_categories.ravel().tolist()) == list(range(1, 31))
    per_user = truth.user_intents.sum(axis=1)
    assert per_user.min() == 1 and per_user.max() == 3
    np.testing.assert_allclose(truth.user_intent_weights.sum(axis=1), 1.0)
    assert np.all(truth.user_intent_weights[~truth.user_intents] == 0)
    # item_intent agrees with the category table
    owner = np.full(31, -1)
    owner[truth.intent_categories.ravel()] = np.repeat(np.arange(10), 3)
    np.testing.assert_array_equal(truth.item_intent[1:], owner[ds.item_category[1:]])


def test_non_noise_items_come_from_the_intents_categories(generated: tuple) -> None:
    ds, truth = generated
    clean = ~truth.noise_mask
    z = truth.interaction_intent[clean]
    category = ds.item_category[ds.items[clean]]
    assert np.all((truth.intent_categories[z] == category[:, None]).any(axis=1))
    # and every step's intent is one of the user's intents
    users = np.repeat(np.arange(ds.num_users), ds.lengths)
    assert np.all(truth.user_intents[users, truth.interaction_intent])


def test_noise_fraction_within_tolerance(generated: tuple) -> None:
    ds, truth = generated
    assert abs(truth.noise_mask.mean() - 0.1) < 0.01  # 37k draws: std of the mean ~ 0.0016
    ds0, truth0 = generate_synthetic_with_truth(num_users=500, noise=0.0, seed=1)
    assert not truth0.noise_mask.any()
    _, truth_half = generate_synthetic_with_truth(num_users=500, noise=0.5, seed=1)
    assert abs(truth_half.noise_mask.mean() - 0.5) < 0.03


def test_planted_transitions_beat_popularity(generated: tuple) -> None:
    ds, truth = generated
    n = ds.num_items
    users = np.repeat(np.arange(ds.num_users), ds.lengths)
    pos = np.arange(ds.num_interactions)
    last = ds.indptr[1:] - 1
    # transitions within users, excluding the one into each user's last item
    pair = (pos[:-1] + 1 != last[users[:-1]]) & (users[:-1] == users[1:])
    counts = sp.coo_matrix((np.ones(int(pair.sum())), (ds.items[:-1][pair], ds.items[1:][pair])),
                           shape=(n + 1, n + 1)).tocsr()
    best_next = np.asarray(counts.argmax(axis=1)).ravel()  # (N + 1,)
    target, previous = ds.items[last], ds.items[last - 1]
    transition_hit = (best_next[previous] == target).mean()
    train = np.ones(ds.num_interactions, dtype=bool)
    train[last] = False
    most_popular = np.bincount(ds.items[train], minlength=n + 1).argmax()
    popularity_hit = (target == most_popular).mean()
    assert transition_hit > 0.3
    assert transition_hit > 5 * popularity_hit
    # the successor of the truth is what the counts found, for most items
    seen = np.asarray(counts.sum(axis=1)).ravel() >= 5
    assert (best_next[seen] == truth.successor[seen]).mean() > 0.8


def test_popularity_is_long_tailed(generated: tuple) -> None:
    ds, _ = generated
    pop = np.sort(ds.item_popularity()[1:])[::-1]
    top = pop[: len(pop) // 10].sum() / pop.sum()
    assert top > 0.25  # the top 10 % of items take well over 10 % of the interactions


def test_fast_enough() -> None:
    start = time.perf_counter()
    generate_synthetic(seed=11)
    assert time.perf_counter() - start < 3.0  # ~0.2 s measured; loose for a shared machine


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="exceeds num_categories"):
        generate_synthetic(num_categories=10, num_intents=5, categories_per_intent=3)
    with pytest.raises(ValueError, match="intents_per_user"):
        generate_synthetic(intents_per_user=(2, 11))
    with pytest.raises(ValueError, match="noise"):
        generate_synthetic(noise=1.5)
    with pytest.raises(ValueError, match="min_length"):
        generate_synthetic(min_length=10, max_length=5)


def test_extra_parameters_and_no_chains() -> None:
    # rho = 0: no chains, so the successor is followed only by chance
    ds, truth = generate_synthetic_with_truth(num_users=1000, transition_prob=0.0, noise=0.0, seed=2)
    follows = truth.successor[ds.items[:-1]] == ds.items[1:]
    assert follows.mean() < 0.1
    ds1, truth1 = generate_synthetic_with_truth(num_users=1000, transition_prob=1.0, intent_stickiness=1.0,
                                                noise=0.0, seed=2)
    users = np.repeat(np.arange(ds1.num_users), ds1.lengths)
    same = users[1:] == users[:-1]
    # kappa = rho = 1, no noise: after the first item, every step follows the chain
    assert np.all((truth1.successor[ds1.items[:-1]] == ds1.items[1:])[same])


def test_source_contract_and_filters() -> None:
    parser = argparse.ArgumentParser()
    synthetic.add_arguments(parser)
    add_filter_arguments(parser)  # no option clashes with the shared filters
    args = parser.parse_args(["--num-users", "200", "--num-items", "100", "--seed", "4",
                              "--length-range", "3", "50"])
    ds = synthetic.from_args(args, filters_from_args(args))
    assert ds.num_users == 200 and ds.lengths.min() >= 3
    assert ds.checksum() == generate_synthetic(num_users=200, num_items=100, seed=4, min_length=3,
                                               max_length=50).checksum()
    args = parser.parse_args(["--num-users", "200", "--num-items", "100", "--min-length", "10"])
    filtered = synthetic.from_args(args, filters_from_args(args))
    assert filtered.lengths.min() >= 10 and filtered.meta["filters"][0]["filter"] == "min_sequence_length"
    assert filtered.has_categories and "synthetic" in filtered.meta


def test_config_is_the_one_parameter_list() -> None:
    cfg = SyntheticConfig(num_users=100, noise=0, intents_per_user=[1, 2], seed=5)
    assert isinstance(cfg.noise, float) and cfg.intents_per_user == (1, 2)
    same = generate_synthetic(num_users=100, noise=0.0, intents_per_user=(1, 2), seed=5)
    assert generate_synthetic(cfg).checksum() == same.checksum()
    # options replace fields of a given config
    assert generate_synthetic(cfg, seed=6).checksum() == \
        generate_synthetic(dataclasses.replace(cfg, seed=6)).checksum()
    meta = generate_synthetic(cfg).meta["synthetic"]
    assert {f.name for f in dataclasses.fields(SyntheticConfig)} <= set(meta)
    with pytest.raises(ValueError, match="noise"):
        SyntheticConfig(noise=2.0)  # validated at construction


def test_unknown_option_lists_the_valid_keys() -> None:
    with pytest.raises(ValueError, match="unknown key") as info:
        SyntheticConfig.from_options({"num_user": 10})
    text = str(info.value)
    assert "'num_user'" in text and "did you mean 'num_users'" in text
    assert all(f.name in text for f in dataclasses.fields(SyntheticConfig))
    with pytest.raises(ValueError, match="valid keys"):
        generate_synthetic(users=10)
    with pytest.raises(TypeError, match="by keyword"):
        generate_synthetic(300)  # type: ignore[arg-type]


def test_every_field_has_a_documented_command_line_option() -> None:
    parser = argparse.ArgumentParser()
    synthetic.add_arguments(parser)
    help_text = " ".join(parser.format_help().split())
    for f in dataclasses.fields(SyntheticConfig):
        assert f.metadata["doc"] in help_text
    args = parser.parse_args(["--length-sigma", "0.3", "--popularity-exponent", "1.1", "--seed", "2"])
    expected = generate_synthetic(length_sigma=0.3, popularity_exponent=1.1, seed=2)
    assert synthetic.from_args(args, {}).checksum() == expected.checksum()
