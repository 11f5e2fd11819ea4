"""Tests for darkstar.physics.tariff: hand-computed import and export prices."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from darkstar.errors import InputError
from darkstar.physics.tariff import (
    TariffSpec,
    export_price_sek_per_kwh,
    import_price_sek_per_kwh,
)


def test_import_price_sek_per_kwh_float() -> None:
    # (0.40 + 0.25 + 0.35) x 1.25 = 1.00 x 1.25 = 1.25
    price = import_price_sek_per_kwh(
        spot_sek_per_kwh=0.40,
        grid_fee_sek_per_kwh=0.25,
        energy_tax_sek_per_kwh=0.35,
        vat_frac=0.25,
    )
    assert isinstance(price, float)
    assert price == pytest.approx(1.25, abs=1e-12)


def test_import_price_sek_per_kwh_array_with_negative_spot() -> None:
    # (-0.5 + 0.1 + 0.4) x 1.2 = 0; (0.2 + 0.1 + 0.4) x 1.2 = 0.84; (1.0 + 0.5) x 1.2 = 1.8
    price = import_price_sek_per_kwh(
        spot_sek_per_kwh=np.array([-0.5, 0.2, 1.0]),
        grid_fee_sek_per_kwh=0.1,
        energy_tax_sek_per_kwh=0.4,
        vat_frac=0.2,
    )
    np.testing.assert_allclose(price, [0.0, 0.84, 1.8], atol=1e-12)


def test_import_price_sek_per_kwh_array_fee() -> None:
    # time-of-use fee: (0.5 + 0.1 + 0.4) x 1 = 1.0, (0.5 + 0.3 + 0.4) x 1 = 1.2
    price = import_price_sek_per_kwh(
        spot_sek_per_kwh=np.array([0.5, 0.5]),
        grid_fee_sek_per_kwh=np.array([0.1, 0.3]),
        energy_tax_sek_per_kwh=0.4,
        vat_frac=0.0,
    )
    np.testing.assert_allclose(price, [1.0, 1.2], atol=1e-12)


def test_import_price_sek_per_kwh_nan_names_field() -> None:
    with pytest.raises(InputError, match="spot_sek_per_kwh"):
        import_price_sek_per_kwh(
            spot_sek_per_kwh=np.array([0.1, math.nan]),
            grid_fee_sek_per_kwh=0.1,
            energy_tax_sek_per_kwh=0.4,
            vat_frac=0.25,
        )


@pytest.mark.parametrize("vat_frac", [-0.01, 1.01, math.nan, 25.0])
def test_import_price_sek_per_kwh_bad_vat(vat_frac: float) -> None:
    with pytest.raises(InputError, match="vat_frac"):
        import_price_sek_per_kwh(
            spot_sek_per_kwh=0.1,
            grid_fee_sek_per_kwh=0.1,
            energy_tax_sek_per_kwh=0.4,
            vat_frac=vat_frac,
        )


def test_export_price_sek_per_kwh_float() -> None:
    assert export_price_sek_per_kwh(spot_sek_per_kwh=0.30) == pytest.approx(0.30)
    assert export_price_sek_per_kwh(
        spot_sek_per_kwh=0.30, export_compensation_sek_per_kwh=0.05
    ) == pytest.approx(0.35)


def test_export_price_sek_per_kwh_array() -> None:
    price = export_price_sek_per_kwh(
        spot_sek_per_kwh=np.array([-0.2, 0.0, 0.7]), export_compensation_sek_per_kwh=0.1
    )
    np.testing.assert_allclose(price, [-0.1, 0.1, 0.8], atol=1e-12)


def test_export_price_sek_per_kwh_nan_compensation() -> None:
    with pytest.raises(InputError, match="export_compensation_sek_per_kwh"):
        export_price_sek_per_kwh(spot_sek_per_kwh=0.1, export_compensation_sek_per_kwh=math.nan)


def test_tariff_spec_defaults() -> None:
    spec = TariffSpec()
    assert spec.grid_fee_sek_per_kwh == 0.2456
    assert spec.energy_tax_sek_per_kwh == 0.439
    assert spec.vat_frac == 0.25
    assert spec.export_compensation_sek_per_kwh == 0.0


def test_tariff_spec_prices_float() -> None:
    # SE4 2018-01-01 00:00: spot 0.2701458; (0.2701458 + 0.2456 + 0.439) x 1.25 = 1.19343225
    import_price, export_price = TariffSpec().prices_sek_per_kwh(0.2701458)
    assert import_price == pytest.approx(1.19343225, abs=1e-12)
    assert export_price == pytest.approx(0.2701458, abs=1e-12)


def test_tariff_spec_prices_array() -> None:
    spec = TariffSpec(
        grid_fee_sek_per_kwh=0.2,
        energy_tax_sek_per_kwh=0.3,
        vat_frac=0.25,
        export_compensation_sek_per_kwh=0.05,
    )
    import_price, export_price = spec.prices_sek_per_kwh(np.array([0.0, 0.5]))
    np.testing.assert_allclose(import_price, [0.625, 1.25], atol=1e-12)
    np.testing.assert_allclose(export_price, [0.05, 0.55], atol=1e-12)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grid_fee_sek_per_kwh", -0.1),
        ("energy_tax_sek_per_kwh", -0.1),
        ("grid_fee_sek_per_kwh", math.nan),
        ("export_compensation_sek_per_kwh", math.inf),
        ("vat_frac", 1.5),
        ("vat_frac", math.nan),
    ],
)
def test_tariff_spec_invalid_names_field(field: str, value: float) -> None:
    with pytest.raises(InputError, match=field):
        TariffSpec(**{field: value})


def test_tariff_spec_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TariffSpec().vat_frac = 0.0  # type: ignore[misc]
