r"""Aurora's graduated corrector: how much to trust what has been learnt so far.

Owns the choice between the prior and what history can teach, by history length
(:func:`stage_for`) and by validation (:func:`fit_corrector`):

========================  ===================================================  ============
history                   forecast                                             stage
========================  ===================================================  ============
< 4 days                  the prior alone: load = the 7-day same-slot          ``prior``
                          baseline (``default_load_kw`` until there is one),
                          PV = the physics prior on the forecast weather
4-13 days                 the prior corrected by its mean error: load + the    ``residual``
                          mean residual per local weekday and hour, PV x the
                          actual/prior energy ratio per local hour, both
                          bounded (:data:`LOAD_CORRECTION_MAX_KW`,
                          :data:`PV_FACTOR_MIN` .. :data:`PV_FACTOR_MAX`)
14+ days                  the LightGBM quantile model (:mod:`~darkstar.aurora.   ``model``
                          models`), only if its P50 beats the prior on the
                          validation window; else the better of the two
                          stages above
========================  ===================================================  ============

The validation window is the last :data:`VALIDATION_MAX` of history, or
:data:`VALIDATION_FRAC` of it when history is shorter. Candidates are trained on rows
whose target lies before the window and scored on the rows inside it: the model in
each of the target's :class:`~darkstar.aurora.models.TargetMode`\ s (the best one
wins), the residual correction and the prior. The chosen model's raw quantiles on the
window give its interval calibration; then it is retrained on all history.

The prior and residual stages have no learnt spread: P10 and P90 are fixed multiples
(:data:`PRIOR_LOAD_P10_FRAC` ...), scaled by the same calibration as the model when
there are rows to calibrate on (residual stage).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.aurora.calibration import QUANTILE_COLUMNS, Calibration, finalize_quantiles
from darkstar.aurora.models import (
    REFERENCE_COLUMN,
    SCALE_COLUMN,
    QuantileModel,
    Target,
    TargetMode,
    TrainingParams,
    calibrate,
    fit_quantile_model,
    post_rules,
    predict_booster,
    train_booster,
)
from darkstar.errors import InputError

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "DEFAULT_LOAD_KW",
    "LOAD_CORRECTION_MAX_KW",
    "MODEL_MIN_HISTORY",
    "MODES",
    "PRIOR_LOAD_P10_FRAC",
    "PRIOR_LOAD_P90_FRAC",
    "PRIOR_PV_P10_FRAC",
    "PRIOR_PV_P90_CLEAR_FRAC",
    "PV_FACTOR_MAX",
    "PV_FACTOR_MIN",
    "RESIDUAL_MIN_HISTORY",
    "VALIDATION_FRAC",
    "VALIDATION_MAX",
    "Corrector",
    "ResidualCorrection",
    "Stage",
    "fit_corrector",
    "fit_residual_correction",
    "prior_quantiles",
    "stage_for",
]

logger = logging.getLogger(__name__)

RESIDUAL_MIN_HISTORY: Final = timedelta(days=4)
"""History from which the residual correction is used: 4 days give every local hour
at least 4 residuals to average. [d]"""

MODEL_MIN_HISTORY: Final = timedelta(days=14)
"""History from which the model is trained: two weeks hold every weekday twice. [d]"""

VALIDATION_MAX: Final = timedelta(days=28)
"""Longest validation window (the last 4 weeks of history). [d]"""

VALIDATION_FRAC: Final = 0.3
"""Share of a short history held out for validation (4.2 days of 14). [-]"""

DEFAULT_LOAD_KW: Final = 0.5
"""Load forecast before there is any history; as ``forecasting.default_load_kw``. [kW]"""

LOAD_CORRECTION_MAX_KW: Final = 0.5
"""Largest residual correction of the load per weekday and hour, either sign: about a
household's mean load, so a few odd days cannot swing the forecast further. [kW]"""

PV_FACTOR_MIN: Final = 0.6
"""Smallest residual factor on the PV prior per hour (a badly shaded or misconfigured
array; the test bed's truth is 4.5 % below its prior over the year). [-]"""

PV_FACTOR_MAX: Final = 1.25
"""Largest residual factor on the PV prior per hour. [-]"""

PRIOR_LOAD_P10_FRAC: Final = 0.5
"""P10 of the load prior as a multiple of its P50. [-]"""

PRIOR_LOAD_P90_FRAC: Final = 1.8
"""P90 of the load prior as a multiple of its P50 (load is skewed upwards). [-]"""

