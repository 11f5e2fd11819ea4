"""Retail electricity tariff: spot price to import and export price.

A Swedish household on an hourly spot contract pays, per kWh imported, the spot price plus
the grid operator's transfer fee plus the energy tax, all subject to VAT. Exported energy
is paid the spot price plus an optional compensation (for example a grid benefit or a
retailer bonus); no VAT or tax applies to it.

The functions are pure and work on floats and on numpy arrays (or anything that supports
numpy arithmetic, such as a ``pandas.Series``). :class:`TariffSpec` bundles the constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from darkstar.errors import InputError

__all__ = ["TariffSpec", "export_price_sek_per_kwh", "import_price_sek_per_kwh"]

FloatArray = npt.NDArray[np.float64]


def _check_finite(field: str, value: float | FloatArray) -> None:
    """Raise :class:`InputError` naming ``field`` if ``value`` holds NaN or infinity."""
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise InputError(field, "must be finite (no NaN or infinity)")


def _check_vat_frac(vat_frac: float | FloatArray) -> None:
    """Raise :class:`InputError` unless every VAT fraction lies in [0, 1]."""
    _check_finite("vat_frac", vat_frac)
    vat = np.asarray(vat_frac, dtype=float)
    if np.any(vat < 0.0) or np.any(vat > 1.0):
        raise InputError("vat_frac", "must be a fraction in [0, 1] (0.25 = 25 % VAT)")


@overload
def import_price_sek_per_kwh(
    *,
    spot_sek_per_kwh: float,
    grid_fee_sek_per_kwh: float,
    energy_tax_sek_per_kwh: float,
    vat_frac: float,
) -> float: ...


@overload
def import_price_sek_per_kwh(
    *,
    spot_sek_per_kwh: FloatArray,
    grid_fee_sek_per_kwh: float | FloatArray,
    energy_tax_sek_per_kwh: float | FloatArray,
    vat_frac: float | FloatArray,
) -> FloatArray: ...


def import_price_sek_per_kwh(
    *,
    spot_sek_per_kwh: float | FloatArray,
    grid_fee_sek_per_kwh: float | FloatArray,
    energy_tax_sek_per_kwh: float | FloatArray,
    vat_frac: float | FloatArray,
) -> float | FloatArray:
    """Return the retail price paid per imported kWh.

    Parameters
    ----------
    spot_sek_per_kwh : float or numpy.ndarray
        Day-ahead spot price; may be negative. [SEK/kWh]
    grid_fee_sek_per_kwh : float or numpy.ndarray
        Grid operator's variable transfer fee. [SEK/kWh]
    energy_tax_sek_per_kwh : float or numpy.ndarray
        Energy tax. [SEK/kWh]
    vat_frac : float or numpy.ndarray
        Value added tax as a fraction in [0, 1]. [-]

    Returns
    -------
    float or numpy.ndarray
        Import price, the shape of the broadcast inputs. [SEK/kWh]

    Raises
    ------
    InputError
        If an input holds NaN or infinity, or ``vat_frac`` is outside [0, 1].

    Notes
    -----
    .. math:: p_{import} = (p_{spot} + f_{grid} + t_{energy}) (1 + v)

    Examples
    --------
    (0.5 + 0.2456 + 0.439) x 1.25 = 1.1846 x 1.25 = 1.48075:

    >>> round(import_price_sek_per_kwh(spot_sek_per_kwh=0.5, grid_fee_sek_per_kwh=0.2456,
    ...       energy_tax_sek_per_kwh=0.439, vat_frac=0.25), 6)
    1.48075
    >>> import numpy as np
    >>> import_price_sek_per_kwh(spot_sek_per_kwh=np.array([-0.1, 0.0, 1.0]),
    ...     grid_fee_sek_per_kwh=0.1, energy_tax_sek_per_kwh=0.4, vat_frac=0.25).round(6)
    array([0.5  , 0.625, 1.875])
    """
    _check_finite("spot_sek_per_kwh", spot_sek_per_kwh)
    _check_finite("grid_fee_sek_per_kwh", grid_fee_sek_per_kwh)
    _check_finite("energy_tax_sek_per_kwh", energy_tax_sek_per_kwh)
    _check_vat_frac(vat_frac)
    return (spot_sek_per_kwh + grid_fee_sek_per_kwh + energy_tax_sek_per_kwh) * (1.0 + vat_frac)


@overload
def export_price_sek_per_kwh(
    *, spot_sek_per_kwh: float, export_compensation_sek_per_kwh: float = 0.0
) -> float: ...


@overload
def export_price_sek_per_kwh(
    *, spot_sek_per_kwh: FloatArray, export_compensation_sek_per_kwh: float | FloatArray = 0.0
) -> FloatArray: ...


def export_price_sek_per_kwh(
    *,
    spot_sek_per_kwh: float | FloatArray,
    export_compensation_sek_per_kwh: float | FloatArray = 0.0,
) -> float | FloatArray:
    """Return the price received per exported kWh.

    Parameters
    ----------
    spot_sek_per_kwh : float or numpy.ndarray
        Day-ahead spot price; may be negative. [SEK/kWh]
    export_compensation_sek_per_kwh : float or numpy.ndarray
        Extra payment per exported kWh (grid benefit, retailer bonus); negative for an
        export fee. [SEK/kWh]

    Returns
    -------
    float or numpy.ndarray
        Export price. [SEK/kWh]

    Raises
    ------
    InputError
        If an input holds NaN or infinity.

    Notes
    -----
    .. math:: p_{export} = p_{spot} + c_{export}

    Examples
    --------
    >>> round(export_price_sek_per_kwh(spot_sek_per_kwh=0.5,
    ...       export_compensation_sek_per_kwh=0.06), 6)
    0.56
    >>> import numpy as np
    >>> export_price_sek_per_kwh(spot_sek_per_kwh=np.array([-0.2, 0.3]))
    array([-0.2,  0.3])
    """
    _check_finite("spot_sek_per_kwh", spot_sek_per_kwh)
    _check_finite("export_compensation_sek_per_kwh", export_compensation_sek_per_kwh)
    return spot_sek_per_kwh + export_compensation_sek_per_kwh


@dataclass(frozen=True, kw_only=True)
class TariffSpec:
    """Constants of a spot-price retail tariff.

    The defaults are representative Swedish values, not one grid operator's price list:
    a variable grid transfer fee of 24.56 öre/kWh, an energy tax of 43.9 öre/kWh (both
    excluding VAT), 25 % VAT and no export compensation. They match the example plan
    requests in ``data/README.md``. Note that 43.9 öre/kWh is the full energy-tax rate of
    2025; the 2018 rate was 33.1 öre/kWh, so import prices built on 2018 spot prices with
    these defaults are about 0.11 x 1.25 = 0.14 SEK/kWh above what was paid in 2018.

    Parameters
    ----------
    grid_fee_sek_per_kwh : float
        Variable grid transfer fee, before VAT; >= 0. [SEK/kWh]
    energy_tax_sek_per_kwh : float
        Energy tax, before VAT; >= 0. [SEK/kWh]
    vat_frac : float
        VAT on import as a fraction in [0, 1]. [-]
    export_compensation_sek_per_kwh : float
        Added to the spot price for exported energy. [SEK/kWh]

    Raises
    ------
    InputError
        If a field is NaN or infinite, a fee or tax is negative, or ``vat_frac`` is
        outside [0, 1].

    Examples
    --------
    (0.3 + 0.2456 + 0.439) x 1.25 = 0.9846 x 1.25 = 1.23075; export = spot = 0.3:

    >>> imp, exp = TariffSpec().prices_sek_per_kwh(0.3)
    >>> round(imp, 6), round(exp, 6)
    (1.23075, 0.3)
    """

    grid_fee_sek_per_kwh: float = 0.2456
    energy_tax_sek_per_kwh: float = 0.439
    vat_frac: float = 0.25
    export_compensation_sek_per_kwh: float = 0.0

    def __post_init__(self) -> None:
        for field in (
            "grid_fee_sek_per_kwh",
            "energy_tax_sek_per_kwh",
            "export_compensation_sek_per_kwh",
        ):
            value = getattr(self, field)
            if not math.isfinite(value):
                raise InputError(field, f"must be finite, got {value}")
        for field in ("grid_fee_sek_per_kwh", "energy_tax_sek_per_kwh"):
            if getattr(self, field) < 0.0:
                raise InputError(field, f"must be >= 0, got {getattr(self, field)}")
        _check_vat_frac(self.vat_frac)

    @overload
    def prices_sek_per_kwh(self, spot_sek_per_kwh: float) -> tuple[float, float]: ...

    @overload
    def prices_sek_per_kwh(self, spot_sek_per_kwh: FloatArray) -> tuple[FloatArray, FloatArray]: ...

    def prices_sek_per_kwh(
        self, spot_sek_per_kwh: float | FloatArray
    ) -> tuple[float | FloatArray, float | FloatArray]:
        """Return ``(import, export)`` prices for a spot price.

        Parameters
        ----------
        spot_sek_per_kwh : float or numpy.ndarray
            Day-ahead spot price. [SEK/kWh]

        Returns
        -------
        tuple
            Import price and export price, each shaped like ``spot_sek_per_kwh``.
            [SEK/kWh]
        """
        import_price = import_price_sek_per_kwh(
            spot_sek_per_kwh=spot_sek_per_kwh,
            grid_fee_sek_per_kwh=self.grid_fee_sek_per_kwh,
            energy_tax_sek_per_kwh=self.energy_tax_sek_per_kwh,
            vat_frac=self.vat_frac,
        )
        export_price = export_price_sek_per_kwh(
            spot_sek_per_kwh=spot_sek_per_kwh,
            export_compensation_sek_per_kwh=self.export_compensation_sek_per_kwh,
        )
        return import_price, export_price
