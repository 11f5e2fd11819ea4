"""The ``darkstar plan`` request contract (DESIGN §3.1) as pydantic models.

This is a trust boundary: every field is validated and unknown keys are refused, so that a
typo never silently drops a value. Errors are reported by :func:`format_validation_error`
as one line naming the field.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from darkstar.errors import InputError

__all__ = [
    "EvStateIn",
    "MAX_PRICE_SEK_PER_KWH",
    "MAX_SLOT_ENERGY_KWH",
    "PlanRequest",
    "SlotIn",
    "StateIn",
    "format_validation_error",
    "parse_plan_request",
]


#: Largest price magnitude accepted [SEK/kWh]. The EU day-ahead market clears between
#: -500 EUR/MWh and a few thousand EUR/MWh (about -6 to under 100 SEK/kWh, fees included), so
#: 1000 never refuses a real tariff, yet keeps every cost the planner sums far from overflow.
MAX_PRICE_SEK_PER_KWH = 1000.0

#: Largest energy accepted per slot, forecasts and their quantiles alike [kWh]. That is
#: 1000 kW for a whole hour (the most the config allows for a fuse or a battery), far
#: above any house, yet far below where sums in the planner lose precision.
MAX_SLOT_ENERGY_KWH = 1000.0

_ENERGY_DESCRIPTION = f"{{}} energy in the slot [kWh]; 0 <= x <= {MAX_SLOT_ENERGY_KWH:g}."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class SlotIn(_Strict):
    """One slot of the request.

    Prices and energies have generous physical bounds (:data:`MAX_PRICE_SEK_PER_KWH`,
    :data:`MAX_SLOT_ENERGY_KWH`) so that absurd values such as ``1e308`` are refused here
    instead of overflowing the planner's arithmetic.
    """

    start: AwareDatetime
    import_price_sek_per_kwh: float = Field(
        ge=-MAX_PRICE_SEK_PER_KWH,
        le=MAX_PRICE_SEK_PER_KWH,
        description=f"Import price [SEK/kWh]; |x| <= {MAX_PRICE_SEK_PER_KWH:g}.",
    )
    export_price_sek_per_kwh: float = Field(
        ge=-MAX_PRICE_SEK_PER_KWH,
        le=MAX_PRICE_SEK_PER_KWH,
        description=f"Export price [SEK/kWh]; |x| <= {MAX_PRICE_SEK_PER_KWH:g}.",
    )
    pv_forecast_kwh: float = Field(
        ge=0, le=MAX_SLOT_ENERGY_KWH, description=_ENERGY_DESCRIPTION.format("PV")
    )
    load_forecast_kwh: float = Field(
        ge=0, le=MAX_SLOT_ENERGY_KWH, description=_ENERGY_DESCRIPTION.format("Load")
    )
    pv_p10_kwh: float | None = Field(
        None, ge=0, le=MAX_SLOT_ENERGY_KWH, description=_ENERGY_DESCRIPTION.format("PV p10")
    )
    pv_p90_kwh: float | None = Field(
        None, ge=0, le=MAX_SLOT_ENERGY_KWH, description=_ENERGY_DESCRIPTION.format("PV p90")
    )
    load_p10_kwh: float | None = Field(
        None, ge=0, le=MAX_SLOT_ENERGY_KWH, description=_ENERGY_DESCRIPTION.format("Load p10")
    )
    load_p90_kwh: float | None = Field(
        None, ge=0, le=MAX_SLOT_ENERGY_KWH, description=_ENERGY_DESCRIPTION.format("Load p90")
    )
    temperature_c: float | None = Field(
        None, ge=-80, le=70, description="Outdoor temperature [°C]; -80 <= x <= 70."
    )


class EvStateIn(_Strict):
    """The electric car at the start of the horizon (``state.ev``)."""

    soc_percent: float = Field(ge=0, le=100, description="Car SoC [%]; 0 <= x <= 100.")
    plugged_in: bool = Field(description="Whether the car is connected to the charger now.")
    departure: AwareDatetime | None = Field(
        None, description="When the car leaves (ISO 8601 with offset); null: not known."
    )
    target_soc_percent: float = Field(
        ge=0, le=100, description="SoC wanted at departure [%]; 0 <= x <= 100."
    )


class StateIn(_Strict):
    """Measured state at the start of the horizon."""

    soc_percent: float = Field(ge=0, le=100, description="Battery SoC [%]; 0 <= x <= 100.")
    water_heated_today_kwh: float = Field(
        0.0,
        ge=0,
        le=1000.0,
        description="Water heated so far today [kWh]; 0 <= x <= 1000.",
    )
    water_last_legionella_at: AwareDatetime | None = None
    ev: EvStateIn | None = None
    month_peaks_kw: list[Annotated[float, Field(ge=0, le=1000)]] = Field(
        default_factory=list,
        max_length=31,
        description="The month's counted hourly import peaks so far [kW] (capacity tariff).",
    )


class PlanRequest(_Strict):
    """The whole plan request."""

    timezone: str
    slots: list[SlotIn] = Field(min_length=1, max_length=7 * 24 * 4)
    state: StateIn
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown IANA time zone {value!r}"
            raise ValueError(msg) from exc
        return value


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the (nested) model that ``loc`` points into."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in (annotation, *args) if hasattr(a, "model_fields")), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(
    exc: ValidationError, model: type[BaseModel], prefix: str = ""
) -> InputError:
    """Turn the first pydantic error into an :class:`InputError` naming the field."""
    errors = exc.errors()
    # a misspelt key shows up as "unknown" plus "missing": the unknown one explains both
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err["loc"])
    parts: list[str] = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(str(part))
    field = ".".join(parts) or "request"
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(model, loc), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return InputError(field, f"unknown key{hint}")
    if kind == "missing":
        return InputError(field, "is required")
    if kind in {"finite_number"}:
        return InputError(field, f"must be a finite number, got {given!r}")
    message = err["msg"].removeprefix("Value error, ")
    if kind.startswith(("greater_than", "less_than")) or kind in {"float_parsing", "float_type"}:
        message = f"{message}, got {given!r}"
    return InputError(field, message[0].lower() + message[1:])


def parse_plan_request(data: Any) -> PlanRequest:
    """Validate a decoded JSON request.

    Raises
    ------
    InputError
        Naming the first invalid field.
    """
    if not isinstance(data, dict):
        raise InputError("request", "must be a JSON object")
    try:
        return PlanRequest.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, PlanRequest) from None