PRIOR_PV_P10_FRAC: Final = 0.5
"""P10 of the PV prior as a multiple of the prior. [-]"""

PRIOR_PV_P90_CLEAR_FRAC: Final = 0.5
"""P90 of the PV prior: this share of the way from the prior to the clear-sky prior. [-]"""

MODES: Final = {
    Target.LOAD: (TargetMode.DIRECT, TargetMode.RESIDUAL),
    Target.PV: (TargetMode.DIRECT, TargetMode.RESIDUAL, TargetMode.RATIO),
}
"""Model modes compared on validation per target (the best P50 MAE wins)."""

_PV_FACTOR_MIN_PRIOR_KWH: Final = 0.5  # an hour's factor needs this much prior energy
_MIN_VALIDATION_ROWS: Final = 96  # a day of slots, or the model stage is not validated
_SLOT_H: Final = 0.25


class Stage(StrEnum):
    """What a forecast is made of (module docstring)."""

    PRIOR = "prior"
    RESIDUAL = "residual"
    MODEL = "model"


def stage_for(history: timedelta) -> Stage:
    """Return the stage a history of this length allows.

    Parameters
    ----------
    history : timedelta
        Time from the first measurement to the issue time, >= 0.

    Returns
    -------
    Stage
        ``prior`` below :data:`RESIDUAL_MIN_HISTORY`, ``residual`` below
        :data:`MODEL_MIN_HISTORY`, else ``model``.

    Examples
    --------
    >>> [stage_for(timedelta(days=d)).value for d in (3.9, 4, 13.9, 14)]
    ['prior', 'residual', 'residual', 'model']
    """
    if history < timedelta(0):
        raise InputError("history", f"must be >= 0, got {history}")
    if history < RESIDUAL_MIN_HISTORY:
        return Stage.PRIOR
    if history < MODEL_MIN_HISTORY:
        return Stage.RESIDUAL
    return Stage.MODEL


def _values(frame: pd.DataFrame, name: str) -> FloatArray:
    """Return a column as floats (NaN allowed); raise if missing."""
    if name not in frame.columns:
        raise InputError(f"frame.{name}", "column missing")
    return np.asarray(frame[name].to_numpy(float), dtype=float)


def prior_quantiles(
    frame: pd.DataFrame, *, target: Target, default_load_kw: float = DEFAULT_LOAD_KW
) -> FloatArray:
    """Return the prior's P10, P50, P90 (raw: before the night rule and sorting).

    Parameters
    ----------
    frame : pandas.DataFrame
        Feature frame of the target.
    target : Target
        Load or PV.
    default_load_kw : float
        Load P50 where there is no baseline yet, >= 0. [kW]

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        Load: P50 = ``load_baseline_kw`` (or ``default_load_kw``), P10 and P90 =
        :data:`PRIOR_LOAD_P10_FRAC` and :data:`PRIOR_LOAD_P90_FRAC` times it. PV: P50 =
        ``pv_prior_kw``, P10 = :data:`PRIOR_PV_P10_FRAC` times it, P90 =
        :data:`PRIOR_PV_P90_CLEAR_FRAC` of the way up to ``pv_clear_sky_kw``. [kW]
    """
    if target == Target.LOAD:
        if not (math.isfinite(default_load_kw) and default_load_kw >= 0.0):
            raise InputError("default_load_kw", f"must be >= 0, got {default_load_kw}")
        baseline = _values(frame, REFERENCE_COLUMN[target])
        p50 = np.where(np.isfinite(baseline), baseline, default_load_kw)
        return np.column_stack([PRIOR_LOAD_P10_FRAC * p50, p50, PRIOR_LOAD_P90_FRAC * p50])
    prior = _values(frame, REFERENCE_COLUMN[target])
    clear = np.maximum(_values(frame, SCALE_COLUMN[target]), prior)
    return np.column_stack(
        [PRIOR_PV_P10_FRAC * prior, prior, prior + PRIOR_PV_P90_CLEAR_FRAC * (clear - prior)]
    )


