r"""Aurora's learnt models: LightGBM quantile regressors for load and PV per slot.

Owns one :class:`QuantileModel` per target (:class:`Target`): three LightGBM boosters
(``objective="quantile"``, levels 0.1, 0.5 and 0.9) on the feature frames of
:mod:`darkstar.aurora.features`, the post-processing that makes their output usable,
and the folder format they are saved in.

What a booster learns depends on the :class:`TargetMode`:

- ``direct``: the value itself, the reference (load baseline, PV prior) being a feature;
- ``residual``: the value minus the reference, :math:`q = r + f(x)`;
- ``ratio``: the value over a scale :math:`s` (PV: the prior under a clear sky; load:
  the mean of the last 7 days), :math:`q = s f(x)`, rows weighted by :math:`s` so that
  the pinball loss is the one in kW (it is homogeneous: :math:`L(s y, s q) = s L(y, q)`).

:meth:`QuantileModel.predict` post-processes the boosters' output with
:func:`~darkstar.aurora.calibration.finalize_quantiles`: calibrated (conformal scaling
of the spread, per sun-elevation group for PV: :data:`CALIBRATION_BINS`), never
negative, never crossing, and PV exactly 0 when the sun is below the horizon all slot
long.

Training is deterministic: fixed seeds, ``deterministic=True`` and at most 2 threads
(``n_jobs``; 1 by default, since OpenMP threads spinning on a shared 2-core machine made
single fits 10-100 times slower than one thread).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import lightgbm as lgb
import numpy as np
import pandas as pd  # type: ignore[import-untyped]

import darkstar
from darkstar.aurora.calibration import (
    QUANTILE_COLUMNS,
    QUANTILES,
    Calibration,
    finalize_quantiles,
    fit_calibration,
)
from darkstar.aurora.features import LOAD_FEATURES, PV_FEATURES
from darkstar.errors import InputError

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "CALIBRATION_BINS",
    "FEATURES",
    "MODEL_FORMAT_VERSION",
    "REFERENCE_COLUMN",
    "SCALE_COLUMN",
    "ModelInfo",
    "QuantileModel",
    "Target",
    "TargetMode",
    "TrainingParams",
    "calibrate",
    "fit_quantile_model",
    "post_rules",
    "predict_booster",
    "read_model",
    "train_booster",
]

logger = logging.getLogger(__name__)

MODEL_FORMAT_VERSION: Final = 1
"""Version of the saved folder's layout and ``model.json`` schema."""

_SCALE_FLOOR_KW: Final = 0.01  # the ratio mode's scale never goes below this [kW]
_METADATA_FILE: Final = "model.json"


class Target(StrEnum):
    """What is forecast."""

    LOAD = "load"
    PV = "pv"


class TargetMode(StrEnum):
    """What the boosters learn (module docstring)."""

    DIRECT = "direct"
    RESIDUAL = "residual"
    RATIO = "ratio"


FEATURES: Final = {Target.LOAD: LOAD_FEATURES, Target.PV: PV_FEATURES}
"""Model inputs per target."""

REFERENCE_COLUMN: Final = {Target.LOAD: "load_baseline_kw", Target.PV: "pv_prior_kw"}
"""The naive forecast per target: the residual mode's offset and the bar to beat. [kW]"""

SCALE_COLUMN: Final = {Target.LOAD: "load_level_7d_kw", Target.PV: "pv_clear_sky_kw"}
"""The ratio mode's scale per target. [kW]"""


CALIBRATION_BINS: Final = {
    Target.LOAD: ("", ()),
    Target.PV: ("sun_elevation_deg", (5.0, 10.0, 20.0)),
}
"""Calibration groups per target: PV by sun elevation [deg], since a model's spread
at a low sun (dawn, dusk, hourly means over the sunrise) is much too narrow while at
noon it is about right; load in one group."""


