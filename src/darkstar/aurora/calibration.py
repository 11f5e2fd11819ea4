r"""Calibrated P10-P90 intervals: conformal scaling of the spread, then the usual rules.

Owns what turns three raw quantiles into a usable forecast (:func:`finalize_quantiles`),
in this order:

1. **calibration**: the spread around P50 is scaled, separately below and above,
   :math:`P10' = P50 - c_{lo} \max(P50 - P10, w_0)`,
   :math:`P90' = P50 + c_{hi} \max(P90 - P50, w_0)` (:math:`w_0` =
   :data:`MIN_HALF_WIDTH_KW`), with :math:`c_{lo}, c_{hi}` fitted on a validation window
   (:func:`fit_calibration`: each the :math:`(1+p)/2` quantile of the spread-normalised
   error on its side, :math:`p` = :data:`COVERAGE_TARGET_FRAC`), per group of rows
   (Mondrian conformal calibration, e.g. PV by sun elevation);
2. **never negative, never crossing**: clipped at 0, then sorted per row;
3. **night**: rows flagged as night (PV with the sun below the horizon) are exactly 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.errors import InputError

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "CALIBRATION_SCALE_MAX",
    "COVERAGE_TARGET_FRAC",
    "MIN_GROUP_ROWS",
    "MIN_HALF_WIDTH_KW",
    "QUANTILES",
    "QUANTILE_COLUMNS",
    "Calibration",
    "bin_of",
    "finalize_quantiles",
    "fit_calibration",
]

QUANTILES: Final = (0.1, 0.5, 0.9)
"""Quantile levels of every forecast: P10, P50, P90. [-]"""

QUANTILE_COLUMNS: Final = ("p10_kw", "p50_kw", "p90_kw")
"""Column names of a forecast frame, in :data:`QUANTILES` order. [kW]"""

COVERAGE_TARGET_FRAC: Final = 0.82
"""Share of actual values the calibration aims the P10-P90 interval at. [-]

Nominally 0.80; 0.82 because the model that forecasts is refitted on all history after
the calibration (validation window included) and the seasons drift: on the two
development windows before the test window (Apr-Jun and Jul-Sep 2018, walk-forward) a
0.80 aim gave 75.3 % and 80.1 % PV coverage and 80.5 % and 80.1 % load (H0-A). Set on
those figures, after a first test run at 0.80 (``docs/aurora_testbed.md`` says so)."""

MIN_HALF_WIDTH_KW: Final = 0.005
"""Floor of each half of the interval before calibration scales it: a model that is
(almost) sure still gets a spread the calibration can widen. [kW]"""

CALIBRATION_SCALE_MAX: Final = 20.0
"""Largest calibration factor of a half-width; a larger one means the model's spread
says nothing. [-]"""


def _values(frame: pd.DataFrame, name: str) -> FloatArray:
    """Return a column as floats; raise if it is missing or NaN."""
    if name not in frame.columns:
        raise InputError(f"frame.{name}", "column missing")
    values = np.asarray(frame[name].to_numpy(float), dtype=float)
    if np.isnan(values).any():
        raise InputError(f"frame.{name}", "contains NaN")
    return values


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Factors on the two halves of the P10-P90 interval, per group of rows.

    Rows are grouped by bins of one feature column (Mondrian conformal calibration:
    each group gets its own factors, so that the coverage holds within each group and
    not only on average); without ``edges`` there is one group.

    Parameters
    ----------
    lower_frac, upper_frac : tuple of float
        :math:`c_{lo}` and :math:`c_{hi}` per group, each in [0,
        :data:`CALIBRATION_SCALE_MAX`]; 1 keeps the model's spread. [-]
    column : str
        Feature column whose bins are the groups ("" for one group).
    edges : tuple of float
        Increasing inner bin edges; group k holds ``edges[k-1] < value <= edges[k]``.

    Raises
    ------
    InputError
        If the lengths do not match, a factor is out of range or the edges are unsorted.
    """

    lower_frac: tuple[float, ...] = (1.0,)
    upper_frac: tuple[float, ...] = (1.0,)
    column: str = ""
    edges: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        groups = len(self.edges) + 1
        for name in ("lower_frac", "upper_frac"):
            values = getattr(self, name)
            if len(values) != groups:
                raise InputError(name, f"needs {groups} factors, got {len(values)}")
            for value in values:
                if not (math.isfinite(value) and 0.0 <= value <= CALIBRATION_SCALE_MAX):
                    raise InputError(name, f"must be in [0, {CALIBRATION_SCALE_MAX}], got {value}")
        if list(self.edges) != sorted(set(self.edges)) or bool(self.edges) != bool(self.column):
            raise InputError("edges", "must increase, and go with a column")

    def groups(self, frame: pd.DataFrame) -> npt.NDArray[np.int_]:
        """Return each row's group (0 without edges)."""
        if not self.edges:
            return np.zeros(len(frame), dtype=int)
        return bin_of(_values(frame, self.column), self.edges)