@dataclass(frozen=True, kw_only=True)
class ResidualCorrection:
    """The prior's mean error per local weekday and hour (load) or hour (PV), bounded.

    Parameters
    ----------
    target : Target
        Load (additive corrections [kW]) or PV (factors [-]).
    timezone : str
        IANA zone of the local weekday and hour.
    by_weekday_hour : dict
        ``(weekday, hour) -> correction`` (load only).
    by_hour : dict
        ``hour -> correction``: load's fallback for an unseen weekday, PV's table.
    """

    target: Target
    timezone: str
    by_weekday_hour: dict[tuple[int, int], float] = field(default_factory=dict)
    by_hour: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        low, high = (
            (-LOAD_CORRECTION_MAX_KW, LOAD_CORRECTION_MAX_KW)
            if self.target == Target.LOAD
            else (PV_FACTOR_MIN, PV_FACTOR_MAX)
        )
        for value in (*self.by_weekday_hour.values(), *self.by_hour.values()):
            if not low <= value <= high:
                raise InputError("correction", f"{value} outside [{low}, {high}]")

    def corrections(self, index: pd.DatetimeIndex) -> FloatArray:
        """Return the correction of each slot (0 kW or factor 1 where none is known)."""
        local = index.tz_convert(ZoneInfo(self.timezone))
        neutral = 0.0 if self.target == Target.LOAD else 1.0
        hours, weekdays = local.hour.to_numpy(), local.day_of_week.to_numpy()
        return np.array(
            [
                self.by_weekday_hour.get((int(d), int(h)), self.by_hour.get(int(h), neutral))
                for d, h in zip(weekdays, hours, strict=True)
            ],
            dtype=float,
        )

    def apply(self, quantiles: FloatArray, index: pd.DatetimeIndex) -> FloatArray:
        """Return prior quantiles shifted (load) or scaled (PV) by the corrections [kW]."""
        values = self.corrections(index)[:, None]
        return quantiles + values if self.target == Target.LOAD else quantiles * values


def fit_residual_correction(
    frame: pd.DataFrame, actual: pd.Series, *, target: Target, timezone: str
) -> ResidualCorrection:
    r"""Return the prior's bounded mean error, learnt from past rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Past feature rows (UTC index of target slots).
    actual : pandas.Series
        What happened at each row. [kW]
    target : Target
        Load: mean of actual - baseline per local (weekday, hour) and per hour, clipped
        to :math:`\pm` :data:`LOAD_CORRECTION_MAX_KW`. PV: actual over prior energy per
        local hour (hours with at least 0.5 kWh of prior), clipped to
        [:data:`PV_FACTOR_MIN`, :data:`PV_FACTOR_MAX`].
    timezone : str
        IANA zone of the household.

    Returns
    -------
    ResidualCorrection
    """
    if len(actual) != len(frame):
        raise InputError("actual", f"length {len(actual)} != frame length {len(frame)}")
    local = frame.index.tz_convert(ZoneInfo(timezone))
    reference = _values(frame, REFERENCE_COLUMN[target])
    y = np.asarray(actual.to_numpy(float), dtype=float)
    keep = np.isfinite(y) & np.isfinite(reference)
    table = pd.DataFrame(
        {
            "weekday": local.day_of_week.to_numpy(),
            "hour": local.hour.to_numpy(),
            "actual": y,
            "reference": reference,
        }
    )[keep]
    if target == Target.LOAD:
        error = table["actual"] - table["reference"]
        clip = (-LOAD_CORRECTION_MAX_KW, LOAD_CORRECTION_MAX_KW)
        by_wh = error.groupby([table["weekday"], table["hour"]]).mean().clip(*clip)
        by_h = error.groupby(table["hour"]).mean().clip(*clip)
        return ResidualCorrection(
            target=target,
            timezone=timezone,
            by_weekday_hour={(int(d), int(h)): float(v) for (d, h), v in by_wh.items()},
            by_hour={int(h): float(v) for h, v in by_h.items()},
        )
    sums = table.groupby("hour")[["actual", "reference"]].sum() * _SLOT_H
    sums = sums[sums["reference"] >= _PV_FACTOR_MIN_PRIOR_KWH]
    factors = (sums["actual"] / sums["reference"]).clip(PV_FACTOR_MIN, PV_FACTOR_MAX)
    return ResidualCorrection(
        target=target, timezone=timezone, by_hour={int(h): float(v) for h, v in factors.items()}
    )


