r"""Forecast scores: mean absolute error, pinball loss and interval coverage.

Owns the definitions Aurora is judged by (``darkstar forecast eval``). All are plain
means over the rows given, in the unit of the inputs:

.. math::

    MAE = \frac{1}{n} \sum_i |\hat y_i - y_i|, \qquad
    L_\tau(y, q) = \max(\tau (y - q), (\tau - 1)(y - q)), \qquad
    coverage = \frac{1}{n} \#\{i: q^{lo}_i \le y_i \le q^{hi}_i\}

and the pinball loss of a set of quantiles is :math:`L_\tau` averaged over rows and
levels (for a single level 0.5 it is half the MAE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from darkstar.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

__all__ = ["coverage_frac", "mae", "pinball_loss"]


def _check(values: npt.ArrayLike, field: str, rows: int | None = None) -> npt.NDArray[np.float64]:
    """Return ``values`` as floats; raise on NaN, no rows or the wrong length."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise InputError(field, "no values")
    if np.isnan(array).any():
        raise InputError(field, "contains NaN")
    if rows is not None and array.shape[0] != rows:
        raise InputError(field, f"has {array.shape[0]} rows, expected {rows}")
    return array


def mae(forecast: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Return the mean absolute error.

    Parameters
    ----------
    forecast, actual : array_like
        Same length, no NaN (any unit, e.g. [kW]).

    Returns
    -------
    float
        Mean of ``|forecast - actual|``, in their unit.

    Examples
    --------
    >>> mae([1.0, 2.0, 4.0], [1.0, 3.0, 1.0])
    1.3333333333333333
    """
    truth = _check(actual, "actual")
    guess = _check(forecast, "forecast", rows=len(truth))
    return float(np.mean(np.abs(guess - truth)))


def pinball_loss(
    quantiles: npt.ArrayLike, actual: npt.ArrayLike, *, levels: Sequence[float]
) -> float:
    r"""Return the pinball (quantile) loss averaged over rows and quantile levels.

    Parameters
    ----------
    quantiles : array_like, shape (n, k)
        Forecast quantiles, column j at level ``levels[j]``.
    actual : array_like, shape (n,)
        What happened.
    levels : sequence of float
        The k levels, each in (0, 1).

    Returns
    -------
    float
        :math:`\frac{1}{nk} \sum_{i,j} L_{\tau_j}(y_i, q_{ij})`, in the inputs' unit.

    Examples
    --------
    >>> pinball_loss([[0.0, 1.0, 2.0]], [3.0], levels=(0.1, 0.5, 0.9))
    0.7333333333333334
    """
    truth = _check(actual, "actual")
    q = _check(quantiles, "quantiles", rows=len(truth))
    tau = np.asarray(levels, dtype=float)
    if q.ndim != 2 or q.shape[1] != len(tau):
        raise InputError("quantiles", f"must have shape (n, {len(tau)}), got {q.shape}")
    if ((tau <= 0.0) | (tau >= 1.0)).any():
        raise InputError("levels", "each level must be in (0, 1)")
    error = truth[:, None] - q
    return float(np.mean(np.maximum(tau * error, (tau - 1.0) * error)))


def coverage_frac(lower: npt.ArrayLike, upper: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Return the share of actual values inside [lower, upper] (bounds included).

    Parameters
    ----------
    lower, upper, actual : array_like
        Same length, no NaN.

    Returns
    -------
    float
        Covered rows / rows. [-]

    Examples
    --------
    >>> coverage_frac([0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 2.0, 0.5], [1.0, 2.0, 1.5, -0.1])
    0.5
    """
    truth = _check(actual, "actual")
    low = _check(lower, "lower", rows=len(truth))
    high = _check(upper, "upper", rows=len(truth))
    return float(np.mean((truth >= low) & (truth <= high)))
