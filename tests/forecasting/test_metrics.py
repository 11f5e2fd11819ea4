from __future__ import annotations

import math

import pytest

from darkstar.aurora.metrics import coverage_frac, mae, pinball_loss
from darkstar.errors import InputError


def test_mae_hand_computed() -> None:
    assert mae([1.0, 2.0, 4.0], [1.0, 3.0, 1.0]) == pytest.approx(4.0 / 3.0)
    assert mae([0.5], [0.5]) == 0.0


def test_pinball_loss_hand_computed() -> None:
    # y = 3: errors 3, 2, 1 above q -> 0.1*3, 0.5*2, 0.9*1 -> mean 2.2 / 3
    assert pinball_loss([[0.0, 1.0, 2.0]], [3.0], levels=(0.1, 0.5, 0.9)) == pytest.approx(
        2.2 / 3.0
    )
    # y = 0 below every quantile: (1-0.1)*1, (1-0.5)*2, (1-0.9)*4 -> 0.9, 1.0, 0.4
    assert pinball_loss([[1.0, 2.0, 4.0]], [0.0], levels=(0.1, 0.5, 0.9)) == pytest.approx(
        2.3 / 3.0
    )
    # the 0.5 pinball is half the absolute error
    q, y = [[1.0], [2.0], [4.0]], [1.0, 3.0, 1.0]
    assert pinball_loss(q, y, levels=(0.5,)) == pytest.approx(0.5 * mae([1, 2, 4], y))


def test_coverage_hand_computed() -> None:
    lower, upper = [0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 2.0, 0.5]
    assert coverage_frac(lower, upper, [1.0, 2.0, 1.5, -0.1]) == 0.5  # bounds included
    assert coverage_frac([0.0], [0.0], [0.0]) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: mae([1.0, math.nan], [1.0, 2.0]),
        lambda: mae([1.0], [1.0, 2.0]),
        lambda: mae([], []),
        lambda: pinball_loss([[1.0, 2.0]], [1.0], levels=(0.1, 0.5, 0.9)),
        lambda: pinball_loss([[1.0]], [1.0], levels=(1.0,)),
        lambda: coverage_frac([0.0], [1.0, 2.0], [0.5]),
    ],
)
def test_metrics_refuse_bad_input(call: object) -> None:
    with pytest.raises(InputError):
        call()  # type: ignore[operator]
