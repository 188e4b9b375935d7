"""The one recursive filter the scenario generator needs, in numba (see `_decaying_sum`)."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def decaying_sum_nb(x, a1, out):
    """out[:, n] = x[:, n] - a1 * out[:, n - 1] (lfilter's direct form for b = [1], a = [1, a1])."""
    for row in range(x.shape[0]):
        previous = 0.0
        for n in range(x.shape[1]):
            previous = x[row, n] - a1 * previous
            out[row, n] = previous
