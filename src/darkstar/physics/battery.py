"""Battery state-of-charge physics (pure functions).

Sign and unit conventions follow ``docs/nomenclature.md``: charge and discharge are
AC-side powers in kW (both >= 0), SoC is stored energy in kWh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["soc_after_slot_kwh", "soc_trajectory_kwh"]


def soc_after_slot_kwh(
    *,
    soc_kwh: float,
    charge_kw: float,
    discharge_kw: float,
    slot_h: float,
    charge_efficiency: float,
    discharge_efficiency: float,
) -> float:
    r"""Return the stored energy at the end of a slot.

    Parameters
    ----------
    soc_kwh : float
        Stored energy at the start of the slot [kWh].
    charge_kw, discharge_kw : float
        AC-side charge and discharge power, slot averages [kW].
    slot_h : float
        Slot length [h].
    charge_efficiency, discharge_efficiency : float
        Fractions in (0, 1].

    Returns
    -------
    float
        Stored energy at the end of the slot [kWh].

    Notes
    -----
    .. math:: E_{t} = E_{t-1} + h (\eta_c c_t - d_t / \eta_d)

    Examples
    --------
    >>> soc_after_slot_kwh(soc_kwh=5.0, charge_kw=2.0, discharge_kw=0.0, slot_h=0.5,
    ...                    charge_efficiency=0.9, discharge_efficiency=0.9)
    5.9
    """
    return soc_kwh + slot_h * (charge_efficiency * charge_kw - discharge_kw / discharge_efficiency)


def soc_trajectory_kwh(
    *,
    initial_soc_kwh: float,
    charge_kw: NDArray[np.float64],
    discharge_kw: NDArray[np.float64],
    slot_h: float,
    charge_efficiency: float,
    discharge_efficiency: float,
) -> NDArray[np.float64]:
    """Return the stored energy at the end of every slot [kWh].

    :func:`soc_after_slot_kwh` applied slot after slot, starting from ``initial_soc_kwh``.

    Examples
    --------
    >>> soc_trajectory_kwh(initial_soc_kwh=1.0, charge_kw=np.array([2.0, 0.0]),
    ...                    discharge_kw=np.array([0.0, 1.0]), slot_h=1.0,
    ...                    charge_efficiency=1.0, discharge_efficiency=0.5).tolist()
    [3.0, 1.0]
    """
    delta_kwh = soc_after_slot_kwh(
        soc_kwh=0.0,
        charge_kw=charge_kw,  # type: ignore[arg-type]  # the formula is elementwise
        discharge_kw=discharge_kw,  # type: ignore[arg-type]
        slot_h=slot_h,
        charge_efficiency=charge_efficiency,
        discharge_efficiency=discharge_efficiency,
    )
    trajectory: NDArray[np.float64] = initial_soc_kwh + np.cumsum(delta_kwh)
    return trajectory
