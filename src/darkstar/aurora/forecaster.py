"""Aurora as a running forecaster: issue forecasts from what is known, retrain on schedule.

Owns the life of a forecaster in time, for the closed-loop backtest and the agent:

- :meth:`AuroraForecaster.issue` builds the feature rows of every target slot from the
  weather run and the measurements known at the issue time, predicts P10/P50/P90 with
  the current correctors and keeps the rows (a running system's own history) to learn
  from later;
- it retrains both targets (:func:`~darkstar.aurora.corrector.fit_corrector`: prior,
  residual or model, by history length and validation) when :attr:`retrain_every` has
  passed, on the kept rows whose target slot was measured before the retraining;
- ``naive=True`` never learns: load = the same slot of the last 7 days averaged, PV =
  the physics prior on the forecast weather (the baselines of ``darkstar forecast eval``).

Rows kept for training are those of issues at least :attr:`TRAIN_ISSUE_SPACING` apart
and with targets less than :data:`TRAIN_MAX_HORIZON` ahead: the planner's horizon, at
half the issues (a year of four issues a day would be twice the rows for little news).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.aurora.calibration import QUANTILE_COLUMNS
from darkstar.aurora.corrector import (
    DEFAULT_LOAD_KW,
    MODEL_MIN_HISTORY,
    RESIDUAL_MIN_HISTORY,
    Corrector,
    Stage,
    fit_corrector,
)
from darkstar.aurora.features import build_load_features, build_pv_features, check_slots
from darkstar.aurora.models import Target, TrainingParams
from darkstar.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from darkstar.aurora.features import PriorPv, Site

__all__ = [
    "TRAIN_ISSUE_SPACING",
    "TRAIN_MAX_HORIZON",
    "AuroraForecaster",
    "Issued",
    "Training",
    "quantile_arrays",
]

logger = logging.getLogger(__name__)

TRAIN_MAX_HORIZON: Final = timedelta(hours=48)
"""Targets further ahead than this are forecast but not trained on (the day-ahead plan
looks at most to the end of tomorrow; beyond it the lead feature saturates). [h]"""

TRAIN_ISSUE_SPACING: Final = timedelta(hours=11)
"""Issues kept for training are at least this far apart: two of the four daily weather
runs. [h]"""


@dataclass(frozen=True, kw_only=True)
class Issued:
    """One issued forecast: P10/P50/P90 of PV and load per target slot [kW].

    ``used`` names what produced each target (``prior``, ``residual``, ``model``) and
    ``version`` the retraining it came from (ISO time, or ``"none"`` before the first).
    """

    issued_at: datetime
    pv: pd.DataFrame
    load: pd.DataFrame
    used: dict[str, str]
    version: str


@dataclass(frozen=True, kw_only=True)
class Training:
    """One retraining: when, what each target uses, how long it took [s]."""

    at: datetime
    used: dict[str, str]
    seconds: float
    rows: dict[str, int]


@dataclass(kw_only=True)
class _Rows:
    frames: list[pd.DataFrame] = field(default_factory=list)
    last_kept: datetime | None = None


class AuroraForecaster:
    """Walk-forward Aurora over one house.

    Parameters
    ----------
    site : Site
        Location, clock and holidays.
    prior : callable
        The physics prior: hourly weather frame in, hourly PV [kW] out.
    history_start : datetime
        The first measurement of the house (tz-aware): sets the corrector's stage.
    retrain_every : timedelta or None
        Time between retrainings (>= 1 day) done by :meth:`issue` itself, the first at
        the first issue; ``None``: only when :meth:`retrain` is called (a scheduled job),
        the prior until then.
    params : TrainingParams, optional
        LightGBM settings.
    naive : bool
        Forecast with the baselines only; never train.
    default_load_kw : float
        Load P50 before any history. [kW]
    """

    def __init__(
        self,
        *,
        site: Site,
        prior: PriorPv,
        history_start: datetime,
        retrain_every: timedelta | None = timedelta(days=7),
        params: TrainingParams | None = None,
        naive: bool = False,
        default_load_kw: float = DEFAULT_LOAD_KW,
    ) -> None:
        if history_start.tzinfo is None:
            raise InputError("history_start", "must be timezone-aware")
        if retrain_every is not None and retrain_every < timedelta(days=1):
            raise InputError("retrain_every", f"must be >= 1 day, got {retrain_every}")
        self.site, self.prior, self.naive = site, prior, naive
        self.history_start, self.retrain_every = history_start, retrain_every
        self.params = params or TrainingParams()
        self.default_load_kw = default_load_kw
        self.correctors = {
            t: Corrector(
                target=t, stage=Stage.PRIOR, used=Stage.PRIOR, default_load_kw=default_load_kw
            )
            for t in (Target.PV, Target.LOAD)
        }
        self.trainings: list[Training] = []
        self._rows = {Target.PV: _Rows(), Target.LOAD: _Rows()}
        self._version = "none"
        # a retraining may run in another thread while the loop issues forecasts
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """The retraining the current forecasts come from (ISO time, ``"none"`` before)."""
        return self._version

    def describe(self, now: datetime) -> list[dict[str, Any]]:
        """Return what each target uses now, for people (the Aurora Bridge; JSON-ready).

        Per target: ``stage`` (what is used: prior, residual or model), ``version`` and
        ``trained_at`` of the last retraining, ``history_days`` at ``now``, training
        ``rows`` and ``train_s``, the validation P50 MAE of what is used and of the
        baseline (``mae_kw``, ``baseline_mae_kw``; ``None`` before a validation) and a
        ``note`` in words.
        """
        with self._lock:
            correctors = dict(self.correctors)
            last = self.trainings[-1] if self.trainings else None
        history_days = max(0.0, (now - self.history_start) / timedelta(days=1))
        out = []
        for target, corrector in correctors.items():
            scores = corrector.validation
            baseline = scores.get("prior_mae_p50_kw")
            used = corrector.used
            if used == Stage.MODEL:
                chosen = scores.get(f"model_{scores.get('mode')}_mae_p50_kw")
            else:
                chosen = scores.get(f"{used.value}_mae_p50_kw")
            out.append(
                {
                    "target": str(target),
                    "stage": used.value,
                    "version": None if last is None else self._version,
                    "trained_at": None if last is None else last.at.isoformat(),
                    "history_days": round(history_days, 2),
                    "rows": 0 if last is None else last.rows.get(str(target), 0),
                    "train_s": None if last is None else round(last.seconds, 2),
                    "mae_kw": chosen if isinstance(chosen, float) else None,
                    "baseline_mae_kw": baseline if isinstance(baseline, float) else None,
                    "note": _note(corrector, naive=self.naive),
                }
            )
        return out

    def due(self, now: datetime) -> bool:
        """Whether a retraining is due at ``now``."""
        if self.naive or self.retrain_every is None:
            return False
        if not self.trainings:
            return True
        return now >= self.trainings[-1].at + self.retrain_every

    def issue(
        self,
        now: datetime,
        index: pd.DatetimeIndex,
        *,
        run: pd.DataFrame,
        pv_kw: pd.Series,
        load_kw: pd.Series,
        prior_history_kw: pd.Series,
        slots: pd.DataFrame | None = None,
    ) -> Issued:
        """Forecast ``index`` at ``now`` (retraining first when due) and keep the rows.

        Parameters
        ----------
        now : datetime
            Issue time (tz-aware).
        index : pandas.DatetimeIndex
            Target slots (UTC, 15 minutes).
        run : pandas.DataFrame
            The newest weather run at ``now``.
        pv_kw, load_kw : pandas.Series
            Measured PV and load per slot; values at or after ``now`` are never used. [kW]
        prior_history_kw : pandas.Series
            The prior per past slot as forecast then. [kW]
        slots : pandas.DataFrame, optional
            Precomputed slot features over a superset of ``index`` (speed only).

        Returns
        -------
        Issued
        """
        check_slots(index, field="index")
        if self.due(now):
            self.retrain(now, pv_kw=pv_kw, load_kw=load_kw)
        pv, load = self._features(
            now,
            index,
            run=run,
            pv_kw=pv_kw,
            load_kw=load_kw,
            prior_history_kw=prior_history_kw,
            slots=slots,
        )
        with self._lock:
            self._keep(Target.PV, now, pv)
            self._keep(Target.LOAD, now, load)
            correctors, version = dict(self.correctors), self._version
        return Issued(
            issued_at=now,
            pv=correctors[Target.PV].predict(pv),
            load=correctors[Target.LOAD].predict(load),
            used={str(t): c.used.value for t, c in correctors.items()},
            version=version,
        )

    def keep_history(
        self,
        now: datetime,
        index: pd.DatetimeIndex,
        *,
        run: pd.DataFrame,
        pv_kw: pd.Series,
        load_kw: pd.Series,
        prior_history_kw: pd.Series,
        slots: pd.DataFrame | None = None,
    ) -> None:
        """Keep the rows of a forecast the house would have issued at ``now``, to learn from.

        For history from before this forecaster ran (a first training on the house's
        past): the features are built as :meth:`issue` builds them, nothing is predicted,
        and the rows are kept whatever the spacing. Arguments as :meth:`issue`.
        """
        check_slots(index, field="index")
        pv, load = self._features(
            now,
            index,
            run=run,
            pv_kw=pv_kw,
            load_kw=load_kw,
            prior_history_kw=prior_history_kw,
            slots=slots,
        )
        with self._lock:
            for target, frame in ((Target.PV, pv), (Target.LOAD, load)):
                self._append_rows(target, now, frame)

    def _features(
        self,
        now: datetime,
        index: pd.DatetimeIndex,
        *,
        run: pd.DataFrame,
        pv_kw: pd.Series,
        load_kw: pd.Series,
        prior_history_kw: pd.Series,
        slots: pd.DataFrame | None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return the PV and load feature rows of a forecast issued at ``now``."""
        pv = build_pv_features(
            now=now,
            index=index,
            pv_kw=pv_kw,
            prior_history_kw=prior_history_kw,
            run=run,
            prior=self.prior,
            site=self.site,
            slots=slots,
        )
        load = build_load_features(
            now=now, index=index, load_kw=load_kw, run=run, site=self.site, slots=slots
        )
        return pv, load

    def _append_rows(self, target: Target, now: datetime, frame: pd.DataFrame) -> None:
        """Keep ``frame``'s rows with targets under :data:`TRAIN_MAX_HORIZON` (lock held)."""
        near = frame.index < pd.Timestamp(now + TRAIN_MAX_HORIZON)
        self._rows[target].frames.append(frame.loc[near].assign(issued_at=pd.Timestamp(now)))

    def _keep(self, target: Target, now: datetime, frame: pd.DataFrame) -> None:
        rows = self._rows[target]
        if self.naive or (rows.last_kept and now - rows.last_kept < TRAIN_ISSUE_SPACING):
            return
        self._append_rows(target, now, frame)
        rows.last_kept = now

    def retrain(
        self,
        now: datetime,
        *,
        pv_kw: pd.Series,
        load_kw: pd.Series,
        progress: Callable[[float, str], None] | None = None,
    ) -> Training:
        """Refit both targets on the kept rows measured before ``now``.

        ``progress(share_done, message)`` is called before each target and at the end.
        The new correctors replace the old ones together, when both are fitted.
        """
        started = time.perf_counter()
        counts, fitted = {}, {}
        targets = ((Target.PV, pv_kw), (Target.LOAD, load_kw))
        for k, (target, series) in enumerate(targets):
            if progress is not None:
                progress(k / len(targets), f"fitting {target}")
            with self._lock:
                frames = list(self._rows[target].frames)
            empty = pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
            frame = pd.concat(frames) if frames else empty
            measured = frame.index < pd.Timestamp(now)
            frame = frame.loc[measured]
            actual = series.reindex(frame.index)
            counts[str(target)] = len(frame)
            fitted[target] = fit_corrector(
                frame,
                actual,
                target=target,
                now=now,
                history_start=self.history_start,
                timezone=self.site.timezone,
                params=self.params,
                default_load_kw=self.default_load_kw,
            )
        training = Training(
            at=now,
            used={str(t): c.used.value for t, c in fitted.items()},
            seconds=time.perf_counter() - started,
            rows=counts,
        )
        with self._lock:
            self.correctors.update(fitted)
            self.trainings.append(training)
            self._version = pd.Timestamp(now).isoformat()
        if progress is not None:
            progress(1.0, "done")
        logger.info("aurora retrained at %s: %s", now, training)
        return training


