"""Stage III properties (docs/method.md): the tournament, W', and the principal eigenvector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from taskonomy.affinity import (
    affinities_from_losses,
    ahp_scores,
    principal_scores,
    ratio_matrix,
    tournament,
)
from taskonomy.errors import AffinityError

PROPS = settings(derandomize=True, deadline=None, max_examples=60)

losses_st = st.integers(1, 7).flatmap(
    lambda n: st.integers(1, 40).flatmap(
        lambda m: arrays(np.float64, (n, m), elements=st.floats(0.0, 10.0, width=32))
    )
)


def test_tournament_counts_strict_wins() -> None:
    losses = np.array([[1.0, 1.0, 3.0, 0.0], [2.0, 1.0, 1.0, 5.0]])
    w = tournament(losses)
    assert w.tolist() == [[0.0, 0.5], [0.25, 0.0]]


@PROPS
@given(losses_st)
def test_ratio_matrix_positive_reciprocal(losses: np.ndarray) -> None:
    """Property: W' is positive and reciprocal, with ones on the diagonal."""
    wp = ratio_matrix(tournament(losses))
    assert np.all(wp > 0)
    np.testing.assert_allclose(wp * wp.T, 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.diag(wp), 1.0)


@PROPS
@given(losses_st, st.data())
def test_dominant_candidate_ranks_first(losses: np.ndarray, data: st.DataObject) -> None:
    """Property: a candidate with the lowest loss on every image gets the largest score."""
    n = losses.shape[0]
    winner = data.draw(st.integers(0, n - 1))
    losses = losses.copy()
    losses[winner] = losses.min(axis=0) - 1.0
    scores = ahp_scores(losses)
    assert scores.sum() == pytest.approx(1.0)
    others = np.delete(scores, winner)
    assert np.all(scores[winner] > others)


@PROPS
@given(losses_st, st.randoms(use_true_random=False))
def test_relabelling_permutes_scores(losses: np.ndarray, rnd: object) -> None:
    """Property: permuting the candidates permutes their scores the same way."""
    perm = list(range(losses.shape[0]))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ahp_scores(losses[perm]), ahp_scores(losses)[perm], atol=1e-9)


@PROPS
@given(st.lists(st.floats(0.01, 100.0), min_size=1, max_size=9))
def test_consistent_matrix_recovers_weights(weights: list[float]) -> None:
    """Property: for w'_ij = a_i / a_j the scores are a / sum(a)."""
    a = np.array(weights)
    scores = principal_scores(a[:, None] / a[None, :])
    np.testing.assert_allclose(scores, a / a.sum(), rtol=1e-8)


def test_affinities_from_losses_one_tournament_per_target() -> None:
    rng = np.random.default_rng(0)
    losses = {
        "depth": {
            ("normals",): rng.random(50),
            ("normals", "edges"): rng.random(50) - 0.5,
            ("self",): rng.random(50) - 1.0,
            ("pixels",): rng.random(50) + 1.0,
        }
    }
    table = affinities_from_losses(losses)
    cands = table.candidates("depth")
    assert sum(cands.values()) == pytest.approx(1.0)
    assert max(cands, key=lambda k: cands[k]) == ("self",)
    assert min(cands, key=lambda k: cands[k]) == ("pixels",)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(AffinityError, match="2-D array"):
        tournament(np.zeros(3))
    with pytest.raises(AffinityError, match="NaN or infinity"):
        tournament(np.array([[1.0, np.nan]]))
    with pytest.raises(AffinityError, match="0 < low"):
        ratio_matrix(np.zeros((2, 2)), clip=(0.0, 1.0))
    with pytest.raises(AffinityError, match="different numbers of images"):
        affinities_from_losses({"a": {("b",): np.zeros(3), ("c",): np.zeros(4)}})
