from __future__ import annotations

from typer.testing import CliRunner

from darkstar.cli import app


def test_forecast_eval_bad_test_months() -> None:
    result = CliRunner().invoke(app, ["forecast", "eval", "--test-months", "0"])
    assert result.exit_code == 2
    assert "--test-months" in result.output


def test_forecast_eval_unknown_profile() -> None:
    result = CliRunner().invoke(app, ["forecast", "eval", "--load", "H9-Z"])
    assert result.exit_code == 2
    assert "--load" in result.output


def test_forecast_help_lists_eval() -> None:
    result = CliRunner().invoke(app, ["forecast", "--help"])
    assert result.exit_code == 0
    assert "eval" in result.output
