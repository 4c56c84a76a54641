"""Stage I input transforms."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from taskonomy.data import apply_input_transform, jigsaw_permutations
from taskonomy.data.transforms import JIGSAW_GAP_PX, MASK_VALUE, NOISE_STD, shuffle_tiles
from taskonomy.tasks.bank import N_JIGSAW_PERMUTATIONS, InputTransform


def _images(b: int = 6, size: int = 32) -> np.ndarray:
    return np.random.default_rng(0).uniform(size=(b, 3, size, size)).astype(np.float32)


def test_permutation_table_is_fixed_and_distinct() -> None:
    table = jigsaw_permutations()
    assert table.shape == (N_JIGSAW_PERMUTATIONS, 9)
    assert np.array_equal(table[0], np.arange(9))
    assert all(sorted(row) == list(range(9)) for row in table.tolist())
    assert len({tuple(r) for r in table.tolist()}) == N_JIGSAW_PERMUTATIONS
    hamming = (table[:, None] != table[None]).sum(-1)
    assert hamming[~np.eye(N_JIGSAW_PERMUTATIONS, dtype=bool)].min() >= 6


@settings(derandomize=True, deadline=None, max_examples=25)
@given(size=st.sampled_from([16, 32, 33, 48]), seed=st.integers(0, 2**16))
def test_jigsaw_index_recovers_the_tiles(size: int, seed: int) -> None:
    """Property: undoing the permutation named by the label restores every tile's interior;
    the gaps between tiles and the border beyond 3 tiles are grey."""
    images = _images(4, size)
    inputs, perms = apply_input_transform(
        InputTransform.SHUFFLE, images, np.random.default_rng(seed)
    )
    assert perms is not None and perms.dtype == np.int64 and perms.shape == (4,)
    t, g = size // 3, JIGSAW_GAP_PX
    table = jigsaw_permutations()
    for b in range(4):
        for k in range(9):
            r, c = divmod(k, 3)
            sr, sc = divmod(int(table[perms[b], k]), 3)
            got = inputs[b, :, r * t : (r + 1) * t, c * t : (c + 1) * t]
            want = images[b, :, sr * t : (sr + 1) * t, sc * t : (sc + 1) * t]
            assert np.array_equal(got[:, g:-g, g:-g], want[:, g:-g, g:-g])
            assert (got[:, :g] == MASK_VALUE).all() and (got[:, :, -g:] == MASK_VALUE).all()
    assert (inputs[:, :, 3 * t :] == MASK_VALUE).all()
    assert np.array_equal(shuffle_tiles(images, np.zeros(4, np.int64)), images)


def test_mask_greys_one_square() -> None:
    images = _images()
    inputs, extra = apply_input_transform(InputTransform.MASK, images, np.random.default_rng(1))
    assert extra is None
    changed = (inputs != images).any(1)
    for b in range(len(images)):
        rows, cols = np.nonzero(changed[b])
        assert rows.max() - rows.min() + 1 == 12 and cols.max() - cols.min() + 1 == 12
        r0, c0 = rows.min(), cols.min()
        assert np.all(inputs[b, :, r0 : r0 + 12, c0 : c0 + 12] == MASK_VALUE)


def test_grey_and_noise() -> None:
    images = _images()
    grey, _ = apply_input_transform(InputTransform.GREY, images, np.random.default_rng(1))
    assert np.array_equal(grey[:, 0], grey[:, 1]) and np.array_equal(grey[:, 1], grey[:, 2])
    lum = 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]
    assert np.allclose(grey[:, 0], lum, atol=1e-6)
    noisy, _ = apply_input_transform(InputTransform.NOISE, images, np.random.default_rng(1))
    assert noisy.dtype == np.float32 and noisy.min() >= 0 and noisy.max() <= 1
    assert 0.5 * NOISE_STD < np.std(noisy - images) < 1.5 * NOISE_STD
    again, _ = apply_input_transform(InputTransform.NOISE, images, np.random.default_rng(1))
    assert np.array_equal(noisy, again)