@dataclass(frozen=True, kw_only=True)
class Corrector:
    """A fitted forecaster of one target at one issue time.

    Parameters
    ----------
    target : Target
        Load or PV.
    stage : Stage
        What the history length allows (:func:`stage_for`).
    used : Stage
        What is used: ``stage`` or, when validation says so, a lower stage.
    residual : ResidualCorrection, optional
        The residual stage's corrections.
    model : QuantileModel, optional
        The model stage's model (calibrated).
    calibration : Calibration
        Interval factors of the prior and residual stages.
    default_load_kw : float
        Load P50 without a baseline. [kW]
    validation : dict
        Validation metrics of the choice (P50 MAE per candidate [kW], chosen mode).
    """

    target: Target
    stage: Stage
    used: Stage
    residual: ResidualCorrection | None = None
    model: QuantileModel | None = None
    calibration: Calibration = field(default_factory=Calibration)
    default_load_kw: float = DEFAULT_LOAD_KW
    validation: dict[str, float | str] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return P10, P50, P90 per row: calibrated, >= 0, non-crossing, 0 at night.

        Parameters
        ----------
        frame : pandas.DataFrame
            Feature frame of the target (UTC index of target slots).

        Returns
        -------
        pandas.DataFrame
            :data:`~darkstar.aurora.models.QUANTILE_COLUMNS` on the frame's index. [kW]
        """
        if self.used == Stage.MODEL and self.model is not None:
            usable = self.model.usable(frame)
            if usable.all():
                return self.model.predict(frame)
            # rows the model cannot take (no baseline after a gap in the measurements)
            logger.debug("%s: %s rows fall back to the prior", self.target, (~usable).sum())
            forecast = self._prior_stage(frame)
            if usable.any():
                forecast.iloc[usable] = self.model.predict(frame.iloc[usable]).to_numpy()
            return forecast
        return self._prior_stage(frame)

    def _prior_stage(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the prior's (or, in the residual stage, the corrected prior's) forecast."""
        raw = prior_quantiles(frame, target=self.target, default_load_kw=self.default_load_kw)
        if self.used == Stage.RESIDUAL and self.residual is not None:
            raw = self.residual.apply(raw, frame.index)
        quantiles = finalize_quantiles(
            raw,
            calibration=self.calibration,
            groups=self.calibration.groups(frame),
            **post_rules(frame, self.target),
        )
        return pd.DataFrame(quantiles, index=frame.index, columns=list(QUANTILE_COLUMNS))


def _daylight(frame: pd.DataFrame, target: Target) -> npt.NDArray[np.bool_]:
    """Return the rows that count for validation (PV: not night)."""
    if target == Target.PV:
        return np.asarray(_values(frame, "night") < 0.5)
    return np.ones(len(frame), dtype=bool)


def _mae(forecast: FloatArray, actual: FloatArray) -> float:
    """Return the mean absolute error [kW]."""
    return float(np.mean(np.abs(forecast - actual)))


def _stage_quantiles(
    frame: pd.DataFrame,
    *,
    target: Target,
    residual: ResidualCorrection | None,
    default_load_kw: float,
) -> FloatArray:
    """Return the prior's (or, with ``residual``, the corrected prior's) raw quantiles."""
    raw = prior_quantiles(frame, target=target, default_load_kw=default_load_kw)
    return raw if residual is None else residual.apply(raw, frame.index)


