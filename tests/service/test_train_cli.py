"""``darkstar train``: Aurora trained on the served house's history, models kept."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.learning.store import open_store
from darkstar.learning.store.forecasts import list_models


def test_train_refuses_forecasts_that_do_not_learn(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr.startswith("error: nothing to train: the simulated home plans on")
    assert "forecasting.simulated_forecasts: aurora" in result.stderr
    assert not (tmp_path / "models").exists()


def test_train_keeps_and_registers_the_models(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "forecasting:\n  simulated_forecasts: aurora\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["train", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    text = " ".join(result.stdout.split())
    assert "Aurora trained at 2018-05-01 00:00 CEST" in text  # the simulated home's start
    assert "kept pv 2018-04-30T22:00:00+00:00, load 2018-04-30T22:00:00+00:00" in text
    store = open_store(tmp_path / "planner_learning.db")
    try:
        models = {m.target: m for m in list_models(store) if m.active}
    finally:
        store.close()
    assert set(models) == {"pv", "load"}
    for model in models.values():
        folder = Path(model.path)
        assert folder.parent.parent == tmp_path / "models"
        assert {p.name for p in folder.iterdir()} >= {"model.json", "p50_kw.txt"}
        assert model.metrics["rows"] > 10_000
