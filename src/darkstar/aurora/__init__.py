"""Aurora: Darkstar's probabilistic load and PV forecaster (DESIGN §6).

- :mod:`~darkstar.aurora.features`: feature frames per target slot, known at issue time;
- :mod:`~darkstar.aurora.models`: LightGBM quantile models (P10/P50/P90), save and load;
- :mod:`~darkstar.aurora.calibration`: calibrated, non-crossing, non-negative intervals;
- :mod:`~darkstar.aurora.corrector`: the graduated corrector (prior, residual, model);
- :mod:`~darkstar.aurora.metrics` and :mod:`~darkstar.aurora.evaluate`: scores and the
  walk-forward evaluation (``darkstar forecast eval``).

Aurora never imports the simulator: the test bed (``darkstar.simulation.testbed``)
hands it series, a weather source and the physics prior.
"""

from __future__ import annotations

from darkstar.aurora.calibration import QUANTILES, Calibration
from darkstar.aurora.corrector import Corrector, Stage, fit_corrector, stage_for
from darkstar.aurora.evaluate import (
    EvaluationInputs,
    EvaluationReport,
    EvaluationSpec,
    print_evaluation,
    run_evaluation,
)
from darkstar.aurora.features import Site, build_load_features, build_pv_features
from darkstar.aurora.metrics import coverage_frac, mae, pinball_loss
from darkstar.aurora.models import (
    QuantileModel,
    Target,
    TargetMode,
    TrainingParams,
    fit_quantile_model,
    read_model,
)

__all__ = [
    "QUANTILES",
    "Calibration",
    "Corrector",
    "EvaluationInputs",
    "EvaluationReport",
    "EvaluationSpec",
    "QuantileModel",
    "Site",
    "Stage",
    "Target",
    "TargetMode",
    "TrainingParams",
    "build_load_features",
    "build_pv_features",
    "coverage_frac",
    "run_evaluation",
    "fit_corrector",
    "fit_quantile_model",
    "mae",
    "pinball_loss",
    "print_evaluation",
    "read_model",
    "stage_for",
]