MIN_GROUP_ROWS: Final = 50
"""A calibration group with fewer validation rows takes the pooled factors."""


def bin_of(values: npt.ArrayLike, edges: tuple[float, ...]) -> npt.NDArray[np.int_]:
    """Return the bin of each value: k where ``edges[k-1] < value <= edges[k]``.

    Examples
    --------
    >>> bin_of([-1.0, 5.0, 5.1, 30.0], (5.0, 10.0, 20.0)).tolist()
    [0, 0, 1, 3]
    """
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(values, float), "left")


def _half_widths(quantiles: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the floored lower and upper half-widths of (n, 3) quantiles [kW]."""
    lower = np.maximum(quantiles[:, 1] - quantiles[:, 0], MIN_HALF_WIDTH_KW)
    upper = np.maximum(quantiles[:, 2] - quantiles[:, 1], MIN_HALF_WIDTH_KW)
    return lower, upper


def _check_quantile_array(quantiles: npt.ArrayLike, field: str) -> FloatArray:
    """Return ``quantiles`` as an (n, 3) float array; raise naming ``field``."""
    array = np.asarray(quantiles, dtype=float)
    if array.ndim != 2 or array.shape[1] != len(QUANTILES):
        raise InputError(field, f"must have shape (n, {len(QUANTILES)}), got {array.shape}")
    if np.isnan(array).any():
        raise InputError(field, "contains NaN")
    return array


def _factors(q: FloatArray, y: FloatArray, level: float) -> tuple[float, float]:
    """Return the clipped lower and upper factors of one group."""
    lower, upper = _half_widths(q)
    raw = (np.quantile((q[:, 1] - y) / lower, level), np.quantile((y - q[:, 1]) / upper, level))
    low, high = (min(max(float(f), 0.0), CALIBRATION_SCALE_MAX) for f in raw)
    return low, high


def fit_calibration(
    quantiles: npt.ArrayLike,
    actual: npt.ArrayLike,
    *,
    coverage_frac: float = COVERAGE_TARGET_FRAC,
    frame: pd.DataFrame | None = None,
    column: str = "",
    edges: tuple[float, ...] = (),
) -> Calibration:
    r"""Return the interval factors that make P10-P90 hold ``coverage_frac`` of ``actual``.

    Parameters
    ----------
    quantiles : array_like, shape (n, 3)
        Raw P10, P50, P90 on a validation window (not seen in training). [kW]
    actual : array_like, shape (n,)
        What happened. [kW]
    coverage_frac : float
        Target coverage, in (0, 1); each tail gets half of the rest.
    frame : pandas.DataFrame, optional
        The rows' features, holding ``column``; without it there is one group.
    column : str
        Feature column whose bins (``edges``) are the groups.
    edges : tuple of float
        Increasing inner bin edges (:func:`bin_of`); empty for one group.

    Returns
    -------
    Calibration
        Per group, :math:`c_{lo}` = the :math:`(1+p)/2` quantile of
        :math:`(P50 - y) / w_{lo}`, and :math:`c_{hi}` that of
        :math:`(y - P50) / w_{hi}` (:math:`p` = coverage, :math:`w` the floored
        half-widths), clipped to [0, :data:`CALIBRATION_SCALE_MAX`]: split conformal
        scaling of the spread (Romano et al., "Conformalized quantile regression",
        NeurIPS 2019, in a multiplicative, two-sided, per-group form). Groups with fewer
        than :data:`MIN_GROUP_ROWS` rows take the pooled factors.

    Raises
    ------
    InputError
        If the shapes differ, a value is NaN, there are no rows or ``coverage_frac`` is
        out of range.

    Examples
    --------
    >>> q = np.array([[0.0, 1.0, 2.0]] * 10)
    >>> cal = fit_calibration(q, np.linspace(-1.0, 3.0, 10), coverage_frac=0.8)
    >>> round(cal.lower_frac[0], 3), round(cal.upper_frac[0], 3)
    (1.6, 1.6)
    """
    if not 0.0 < coverage_frac < 1.0:
        raise InputError("coverage_frac", f"must be in (0, 1), got {coverage_frac}")
    q = _check_quantile_array(quantiles, "quantiles")
    y = np.asarray(actual, dtype=float)
    if y.shape != (len(q),) or len(q) == 0:
        raise InputError("actual", f"must have shape ({len(q)},) with rows, got {y.shape}")
    if np.isnan(y).any():
        raise InputError("actual", "contains NaN")
    level = (1.0 + coverage_frac) / 2.0
    pooled = _factors(q, y, level)
    if not edges or frame is None:
        return Calibration(lower_frac=(pooled[0],), upper_frac=(pooled[1],))
    if len(frame) != len(q):
        raise InputError("frame", f"has {len(frame)} rows, expected {len(q)}")
    group = bin_of(_values(frame, column), edges)
    factors = [
        _factors(q[group == k], y[group == k], level)
        if np.count_nonzero(group == k) >= MIN_GROUP_ROWS
        else pooled
        for k in range(len(edges) + 1)
    ]
    return Calibration(
        lower_frac=tuple(f[0] for f in factors),
        upper_frac=tuple(f[1] for f in factors),
        column=column,
        edges=tuple(edges),
    )


def finalize_quantiles(
    quantiles: npt.ArrayLike,
    *,
    calibration: Calibration | None = None,
    groups: npt.ArrayLike | None = None,
    night: npt.ArrayLike | None = None,
) -> FloatArray:
    """Return quantiles that can be used: calibrated, >= 0, sorted, 0 at night.

    Parameters
    ----------
    quantiles : array_like, shape (n, 3)
        Raw P10, P50, P90. [kW]
    calibration : Calibration, optional
        Interval factors; ``None`` keeps the spread.
    groups : array_like of int, shape (n,), optional
        Each row's calibration group (:meth:`Calibration.groups`); default group 0,
        which is only allowed for a one-group calibration.
    night : array_like of bool, shape (n,), optional
        Rows forced to exactly 0 (PV with the sun below the horizon).

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        Per row P10 <= P50 <= P90, all >= 0. [kW]

    Raises
    ------
    InputError
        If a shape is wrong or a value NaN.

    Examples
    --------
    >>> finalize_quantiles([[0.5, 0.2, -0.1], [1.0, 2.0, 3.0]], night=[False, True])
    array([[0. , 0.2, 0.5],
           [0. , 0. , 0. ]])
    """
    q = _check_quantile_array(quantiles, "quantiles").copy()
    if calibration is not None:
        if groups is None and calibration.edges:
            raise InputError("groups", "needed by a calibration with several groups")
        group = np.zeros(len(q), dtype=int) if groups is None else np.asarray(groups, int)
        if (
            group.shape != (len(q),)
            or group.min(initial=0) < 0
            or (group.max(initial=0) > len(calibration.edges))
        ):
            raise InputError("groups", f"must be {len(q)} groups of the calibration")
        lower, upper = _half_widths(q)
        q[:, 0] = q[:, 1] - np.take(calibration.lower_frac, group) * lower
        q[:, 2] = q[:, 1] + np.take(calibration.upper_frac, group) * upper
    q = np.sort(np.clip(q, 0.0, None), axis=1)
    if night is not None:
        dark = np.asarray(night, dtype=bool)
        if dark.shape != (len(q),):
            raise InputError("night", f"must have shape ({len(q)},), got {dark.shape}")
        q[dark] = 0.0
    return q