def calibrate(
    quantiles: npt.ArrayLike, actual: npt.ArrayLike, *, frame: pd.DataFrame, target: Target
) -> Calibration:
    """Return :func:`~darkstar.aurora.calibration.fit_calibration` in the target's groups.

    Parameters
    ----------
    quantiles : array_like, shape (n, 3)
        Raw P10, P50, P90 on a validation window. [kW]
    actual : array_like, shape (n,)
        What happened. [kW]
    frame : pandas.DataFrame
        The rows' features (the group column, :data:`CALIBRATION_BINS`).
    target : Target
        Load or PV.

    Returns
    -------
    Calibration
    """
    column, edges = CALIBRATION_BINS[target]
    return fit_calibration(quantiles, actual, frame=frame, column=column, edges=edges)


@dataclass(frozen=True, kw_only=True)
class TrainingParams:
    """LightGBM settings of one quantile booster.

    Parameters
    ----------
    num_boost_round : int
        Boosting rounds, >= 1.
    learning_rate : float
        Shrinkage, in (0, 1].
    num_leaves : int
        Leaves per tree, >= 2.
    min_data_in_leaf : int
        Rows per leaf, >= 1.
    feature_fraction, bagging_fraction : float
        Share of features per tree and of rows per round, in (0, 1].
    lambda_l2 : float
        L2 regularisation of leaf values, >= 0.
    seed : int
        Seed of every random choice, >= 0.
    n_jobs : int
        Threads, 1 or 2 (the machine is shared).

    Raises
    ------
    InputError
        If a value is out of range (naming it).
    """

    num_boost_round: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    seed: int = 0
    n_jobs: int = 1

    def __post_init__(self) -> None:
        checks = {
            "num_boost_round": self.num_boost_round >= 1,
            "learning_rate": 0.0 < self.learning_rate <= 1.0,
            "num_leaves": self.num_leaves >= 2,
            "min_data_in_leaf": self.min_data_in_leaf >= 1,
            "feature_fraction": 0.0 < self.feature_fraction <= 1.0,
            "bagging_fraction": 0.0 < self.bagging_fraction <= 1.0,
            "lambda_l2": self.lambda_l2 >= 0.0,
            "seed": self.seed >= 0,
            "n_jobs": self.n_jobs in (1, 2),
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(name, f"out of range: {getattr(self, name)!r}")

    def lightgbm_params(self, alpha: float) -> dict[str, Any]:
        """Return LightGBM's parameter dict for the quantile level ``alpha``."""
        return {
            "objective": "quantile",
            "alpha": alpha,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if self.bagging_fraction < 1.0 else 0,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """What ``model.json`` records about a trained model.

    Parameters
    ----------
    target : Target
        Load or PV.
    mode : TargetMode
        What the boosters learnt.
    features : tuple of str
        Input columns, in booster order.
    trained_at : str
        When it was trained (ISO 8601, UTC).
    train_start, train_end : str
        First and last target slot of the training rows (ISO 8601, UTC).
    n_rows : int
        Training rows.
    params : dict
        :class:`TrainingParams` as a dict.
    calibration : dict
        :class:`Calibration` as a dict.
    validation : dict
        Validation metrics (name -> value, e.g. ``mae_p50_kw``).
    version : int
        :data:`MODEL_FORMAT_VERSION`.
    darkstar_version : str
        The package version that trained it.
    """

    target: Target
    mode: TargetMode
    features: tuple[str, ...]
    trained_at: str
    train_start: str
    train_end: str
    n_rows: int
    params: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    version: int = MODEL_FORMAT_VERSION
    darkstar_version: str = darkstar.__version__


class QuantileModel:
    """Three quantile boosters of one target, with their calibration.

    Use :func:`fit_quantile_model` to train and :func:`read_model` to load one.

    Parameters
    ----------
    info : ModelInfo
        Target, mode, features and provenance.
    boosters : sequence of lightgbm.Booster
        One per :data:`QUANTILES` level, in order.
    calibration : Calibration
        Interval factors applied by :meth:`predict`.
    """

    def __init__(
        self, *, info: ModelInfo, boosters: list[lgb.Booster], calibration: Calibration
    ) -> None:
        if len(boosters) != len(QUANTILES):
            raise InputError("boosters", f"need {len(QUANTILES)}, got {len(boosters)}")
        self.info = info
        self.boosters = boosters
        self.calibration = calibration

    @property
    def target(self) -> Target:
        """Load or PV."""
        return self.info.target

    def with_calibration(self, calibration: Calibration) -> QuantileModel:
        """Return the same boosters with another calibration."""
        info = _replace_info(self.info, calibration=asdict(calibration))
        return QuantileModel(info=info, boosters=self.boosters, calibration=calibration)

    def usable(self, frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
        """Return the rows the model can forecast: its mode's reference or scale is known."""
        offset = {TargetMode.RESIDUAL: REFERENCE_COLUMN, TargetMode.RATIO: SCALE_COLUMN}
        if self.info.mode not in offset:
            return np.ones(len(frame), dtype=bool)
        name = offset[self.info.mode][self.target]
        if name not in frame.columns:
            raise InputError(f"frame.{name}", "column missing")
        return np.asarray(np.isfinite(frame[name].to_numpy(float)))

    def predict_raw(self, frame: pd.DataFrame) -> FloatArray:
        """Return the boosters' quantiles in kW, before post-processing.

        Parameters
        ----------
        frame : pandas.DataFrame
            Feature frame with the model's features (and the mode's reference or scale).

        Returns
        -------
        numpy.ndarray, shape (n, 3)
            Unsorted, uncalibrated P10, P50, P90. [kW]

        Raises
        ------
        InputError
            If a column is missing or the reference or scale is NaN.
        """
        columns = [
            predict_booster(b, frame, target=self.target, mode=self.info.mode)
            for b in self.boosters
        ]
        return np.column_stack(columns)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the calibrated, non-crossing, non-negative quantiles.

        Parameters
        ----------
        frame : pandas.DataFrame
            Feature frame (:func:`~darkstar.aurora.features.build_load_features` or
            :func:`~darkstar.aurora.features.build_pv_features`).

        Returns
        -------
        pandas.DataFrame
            :data:`QUANTILE_COLUMNS` on the frame's index. [kW]
        """
        quantiles = finalize_quantiles(
            self.predict_raw(frame),
            calibration=self.calibration,
            groups=self.calibration.groups(frame),
            **post_rules(frame, self.target),
        )
        return pd.DataFrame(quantiles, index=frame.index, columns=list(QUANTILE_COLUMNS))

    def save(self, folder: Path) -> None:
        """Write the boosters (LightGBM text format) and ``model.json`` into ``folder``.

        Parameters
        ----------
        folder : pathlib.Path
            Created if missing; existing model files in it are replaced.
        """
        folder.mkdir(parents=True, exist_ok=True)
        for column, booster in zip(QUANTILE_COLUMNS, self.boosters, strict=True):
            booster.save_model(folder / f"{column}.txt")
        document = asdict(self.info)
        document["features"] = list(self.info.features)
        (folder / _METADATA_FILE).write_text(
            json.dumps(document, indent=1, allow_nan=False), encoding="utf-8"
        )


def post_rules(frame: pd.DataFrame, target: Target) -> dict[str, Any]:
    """Return the night mask :func:`finalize_quantiles` applies to a target (PV only)."""
    if target != Target.PV:
        return {}
    return {"night": _column(frame, "night") > 0.5}


def _replace_info(info: ModelInfo, **changes: Any) -> ModelInfo:
    """Return ``info`` with fields changed."""
    values = asdict(info)
    values.update(changes)
    values["features"] = tuple(values["features"])
    return ModelInfo(**values)


def _column(frame: pd.DataFrame, name: str) -> FloatArray:
    """Return a column as floats; raise if it is missing or NaN."""
    if name not in frame.columns:
        raise InputError(f"frame.{name}", "column missing")
    values = np.asarray(frame[name].to_numpy(float), dtype=float)
    if np.isnan(values).any():
        raise InputError(f"frame.{name}", "contains NaN")
    return values


def _scale(frame: pd.DataFrame, target: Target) -> FloatArray:
    """Return the ratio mode's scale, floored [kW]."""
    return np.maximum(_column(frame, SCALE_COLUMN[target]), _SCALE_FLOOR_KW)


def _inputs(frame: pd.DataFrame, features: tuple[str, ...]) -> FloatArray:
    """Return the feature matrix in booster order; raise if a column is missing."""
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise InputError(f"frame.{missing[0]}", "column missing")
    return np.asarray(frame.loc[:, list(features)].to_numpy(float), dtype=float)


def _iso(moment: datetime | pd.Timestamp) -> str:
    """Return a tz-aware moment as UTC ISO 8601."""
    return str(pd.Timestamp(moment).tz_convert("UTC").isoformat())


def _training_rows(
    frame: pd.DataFrame, actual: pd.Series, *, target: Target, mode: TargetMode
) -> tuple[pd.DataFrame, FloatArray, FloatArray | None]:
    """Return the usable rows, their labels in the mode's terms and their weights."""
    if len(actual) != len(frame):
        raise InputError("actual", f"length {len(actual)} != frame length {len(frame)}")
    y = np.asarray(actual.to_numpy(float), dtype=float)
    keep = np.isfinite(y)
    if target == Target.PV:
        keep &= _column(frame, "night") < 0.5
    offset_column = {TargetMode.RESIDUAL: REFERENCE_COLUMN, TargetMode.RATIO: SCALE_COLUMN}
    if mode in offset_column:
        name = offset_column[mode][target]
        if name not in frame.columns:
            raise InputError(f"frame.{name}", "column missing")
        keep &= np.isfinite(frame[name].to_numpy(float))
    rows = frame.loc[keep]
    if rows.empty:
        raise InputError("frame", "no usable training rows")
    label, weight = y[keep], None
    if mode == TargetMode.RESIDUAL:
        label = label - _column(rows, REFERENCE_COLUMN[target])
    elif mode == TargetMode.RATIO:
        weight = _scale(rows, target)
        label = label / weight
    return rows, label, weight


def _train(
    rows: pd.DataFrame,
    label: FloatArray,
    weight: FloatArray | None,
    target: Target,
    alpha: float,
    params: TrainingParams,
) -> lgb.Booster:
    """Train one booster at quantile level ``alpha``."""
    features = list(FEATURES[target])
    data = lgb.Dataset(
        _inputs(rows, tuple(features)), label=label, weight=weight, feature_name=features
    )
    return lgb.train(params.lightgbm_params(alpha), data, num_boost_round=params.num_boost_round)


def train_booster(
    frame: pd.DataFrame,
    actual: pd.Series,
    *,
    target: Target,
    mode: TargetMode,
    alpha: float = 0.5,
    params: TrainingParams | None = None,
) -> lgb.Booster:
    """Train one quantile booster (e.g. the P50 alone, to compare modes).

    Parameters
    ----------
    frame, actual, target, mode, params
        As :func:`fit_quantile_model`.
    alpha : float
        Quantile level, in (0, 1).

    Returns
    -------
    lightgbm.Booster
        Predicts in the mode's terms (see :func:`predict_booster`).
    """
    if not 0.0 < alpha < 1.0:
        raise InputError("alpha", f"must be in (0, 1), got {alpha}")
    params = params or TrainingParams()
    rows, label, weight = _training_rows(frame, actual, target=target, mode=mode)
    return _train(rows, label, weight, target, alpha, params)


def predict_booster(
    booster: lgb.Booster, frame: pd.DataFrame, *, target: Target, mode: TargetMode
) -> FloatArray:
    """Return one booster's quantile in kW (the mode undone), before post-processing."""
    raw = np.asarray(booster.predict(_inputs(frame, tuple(FEATURES[target]))), dtype=float)
    if mode == TargetMode.RESIDUAL:
        return raw + _column(frame, REFERENCE_COLUMN[target])
    if mode == TargetMode.RATIO:
        return raw * _scale(frame, target)
    return raw


def fit_quantile_model(
    frame: pd.DataFrame,
    actual: pd.Series,
    *,
    target: Target,
    mode: TargetMode,
    trained_at: datetime,
    params: TrainingParams | None = None,
    calibration: Calibration | None = None,
    validation: dict[str, float] | None = None,
    p50: lgb.Booster | None = None,
) -> QuantileModel:
    """Train the three quantile boosters of one target.

    Parameters
    ----------
    frame : pandas.DataFrame
        Feature rows (one per issue and target slot) on a UTC index of target slots.
    actual : pandas.Series
        What happened at each row, same length and order. [kW]
    target : Target
        Load or PV; PV rows at night are left out (their forecast is 0 by rule).
    mode : TargetMode
        What the boosters learn.
    trained_at : datetime
        tz-aware time of training (recorded, not used).
    params : TrainingParams, optional
        Booster settings (default :class:`TrainingParams`).
    calibration : Calibration, optional
        Interval factors to attach (default: none, factors 1).
    validation : dict, optional
        Metrics to record in ``model.json``.
    p50 : lightgbm.Booster, optional
        A P50 booster already trained on the same rows (:func:`train_booster`), reused.

    Returns
    -------
    QuantileModel

    Raises
    ------
    InputError
        If lengths differ, a column is missing, ``trained_at`` is naive or no row is
        usable (finite actual, reference or scale).
    """
    params = params or TrainingParams()
    if trained_at.tzinfo is None:
        raise InputError("trained_at", "must be timezone-aware")
    rows, label, weight = _training_rows(frame, actual, target=target, mode=mode)
    boosters = [
        p50
        if alpha == 0.5 and p50 is not None
        else _train(rows, label, weight, target, alpha, params)
        for alpha in QUANTILES
    ]
    calibration = calibration or Calibration()
    info = ModelInfo(
        target=target,
        mode=mode,
        features=tuple(FEATURES[target]),
        trained_at=_iso(trained_at),
        train_start=_iso(rows.index.min()),
        train_end=_iso(rows.index.max()),
        n_rows=len(rows),
        params=asdict(params),
        calibration=asdict(calibration),
        validation=dict(validation or {}),
    )
    logger.debug("trained %s (%s) on %s rows", target, mode, len(rows))
    return QuantileModel(info=info, boosters=boosters, calibration=calibration)


def read_model(folder: Path) -> QuantileModel:
    """Load a model written by :meth:`QuantileModel.save`.

    Parameters
    ----------
    folder : pathlib.Path
        The model's folder.

    Returns
    -------
    QuantileModel
        Predicts exactly what the saved model predicted.

    Raises
    ------
    InputError
        If a file is missing or unreadable or the format version is not
        :data:`MODEL_FORMAT_VERSION`.
    """
    path = folder / _METADATA_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError("model", f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("version") != MODEL_FORMAT_VERSION:
        raise InputError("model.version", f"{path}: expected version {MODEL_FORMAT_VERSION}")
    try:
        info = ModelInfo(
            **{
                **document,
                "target": Target(document["target"]),
                "mode": TargetMode(document["mode"]),
                "features": tuple(document["features"]),
            }
        )
        stored = info.calibration
        calibration = Calibration(
            lower_frac=tuple(float(v) for v in stored["lower_frac"]),
            upper_frac=tuple(float(v) for v in stored["upper_frac"]),
            column=str(stored.get("column", "")),
            edges=tuple(float(v) for v in stored.get("edges", ())),
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise InputError("model", f"{path}: {exc}") from None
    boosters = []
    for column in QUANTILE_COLUMNS:
        file = folder / f"{column}.txt"
        if not file.is_file():
            raise InputError("model", f"missing {file}")
        boosters.append(lgb.Booster(model_file=file))
    return QuantileModel(info=info, boosters=boosters, calibration=calibration)