def fit_corrector(
    frame: pd.DataFrame,
    actual: pd.Series,
    *,
    target: Target,
    now: datetime,
    history_start: datetime,
    timezone: str,
    params: TrainingParams | None = None,
    default_load_kw: float = DEFAULT_LOAD_KW,
) -> Corrector:
    """Return the forecaster of one target for issue time ``now``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Past feature rows, one per (issue, target slot), on a UTC index of target slots;
        rows whose target is at or after ``now`` are ignored (not yet measured).
    actual : pandas.Series
        What happened at each row (NaN = not measured). [kW]
    target : Target
        Load or PV.
    now : datetime
        Issue time (tz-aware).
    history_start : datetime
        First measurement (tz-aware): ``now - history_start`` sets the stage.
    timezone : str
        IANA zone of the household (the residual table's weekdays and hours).
    params : TrainingParams, optional
        Booster settings.
    default_load_kw : float
        Load P50 without a baseline. [kW]

    Returns
    -------
    Corrector
        With ``stage`` from the history length and ``used`` from validation.

    Raises
    ------
    InputError
        If a time is naive or ``history_start`` is after ``now``.
    """
    for name, moment in (("now", now), ("history_start", history_start)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InputError(name, "must be timezone-aware")
    if len(actual) != len(frame):
        raise InputError("actual", f"length {len(actual)} != frame length {len(frame)}")
    history = now - history_start
    stage = stage_for(history)
    past = (frame.index < pd.Timestamp(now)) & np.isfinite(actual.to_numpy(float))
    rows, y = frame.loc[past], actual.loc[past]
    base = Corrector(target=target, stage=stage, used=Stage.PRIOR, default_load_kw=default_load_kw)
    if stage == Stage.PRIOR or rows.empty:
        return base
    if stage == Stage.RESIDUAL:
        return _residual_stage(rows, y, base=base, timezone=timezone)
    return _fit_model_stage(
        rows, y, base=base, now=now, history=history, timezone=timezone, params=params
    )


def _residual_stage(
    rows: pd.DataFrame, y: pd.Series, *, base: Corrector, timezone: str
) -> Corrector:
    """Return the residual stage fitted and calibrated (in sample) on all rows."""
    target = base.target
    residual = fit_residual_correction(rows, y, target=target, timezone=timezone)
    raw = _stage_quantiles(
        rows, target=target, residual=residual, default_load_kw=base.default_load_kw
    )
    day = _daylight(rows, target)
    if not day.any():
        return replace(base, used=Stage.RESIDUAL, residual=residual)
    calibration = calibrate(raw[day], y.to_numpy(float)[day], frame=rows.loc[day], target=target)
    return replace(base, used=Stage.RESIDUAL, residual=residual, calibration=calibration)


def _fit_model_stage(
    rows: pd.DataFrame,
    y: pd.Series,
    *,
    base: Corrector,
    now: datetime,
    history: timedelta,
    timezone: str,
    params: TrainingParams | None,
) -> Corrector:
    """Validate the candidates on the last window, choose, calibrate, refit on all rows."""
    target, default_load_kw = base.target, base.default_load_kw
    window = min(VALIDATION_MAX, history * VALIDATION_FRAC)
    split = pd.Timestamp(now) - window
    reference = np.isfinite(_values(rows, REFERENCE_COLUMN[target]))
    train, valid = rows.index < split, (rows.index >= split) & reference
    train_rows, train_y = rows.loc[train], y.loc[train]
    valid_rows = rows.loc[valid]
    valid_y = y.loc[valid].to_numpy(float)
    day = _daylight(valid_rows, target)
    if train_rows.empty or day.sum() < _MIN_VALIDATION_ROWS:
        logger.debug("%s: too little history to validate at %s, residual stage", target, now)
        return _residual_stage(rows, y, base=base, timezone=timezone)
    residual = fit_residual_correction(train_rows, train_y, target=target, timezone=timezone)
    scores: dict[str, float | str] = {}
    stage_raw = {}
    for name, table in (("prior", None), ("residual", residual)):
        stage_raw[name] = _stage_quantiles(
            valid_rows, target=target, residual=table, default_load_kw=default_load_kw
        )
        scores[f"{name}_mae_p50_kw"] = _mae(stage_raw[name][day, 1], valid_y[day])
    boosters = {}
    for mode in MODES[target]:
        booster = train_booster(train_rows, train_y, target=target, mode=mode, params=params)
        p50 = predict_booster(booster, valid_rows, target=target, mode=mode)
        boosters[mode] = booster
        scores[f"model_{mode}_mae_p50_kw"] = _mae(np.clip(p50[day], 0.0, None), valid_y[day])
    best = min(MODES[target], key=lambda m: float(scores[f"model_{m}_mae_p50_kw"]))
    prior_mae = float(scores["prior_mae_p50_kw"])
    residual_mae = float(scores["residual_mae_p50_kw"])
    scores["mode"] = best.value
    if float(scores[f"model_{best}_mae_p50_kw"]) < prior_mae:
        model = fit_quantile_model(
            train_rows,
            train_y,
            target=target,
            mode=best,
            trained_at=now,
            params=params,
            p50=boosters[best],
        )
        calibration = calibrate(
            model.predict_raw(valid_rows)[day],
            valid_y[day],
            frame=valid_rows.loc[day],
            target=target,
        )
        final = fit_quantile_model(
            rows,
            y,
            target=target,
            mode=best,
            trained_at=now,
            params=params,
            calibration=calibration,
            validation={k: v for k, v in scores.items() if isinstance(v, float)},
        )
        logger.debug("%s: model (%s) at %s, %s", target, best, now, scores)
        return replace(base, used=Stage.MODEL, model=final, validation=scores)
    used = Stage.RESIDUAL if residual_mae < prior_mae else Stage.PRIOR
    table = residual if used == Stage.RESIDUAL else None
    calibration = calibrate(
        stage_raw[used.value][day], valid_y[day], frame=valid_rows.loc[day], target=target
    )
    logger.debug("%s: model lost on validation at %s, using %s", target, now, used)
    full = fit_residual_correction(rows, y, target=target, timezone=timezone) if table else None
    return replace(base, used=used, residual=full, calibration=calibration, validation=scores)
