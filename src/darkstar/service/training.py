"""Aurora's retraining in the running service: on schedule and on request.

Owns the training job of a world's learning forecaster
(:class:`~darkstar.service.world.ForecastEngine`): one at a time, in its own thread, so
the agent goes on planning with the forecaster it has; progress is published on the
WebSocket (``{"type": "aurora_training", "data": <state>}``) and kept for ``GET
/api/v1/aurora``; the trained LightGBM models are written to
``<data_dir>/models/<target>/<version>/`` and registered in the learning store (the
active model of each target), where the Aurora Bridge lists them.

The schedule is ``automation.ml_training`` (ISO weekdays and a local time) on the house's
clock: the simulated home's clock when it runs faster than the wall clock.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError
from darkstar.learning.store.forecasts import list_models, register_model
from darkstar.service.priority import in_background

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from darkstar.config.models import MlTrainingConfig
    from darkstar.learning.store.engine import Store
    from darkstar.service.world import ForecastEngine

__all__ = [
    "AuroraTraining",
    "ModelFilesPruned",
    "TrainingBusy",
    "TrainingState",
    "model_folder",
    "prune_model_files",
]

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
"""Folder of the trained models inside the data folder."""


class TrainingBusy(RuntimeError):
    """A training cannot start (none possible, or one runs); the message says which."""


@dataclass(kw_only=True)
class TrainingState:
    """The training job as the UI sees it (house times, ISO 8601; ``progress`` in [0, 1])."""

    state: str = "idle"
    progress: float = 0.0
    message: str | None = None
    reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


def model_folder(data_dir: Path, target: str, version: str) -> Path:
    """Return where a model version is kept: ``models/<target>/<version as a name>``."""
    name = re.sub(r"[^0-9A-Za-z]+", "-", version).strip("-") or "none"
    return data_dir / MODELS_DIR / target / name


@dataclass(frozen=True, kw_only=True)
class ModelFilesPruned:
    """Model versions whose files a prune removed (or would remove, on a dry run)."""

    removed: tuple[str, ...] = field(default_factory=tuple)
    """``"<target> <version>"`` of each, newest first."""
    freed_bytes: int = 0
    dry_run: bool = False

    def describe(self) -> str:
        """One line for the log and the CLI."""
        verb = "would remove" if self.dry_run else "removed"
        if not self.removed:
            return "model files: nothing to remove"
        return (
            f"model files: {verb} {len(self.removed)} old version(s), "
            f"{self.freed_bytes / 1e6:.1f} MB ({', '.join(self.removed)})"
        )


def prune_model_files(
    store: Store, data_dir: Path, *, keep: int, dry_run: bool = False
) -> ModelFilesPruned:
    """Delete the files of each target's model versions beyond its newest ``keep``.

    The registry decides what is old (``trained_at``, newest first); the active version
    of a target is never removed, whatever its age. Folders are located by
    :func:`model_folder` under ``data_dir`` (never by a stored path, so nothing outside
    ``<data_dir>/models/`` is touched); folders the registry does not know are left
    alone (a training may be writing one). The registry's rows stay: the Aurora Bridge
    keeps every version's dates and metrics.

    Parameters
    ----------
    store : Store
        The learning store (its model registry).
    data_dir : pathlib.Path
        The data folder holding ``models/``.
    keep : int
        Versions kept per target, >= 1.
    dry_run : bool
        Count only.

    Returns
    -------
    ModelFilesPruned

    Raises
    ------
    InputError
        If ``keep`` < 1.
    OSError
        If a folder cannot be removed (the ones before it are gone).
    """
    if keep < 1:
        raise InputError("retention.model_versions", f"must be >= 1, got {keep}")
    counted: dict[str, int] = {}
    removed, freed = [], 0
    for record in list_models(store, limit=None):  # newest first
        counted[record.target] = counted.get(record.target, 0) + 1
        if counted[record.target] <= keep or record.active:
            continue
        folder = model_folder(data_dir, record.target, record.version)
        if not folder.is_dir():
            continue
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        if not dry_run:
            shutil.rmtree(folder)
        removed.append(f"{record.target} {record.version}")
        freed += size
    return ModelFilesPruned(removed=tuple(removed), freed_bytes=freed, dry_run=dry_run)


class AuroraTraining:
    """The service's training job and schedule.

    Parameters
    ----------
    store : Store
        Where trained models are registered.
    data_dir : pathlib.Path
        Where their files go (:func:`model_folder`).
    publish : callable
        ``publish(kind, data)`` to every WebSocket subscriber (any thread).
    clock : callable, optional
        The house's clock (the simulated home's runs fast): a training's start and end
        are in house time, like the schedule. Default: the wall clock.
    """

    def __init__(
        self,
        *,
        store: Store,
        data_dir: Path,
        publish: Callable[[str, Any], None],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store, self.data_dir, self._publish = store, data_dir, publish
        self._clock = clock or (lambda: datetime.now(UTC))
        self._state = TrainingState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._checked: datetime | None = None

    def view(self, *, schedule: MlTrainingConfig, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
        """Return the state with the schedule in words and the next scheduled time."""
        with self._lock:
            state = asdict(self._state)
        for key in ("started_at", "finished_at"):
            if state[key] is not None:
                state[key] = datetime.fromisoformat(state[key]).astimezone(tz).isoformat()
        nxt = schedule.next_after(now, tz)
        state["schedule"] = schedule.describe()
        state["next_at"] = None if nxt is None else nxt.astimezone(tz).isoformat()
        return state

    @property
    def started_once(self) -> bool:
        """Whether a training was started since the service began."""
        with self._lock:
            return self._state.started_at is not None

    @property
    def running(self) -> bool:
        """Whether a training runs now."""
        with self._lock:
            return self._state.state == "running"

    def _update(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)
            data = asdict(self._state)
        self._publish("aurora_training", data)

    def start(self, engine: ForecastEngine | None, now: datetime, *, reason: str) -> None:
        """Start retraining ``engine`` at house time ``now`` in a thread.

        Raises
        ------
        TrainingBusy
            Without a learning forecaster, or while a training runs.
        """
        if engine is None:
            msg = (
                "nothing to retrain: the simulated home plans on perfect forecasts, which "
                "do not learn; Aurora learns there with forecasting.simulated_forecasts: "
                "aurora"
            )
            raise TrainingBusy(msg)
        with self._lock:
            if self._state.state == "running":
                msg = f"a training is already running (started {self._state.started_at})"
                raise TrainingBusy(msg)
            self._state = TrainingState(
                state="running",
                progress=0.0,
                message="starting",
                reason=reason,
                started_at=self._clock().isoformat(),
            )
        self._publish("aurora_training", asdict(self._state))
        self._thread = threading.Thread(
            target=in_background(self._run), args=(engine, now), name="aurora-training", daemon=True
        )
        self._thread.start()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the running training (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self, engine: ForecastEngine, now: datetime) -> None:
        try:
            engine.retrain(
                now, progress=lambda share, text: self._update(progress=share, message=text)
            )
            kept = self.keep_models(engine, now)
        except Exception as exc:  # reported on the job and in the log, never lost
            logger.exception("Aurora training failed")
            self._update(
                state="failed",
                progress=1.0,
                message=f"failed: {exc}",
                finished_at=self._clock().isoformat(),
            )
            return
        described = ", ".join(f"{d['target']} {d['stage']}" for d in engine.describe(now))
        note = f"; kept {', '.join(kept)}" if kept else ""
        self._update(
            state="done",
            progress=1.0,
            message=f"trained: {described}{note}",
            finished_at=self._clock().isoformat(),
        )

    def keep_models(self, engine: ForecastEngine, now: datetime) -> list[str]:
        """Write each trained model's files and register it; return what was kept."""
        kept = []
        versions = {d["target"]: d.get("version") or now.isoformat() for d in engine.describe(now)}
        for target, model in engine.models().items():
            if model is None:
                continue
            version = str(versions.get(target, now.isoformat()))
            folder = model_folder(self.data_dir, target, version)
            model.save(folder)
            info = model.info
            ok = register_model(
                self.store,
                target=target,
                version=version,
                trained_at=now,
                train_start=datetime.fromisoformat(info.train_start),
                train_end=datetime.fromisoformat(info.train_end),
                path=str(folder),
                metrics={"mode": str(info.mode), "rows": info.n_rows, **info.validation},
            )
            if ok:
                kept.append(f"{target} {version}")
            else:
                logger.error("Aurora: model %s %s written but not registered", target, version)
        return kept

    def check_schedule(
        self,
        engine: ForecastEngine | None,
        *,
        schedule: MlTrainingConfig,
        now: datetime,
        tz: ZoneInfo,
    ) -> bool:
        """Start a training when a scheduled time passed since the last check; say if so."""
        last, self._checked = self._checked, now
        if engine is None or last is None:
            return False
        due = schedule.next_after(last, tz)
        if due is None or due > now or self.running:
            return False
        try:
            self.start(engine, now, reason="scheduled")
        except TrainingBusy:
            return False
        return True