def _note(corrector: Corrector, *, naive: bool) -> str:
    """Say in words what a target's forecast is and why."""
    target = "PV" if corrector.target == Target.PV else "load"
    prior = (
        "the physics prior on the forecast weather"
        if corrector.target == Target.PV
        else "the same slot of the last 7 days averaged"
    )
    if naive:
        return f"{target}: {prior} (naive: never trained)"
    if corrector.used == Stage.MODEL and corrector.model is not None:
        mode = corrector.model.info.mode
        return f"{target}: LightGBM quantile model ({mode}), beat the prior on validation"
    if corrector.stage == Stage.PRIOR:
        return f"{target}: {prior}, until {RESIDUAL_MIN_HISTORY.days} days of history"
    if corrector.used == Stage.RESIDUAL:
        why = (
            f"until {MODEL_MIN_HISTORY.days} days of history"
            if corrector.stage == Stage.RESIDUAL
            else "the model did not beat it on validation"
        )
        return f"{target}: {prior}, corrected by its mean error per hour ({why})"
    return f"{target}: {prior} (neither correction beat it on validation)"


def quantile_arrays(frame: pd.DataFrame, index: pd.DatetimeIndex) -> np.ndarray:
    """Return the P10/P50/P90 of ``frame`` on ``index`` as an (n, 3) array; NaN if missing."""
    return np.asarray(frame.reindex(index).loc[:, list(QUANTILE_COLUMNS)].to_numpy(float))
