"""The ``darkstar`` command line: plan, whatif, bench, demo, serve, prices, check-ha.

Errors a user can cause (bad request, bad config, missing file) end with exit code 2 and
one line on stderr naming the field; nothing prints a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from darkstar import redact
from darkstar.errors import DarkstarError, InputError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from darkstar.config.models import DarkstarConfig
    from darkstar.learning.analyst import AnalystReport

__all__ = ["app", "main"]

logger = logging.getLogger(__name__)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Darkstar: plan a home battery, PV, water heater and grid against dynamic prices.",
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (speed and plan quality).")
app.add_typer(bench_app, name="bench")
whatif_app = typer.Typer(no_args_is_help=True, help="What-ifs: re-plan with an extra commitment.")
app.add_typer(whatif_app, name="whatif")
forecast_app = typer.Typer(no_args_is_help=True, help="Aurora forecasts (load and PV quantiles).")
app.add_typer(forecast_app, name="forecast")

_EXIT_INPUT = 2
_EXIT_INTERNAL = 1


def _setup_logging(verbose: bool) -> None:
    redact.install()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str, code: int = _EXIT_INPUT) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _user_errors(
    *, flags: Mapping[str, str] | None = None, catch_all: bool = False
) -> Iterator[None]:
    """Turn errors into one stderr line and an exit code: no tracebacks for users.

    An :class:`InputError` exits 2 naming the field, spelled as the option the user typed
    where ``flags`` maps it. With ``catch_all`` every other error exits 1 with one line
    (commands pass ``catch_all=not debug``); without it they propagate.
    """
    try:
        yield
    except typer.Exit:
        raise
    except InputError as exc:
        field = (flags or {}).get(exc.field, exc.field)
        raise _fail(f"{field}: {exc.message}") from None
    except (DarkstarError, OSError) as exc:
        if not catch_all:
            raise
        raise _fail(f"{type(exc).__name__}: {exc}", _EXIT_INTERNAL) from None
    except Exception as exc:
        if not catch_all:
            raise
        logger.debug("unexpected error", exc_info=True)
        raise _fail(f"internal error: {type(exc).__name__}: {exc}", _EXIT_INTERNAL) from None


def read_json_file(path: Path, *, field: str) -> Any:
    """Read a JSON file; raise :class:`InputError` naming ``field`` on any problem.

    The text is decoded by :func:`darkstar.jsonlimits.parse_json`, so nesting deeper than
    :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` is refused before the parser recurses.
    """
    from darkstar.jsonlimits import parse_json  # lazy: keeps numpy out of `darkstar --help`

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(field, f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(field, f"cannot read {path}: {exc}") from None
    return parse_json(text, field=field)


@app.command()
def plan(
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Plan request (JSON).")],
    output_path: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write schedule.json.")
    ] = Path("schedule.json"),
    config_path: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml (request config wins).")
    ] = None,
    mode: Annotated[str, typer.Option(help="full or baseline.")] = "full",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
    debug_output: Annotated[
        Path | None,
        typer.Option(
            "--debug-output",
            help="Also write the planner debug document (planner_debug.json) here.",
        ),
    ] = None,
) -> None:
    """Plan one horizon offline and write ``schedule.json``."""
    _setup_logging(verbose)
    from darkstar.config import load_config
    from darkstar.planner import PlanMode, generate_schedule
    from darkstar.planner.inputs import parse_plan_request, prepare_input
    from darkstar.planner.output.schedule import write_schedule

    if mode not in {m.value for m in PlanMode}:
        raise _fail(f"--mode: must be 'full' or 'baseline', got {mode!r}")
    with _user_errors(catch_all=not debug, flags={"debug_output": "--debug-output"}):
        request = parse_plan_request(read_json_file(input_path, field="input"))
        config = load_config(config_path, overrides=request.config)
        pin = prepare_input(request)
        outcome = generate_schedule(
            pin, config, mode=PlanMode(mode), debug=debug_output is not None
        )
        if debug_output is not None:  # first: a bad path exits 2 with no schedule written
            _write_debug_output(outcome.debug, debug_output)
        write_schedule(outcome.document, output_path)
    meta = outcome.document["meta"]  # its warnings were already logged to stderr
    typer.echo(
        f"{meta['status']}: {len(outcome.document['schedule'])} slots, "
        f"energy cost {meta['energy_cost_sek']:.2f} SEK, solved in {meta['solve_time_ms']:.0f} ms "
        f"-> {output_path}"
    )


def _write_debug_output(document: dict[str, Any] | None, path: Path) -> None:
    """Write the planner debug document to ``path`` (``--debug-output``).

    Raises
    ------
    InputError
        Naming ``debug_output`` when the path cannot be written or no document was built.
    """
    from darkstar.planner.output.schedule import OutputError, write_schedule

    if document is None:
        raise InputError("debug_output", "the planner debug document could not be built")
    try:
        write_schedule(document, path)
    except OutputError as exc:
        raise InputError("debug_output", exc.message) from None


@bench_app.command("solver")
def bench_solver(
    repeats: Annotated[int, typer.Option(help="Instances per size.")] = 12,
    sizes: Annotated[str, typer.Option(help="Comma-separated horizon lengths in slots.")] = (
        "96,192,288"
    ),
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap to stop at.")] = 0.0001,
    stress: Annotated[
        float, typer.Option(help="Multiply each slot's prices by U(1-x, 1+x): harsher instances.")
    ] = 0.0,
) -> None:
    """Solve time, gap and model size of Kepler, with and without water heating."""
    _setup_logging(False)
    from darkstar.bench.solver import print_solver_bench, run_solver_bench

    try:
        slot_counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise _fail(f"--sizes: expected comma-separated integers, got {sizes!r}") from None
    rows = run_solver_bench(
        slot_counts=slot_counts, repeats=repeats, mip_gap=mip_gap, price_noise_frac=stress
    )
    print_solver_bench(rows)


@bench_app.command("planner")
def bench_planner(
    examples: Annotated[
        Path | None, typer.Option(help="Folder of plan requests (default: bundled examples).")
    ] = None,
) -> None:
    """Cost of Kepler vs the rule-based heuristic vs doing nothing on example days."""
    _setup_logging(False)
    from darkstar.bench.planner import print_planner_bench, run_planner_bench

    with _user_errors():
        rows = run_planner_bench(examples)
    print_planner_bench(rows)


@bench_app.command("aurora")
def bench_aurora(
    load: Annotated[str, typer.Option(help="Household load profile (h25 or SimBench).")] = "H0-A",
    repeats: Annotated[int, typer.Option(help="7-day inference forecasts per variant.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the test bed's forecasts and PV.")] = 0,
) -> None:
    """Aurora on the test-bed year: feature rows, training (< 60 s), 7-day inference (< 1 s)."""
    _setup_logging(False)
    from darkstar.bench.aurora import print_aurora_bench, run_aurora_bench

    flags = {"repeats": "--repeats", "profile": "--load", "seed": "--seed"}
    with _user_errors(flags=flags):
        result = run_aurora_bench(load_profile=load, repeats=repeats, seed=seed)
    print_aurora_bench(result)


@app.command()
def backtest(
    area: Annotated[str, typer.Option(help="Price area: SE4, DK1, DK2 or DE.")] = "SE4",
    year: Annotated[int, typer.Option(help="2015 or 2018 (the bundled SMARD years).")] = 2018,
    days: Annotated[int | None, typer.Option(help="Run only the first N days.")] = None,
    replan_minutes: Annotated[int, typer.Option(help="Minutes between plans.")] = 60,
    forecast: Annotated[
        str,
        typer.Option(
            help="perfect, noisy, aurora, naive or oracle (the house's own PV model on the "
            "forecast weather, actual load); several comma-separated (e.g. "
            "perfect,aurora,naive) run Kepler once per forecast on the same year."
        ),
    ] = "perfect",
    price_horizon: Annotated[str, typer.Option(help="dayahead or 48h.")] = "dayahead",
    terminal: Annotated[str, typer.Option(help="persistence or zero.")] = "persistence",
    seed: Annotated[int, typer.Option(help="Seed of the forecast noise.")] = 0,
    load: Annotated[
        str, typer.Option(help="Household load: h25 (BDEW) or a SimBench profile, e.g. H0-A.")
    ] = "h25",
    water: Annotated[
        bool,
        typer.Option(
            help="Plan the water heater too: draws, tank, comfort (slower; no "
            "perfect-foresight reference)."
        ),
    ] = False,
    config_path: Annotated[Path | None, typer.Option("--config", "-c")] = None,
    out_dir: Annotated[Path, typer.Option(help="Where to write CSV and charts.")] = Path(
        "build/backtest"
    ),
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (local); default: 1 January.")
    ] = None,
    ev: Annotated[
        bool,
        typer.Option(
            "--ev",
            help="The car experiment instead: a commuting car charged smartly vs on "
            "arrival (and peak-unaware with a capacity tariff); prints its own table.",
        ),
    ] = False,
    capacity_tariff: Annotated[
        float | None,
        typer.Option(help="Capacity tariff [SEK/kW/month]: sets grid.capacity_tariff."),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            help="Kepler's plans: baseline (forecasts as given) or full (as the agent plans: "
            "PV confidence, S-Index, target SoC)."
        ),
    ] = "baseline",
) -> None:
    """Closed-loop backtest on the simulated home with real prices, weather and load."""
    _setup_logging(False)
    from darkstar.config import load_config, merge_config, parse_config
    from darkstar.planner.pipeline import PlanMode
    from darkstar.simulation.backtest import (
        BacktestSpec,
        ForecastKind,
        PriceHorizon,
        TerminalPolicy,
    )
    from darkstar.simulation.runner import run_backtest_command, run_ev_command

    kinds = [k.strip() for k in forecast.split(",")]
    for kind in kinds:
        if kind not in {e.value for e in ForecastKind}:
            allowed = ", ".join(e.value for e in ForecastKind)
            raise _fail(f"--forecast: must be one of {allowed}, got {kind!r}")
    if len(set(kinds)) != len(kinds):
        raise _fail(f"--forecast: each forecast once, got {forecast!r}")
    if ev and not {"perfect", "noisy"}.issuperset(kinds[:1]) or ev and len(kinds) > 1:
        raise _fail("--forecast: --ev runs one forecast, perfect or noisy")
    choices = {
        "--mode": (mode, PlanMode),
        "--price-horizon": (price_horizon, PriceHorizon),
        "--terminal": (terminal, TerminalPolicy),
    }
    for option, (value, enum) in choices.items():
        if value not in {e.value for e in enum}:
            allowed = ", ".join(e.value for e in enum)
            raise _fail(f"{option}: must be one of {allowed}, got {value!r}")
    if days is not None and days < 1:
        raise _fail(f"--days: must be >= 1, got {days}")
    try:
        first_day = None if start is None else date.fromisoformat(start)
    except ValueError:
        raise _fail(f"--start: must be a date YYYY-MM-DD, got {start!r}") from None
    # name the options the user typed, not the library's fields
    flags = {
        "area": "--area",
        "year": "--year",
        "replan_minutes": "--replan-minutes",
        "profile": "--load",
        "start": "--start",
        "config.grid.capacity_tariff.sek_per_kw_month": "--capacity-tariff",
    }
    with _user_errors(flags=flags):
        spec = BacktestSpec(
            replan_minutes=replan_minutes,
            forecast=ForecastKind(kinds[0]),
            mode=PlanMode(mode),
            price_horizon=PriceHorizon(price_horizon),
            terminal=TerminalPolicy(terminal),
            seed=seed,
            water=water,
        )
        config = load_config(config_path)
        if capacity_tariff is not None:
            override = {"grid": {"capacity_tariff": {"sek_per_kw_month": capacity_tariff}}}
            config = parse_config(merge_config(config.model_dump(mode="json"), override))
        if ev:
            run_ev_command(
                area=area,
                year=year,
                start=first_day,
                days=days,
                spec=spec,
                cfg=config,
                load_profile=load,
            )
            return
        run_backtest_command(
            area=area,
            year=year,
            days=days,
            spec=spec,
            cfg=config,
            out_dir=out_dir,
            load_profile=load,
            start=first_day,
            forecasts=[ForecastKind(k) for k in kinds],
        )


#: Library argument names of the what-if, as the command line spells them.
_WHATIF_FLAGS = {"energy_kwh": "--kwh", "at": "--at", "mode": "--mode"}


@whatif_app.command("export")
def whatif_export_command(
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Plan request (JSON).")],
    kwh: Annotated[str, typer.Option("--kwh", metavar="KWH", help="Energy to export, in kWh.")],
    at: Annotated[
        str,
        typer.Option(help="'tomorrow peak', 'today peak' or a local time (2018-05-17T18:00)."),
    ],
    config_path: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml (request config wins).")
    ] = None,
    mode: Annotated[str, typer.Option(help="baseline or full.")] = "baseline",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, with both schedules.")] = (
        False
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Net SEK impact of exporting KWH in one hour, found by re-planning with it."""
    _setup_logging(verbose)
    from darkstar.config import load_config
    from darkstar.planner.whatif import print_export_whatif, whatif_export

    try:
        energy_kwh = float(kwh)
    except ValueError:
        raise _fail(f"--kwh: expected a number of kWh, got {kwh!r}") from None
    with _user_errors(flags=_WHATIF_FLAGS, catch_all=not debug):
        request = read_json_file(input_path, field="input")
        base_config = None if config_path is None else load_config(config_path)
        result = whatif_export(
            request, energy_kwh=energy_kwh, at=at, mode=mode, base_config=base_config
        )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1, allow_nan=False))
    else:
        print_export_whatif(result)


#: Library argument names of the forecast evaluation, as the command line spells them.
_FORECAST_FLAGS = {
    "area": "--area",
    "year": "--year",
    "profile": "--load",
    "load_profiles": "--load",
    "test_months": "--test-months",
    "seed": "--seed",
}


@forecast_app.command("eval")
def forecast_eval_command(
    area: Annotated[str, typer.Option(help="Price area: SE4, DK1, DK2 or DE.")] = "SE4",
    year: Annotated[int, typer.Option(help="2015 or 2018 (the bundled SMARD years).")] = 2018,
    load: Annotated[
        str,
        typer.Option(help="Load profiles, comma-separated: h25 (BDEW) and SimBench ones (H0-A)."),
    ] = "H0-A,h25",
    test_months: Annotated[int, typer.Option(help="Months at the end that are scored.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the forecast errors and of LightGBM.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Walk-forward evaluation of Aurora on the test-bed year (a few minutes)."""
    _setup_logging(verbose)
    from darkstar.aurora.evaluate import EvaluationSpec, print_evaluation, run_evaluation
    from darkstar.aurora.models import TrainingParams
    from darkstar.simulation.testbed import evaluation_inputs

    profiles = [p.strip() for p in load.split(",") if p.strip()]
    with _user_errors(flags=_FORECAST_FLAGS, catch_all=not debug):
        spec = EvaluationSpec(test_months=test_months, params=TrainingParams(seed=seed))
        inputs = evaluation_inputs(area=area, year=year, load_profiles=profiles, seed=seed)
        report = run_evaluation(inputs, spec, area=area, year=year, seed=seed, load=profiles)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1, allow_nan=False))
    else:
        print_evaluation(report)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option(help="Where to write schedules and charts.")] = Path(
        "build/demo"
    ),
    days: Annotated[
        float, typer.Option(help="Simulated days of the agent loop on the simulated home.")
    ] = 2.0,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (0: no waiting).")
    ] = 7200.0,
    serve_ui: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="After the examples, serve the UI at 127.0.0.1:8000 with the agent running "
            "(instead of the fixed --days run).",
        ),
    ] = False,
) -> None:
    """Plan the bundled example days, then run the agent loop on the simulated home."""
    _setup_logging(False)
    from darkstar.config import load_config
    from darkstar.demo import run_demo, run_live_agent

    if not days > 0:  # checked before the examples run, so a typo fails fast
        raise _fail(f"--days: must be a positive number, got {days}")
    run_demo(out_dir)
    if serve_ui:
        config_path = out_dir / "serve" / "config.yaml"
        if not config_path.exists():  # the demo home plans on Aurora's forecasts
            config_path.parent.mkdir(parents=True, exist_ok=True)
            config_path.write_text(
                "# Darkstar config: only the keys that differ from config.default.yaml.\n"
                "# The demo's simulated home plans on Aurora's forecasts, trained on its\n"
                "# history in the background when the service starts.\n"
                "forecasting:\n  simulated_forecasts: aurora\n",
                encoding="utf-8",
            )
        serve(data_dir=out_dir / "serve")
        return
    with _user_errors(flags={"days": "--days", "start": "--days"}):
        run_live_agent(out_dir, days=days, speed=speed, cfg=load_config())


@app.command()
def train(
    data_dir: Annotated[
        Path, typer.Option(help="The service's data folder: learning store, models, config.yaml.")
    ] = Path("build/serve"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml (default: in data-dir).")
    ] = None,
) -> None:
    """Train Aurora's forecast models on the house's history now; keep and register them.

    The house is the one ``darkstar serve`` would run (Home Assistant, or the simulated
    home with ``forecasting.simulated_forecasts: aurora``); models go to
    ``<data-dir>/models/<target>/<version>/`` and become the active ones in the store.
    """
    _setup_logging(False)
    import math

    from rich.console import Console
    from rich.table import Table

    from darkstar.backends import open_runtime

    console = Console()
    with _user_errors(catch_all=True):
        runtime = open_runtime(
            data_dir=data_dir, config_path=config or data_dir / "config.yaml", speed=math.inf
        )
    try:
        agent = runtime.agent
        engine, now = agent.world.aurora, agent.house.now
        if engine is None:
            raise _fail(
                "nothing to train: the simulated home plans on perfect forecasts; Aurora "
                "learns there with forecasting.simulated_forecasts: aurora"
            )
        with _progress_bar(console) as bar:
            task = bar.add_task("training", total=1.0)

            def progress(share: float, message: str) -> None:
                bar.update(task, completed=share, description=message[:40])

            with _user_errors(catch_all=True):
                engine.retrain(now, progress=progress)
        kept = runtime.training.keep_models(engine, now)
        table = Table(title=f"Aurora trained at {now.astimezone(agent.tz):%Y-%m-%d %H:%M %Z}")
        for column in ("target", "stage", "history d", "rows", "fit s", "MAE kW", "baseline kW"):
            table.add_column(column, justify="left" if column in {"target", "stage"} else "right")
        for m in engine.describe(now):
            table.add_row(
                m["target"],
                m["stage"],
                f"{m['history_days']:.1f}",
                str(m["rows"]),
                "" if m["train_s"] is None else f"{m['train_s']:.1f}",
                "" if m["mae_kw"] is None else f"{m['mae_kw']:.4f}",
                "" if m["baseline_mae_kw"] is None else f"{m['baseline_mae_kw']:.4f}",
            )
        console.print(table)
        for m in engine.describe(now):
            console.print(m["note"])
        console.print(
            f"kept {', '.join(kept)} in {data_dir / 'models'}"
            if kept
            else "no LightGBM model in use (prior or residual stage): nothing written"
        )
    finally:
        runtime.stop()


def _learning_paths(
    data_dir: Path, config: Path | None, *, config_required: bool
) -> tuple[Path, Path]:
    """Return a data folder's learning store and config file; exit 2 when one is missing.

    The config file is ``--config``, else ``<data-dir>/config.yaml``; a missing one is an
    error when given with ``--config`` or when ``config_required`` (else the defaults apply).
    """
    from darkstar.service.agent import DB_FILE

    db_path = data_dir / DB_FILE
    if not db_path.is_file():
        raise _fail(f"--data-dir: no learning store at {db_path}")
    config_path = config or data_dir / "config.yaml"
    if not config_path.is_file() and (config is not None or config_required):
        raise _fail(f"--config: {config_path} not found")
    return db_path, config_path


def _house_config(config_path: Path, timezone: str | None) -> tuple[DarkstarConfig, ZoneInfo]:
    """Load the config (the defaults when the file is missing) and the house's time zone.

    The zone is ``--timezone``, else ``location.timezone``, else the simulated home's; an
    unknown one exits 2.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from darkstar.config import load_config
    from darkstar.simulation.agent_run import DATA_TIMEZONE

    cfg = load_config(config_path if config_path.is_file() else None)
    zone = timezone or cfg.location.timezone or DATA_TIMEZONE
    try:
        return cfg, ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"--timezone: unknown time zone {zone!r}") from None


@app.command("reflex")
def reflex(
    data_dir: Annotated[
        Path, typer.Option(help="The service's data folder: learning store, config.yaml.")
    ] = Path("build/serve"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml (default: in data-dir).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--apply",
            help="--dry-run (default) prints the proposals and writes nothing at all; "
            "--apply logs them and writes them to config.yaml (comments kept).",
        ),
    ] = True,
    timezone: Annotated[
        str | None,
        typer.Option(help="The house's IANA time zone (default: location.timezone)."),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Aurora Reflex: the four signals and the config changes they propose.

    Analyses the learning store's history up to its last observed slot. ``--dry-run``
    writes no row and no file (a store older than this version is still migrated when
    opened, as ``serve`` would). ``--apply`` writes the proposals whatever the Aurora
    page's Reflex switch says (it is your command).
    """
    _setup_logging(False)
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from darkstar.learning.reflex import assess_reflex, describe_signal, run_reflex
    from darkstar.learning.store import open_store
    from darkstar.learning.store.repository import last_observation
    from darkstar.service.agent import SLOT

    db_path, config_path = _learning_paths(data_dir, config, config_required=not dry_run)
    console = Console()
    with _user_errors(catch_all=not debug):
        cfg, tz = _house_config(config_path, timezone)
        store = open_store(db_path)
        try:
            last = last_observation(store)
            now = datetime.now(UTC) if last is None else last.slot_start + SLOT
            if dry_run:
                assessments, report = assess_reflex(store, cfg, now=now, tz=tz), None
            else:
                report = run_reflex(store, cfg, now=now, config_path=config_path, apply=True, tz=tz)
                assessments = report.assessments
        finally:
            store.close()
    source = config_path if config_path.is_file() else "defaults (no config.yaml)"
    table = Table(title=f"Aurora Reflex at {now.astimezone(tz):%Y-%m-%d %H:%M %Z} ({source})")
    for column in ("analyzer", "signal", "key", "current", "proposed", "reason"):
        right = column in {"current", "proposed"}
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for a in assessments:
        proposed = "-" if a.proposed is None else f"{a.proposed:g}"
        table.add_row(
            a.analyzer.value, describe_signal(a), a.key, f"{a.current:g}", proposed, a.reason
        )
    console.print(table)
    if last is None:
        console.print("no observations in the store yet: nothing to learn from")
    if report is None:
        console.print("dry run: nothing written (--apply logs the proposals and writes them)")
        return
    for key, (before, after) in report.applied.items():
        console.print(f"applied {key}: {before:g} -> {after:g} in {config_path}")
    for key, why in report.not_applied.items():
        console.print(f"not applied {key}: {why}")
    if not report.applied and not report.not_applied:
        console.print("nothing to apply")
    if report.log_error is not None:
        typer.echo(f"warning: strategy log not written: {report.log_error}", err=True)


@app.command("analyst")
def analyst(
    data_dir: Annotated[
        Path, typer.Option(help="The service's data folder: learning store, config.yaml.")
    ] = Path("build/serve"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml (default: in data-dir).")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="The house's IANA time zone (default: location.timezone)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Measure the last completed days: forecast errors, costs, SoC tracking (the Analyst).

    Recomputes the last 7 completed local days (before the current time, in the house's
    time zone) from the learning store, keeps them in its ``learning_daily_metrics`` and
    prints them with the forecasts' bias by hour of day over 14 days. ``--json`` prints the
    report instead. A store that cannot be written is a warning; the exit code stays 0.
    """
    _setup_logging(False)
    from datetime import UTC, datetime

    from darkstar.learning.analyst import run_analyst
    from darkstar.learning.store import open_store

    db_path, config_path = _learning_paths(data_dir, config, config_required=False)
    with _user_errors(catch_all=not debug):
        cfg, tz = _house_config(config_path, timezone)
        store = open_store(db_path)
        try:
            report = run_analyst(
                store, now=datetime.now(UTC), tz=tz, min_soc_percent=cfg.battery.min_soc_percent
            )
        finally:
            store.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1, allow_nan=False))
    else:
        _print_analyst(report, tz)
    if report.write_error is not None:
        typer.echo(f"warning: daily metrics not written: {report.write_error}", err=True)


#: The Analyst table's number columns: header, DayMetrics field, decimals.
_ANALYST_COLUMNS = (
    ("PV MAE kWh", "pv_mae_kwh", 3),
    ("PV bias kWh", "pv_bias_kwh", 3),
    ("load MAE kWh", "load_mae_kwh", 3),
    ("load bias kWh", "load_bias_kwh", 3),
    ("planned SEK", "planned_cost_sek", 2),
    ("actual SEK", "actual_cost_sek", 2),
    ("deviation SEK", "cost_deviation_sek", 2),
    ("efficiency", "battery_efficiency_realized", 3),
    ("SoC error pp", "soc_tracking_error_percent", 1),
)


def _print_analyst(report: AnalystReport, tz: ZoneInfo) -> None:
    """Print the Analyst's days (newest first) and the largest hourly bias of PV and load."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Analyst at {report.now.astimezone(tz):%Y-%m-%d %H:%M %Z}")
    table.add_column("day")
    for header in ("slots", "forecast", *(c[0] for c in _ANALYST_COLUMNS), "low SoC"):
        table.add_column(header, justify="right")
    for d in reversed(report.days):
        numbers = [
            "-" if (value := getattr(d, field)) is None else f"{value:.{digits}f}"
            for _, field, digits in _ANALYST_COLUMNS
        ]
        low = "-" if d.low_soc_events is None else str(d.low_soc_events)
        table.add_row(
            d.day.isoformat(), str(d.observed_slots), str(d.forecast_slots), *numbers, low
        )
    console.print(table)
    if report.empty_days:
        console.print(f"no observations on {', '.join(d.isoformat() for d in report.empty_days)}")
    bias = report.bias
    for name, kw, samples in (
        ("PV", bias.pv_kw, bias.pv_samples),
        ("load", bias.load_kw, bias.load_samples),
    ):
        hours = [h for h, n in enumerate(samples) if n > 0]
        if not hours:
            console.print(f"{name} bias ({bias.window_days} d): no slots with a forecast")
            continue
        worst = max(hours, key=lambda h: abs(kw[h]))
        console.print(
            f"{name} bias ({bias.window_days} d, forecast - actual): largest "
            f"{kw[worst]:+.3f} kW at {worst:02d} h local ({samples[worst]} slots)"
        )


@app.command("prune")
def prune_command(
    data_dir: Annotated[
        Path, typer.Option(help="The service's data folder: learning store, config.yaml.")
    ] = Path("build/serve"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml (default: in data-dir).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would go; delete nothing.")] = False,
    vacuum: Annotated[
        bool, typer.Option(help="Then shrink the file (VACUUM): stop the service first.")
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Delete the learning store's history older than the config's retention days.

    The daily job's prune, counted back from the newest observed slot
    (docs/housekeeping.md).
    """
    _setup_logging(False)
    from darkstar.service.housekeeping import prune_file

    db_path, config_path = _learning_paths(data_dir, config, config_required=False)
    with _user_errors(catch_all=not debug):
        path = config_path if config_path.is_file() else None
        report, sizes, files = prune_file(
            db_path, path, dry_run=dry_run, shrink=vacuum, data_dir=data_dir
        )
    typer.echo(report.describe())
    if files is not None:
        typer.echo(files.describe())
    if sizes is not None:
        typer.echo(f"vacuumed: {sizes[0] / 1e6:.1f} MB -> {sizes[1] / 1e6:.1f} MB")


def _progress_bar(console: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
    data_dir: Annotated[
        Path, typer.Option(help="schedule.json, learning store, config.yaml, api_token.")
    ] = Path("build/serve"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.yaml edited by Settings.")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (180: a slot every 5 s).")
    ] = 180.0,
    warmup_hours: Annotated[
        float, typer.Option(help="Simulated hours run at once before serving.", min=0)
    ] = 24.0,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="Extra CORS origin (repeatable).")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    ingress_proxy: Annotated[
        str | None,
        typer.Option(
            help="Home Assistant add-on: accept only this ingress proxy address "
            "(172.30.32.2), which needs no token."
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option(help="Also write the log (INFO and above) to this file, rotated."),
    ] = None,
    log_max_mb: Annotated[
        float, typer.Option(help="Rotate the log file at this size [MB].", min=0.001)
    ] = 10.0,
    log_backups: Annotated[
        int, typer.Option(help="Old log files kept (file.1 ... file.N).", min=1, max=100)
    ] = 5,
) -> None:
    """Serve the API and the UI with the agent running on your house or the simulated home.

    With ``home_assistant.url`` in ``--config`` the agent drives that Home Assistant in
    real time (live prices and forecasts; ``--speed`` and ``--warmup-hours`` do not
    apply); without it, the simulated home replays 2018 at ``--speed``.
    """
    _setup_logging(False)
    from darkstar.backends import open_runtime
    from darkstar.web.server import ServeOptions
    from darkstar.web.server import serve as run_server

    if not speed > 0:
        raise _fail(f"--speed: must be > 0, got {speed}")
    if ingress_proxy is not None:
        try:
            ipaddress.ip_address(ingress_proxy)
        except ValueError:
            raise _fail(f"--ingress-proxy: not an IP address: {ingress_proxy!r}") from None
    with _user_errors(flags={"speed": "--speed"}, catch_all=True):
        run_server(
            ServeOptions(
                host=host,
                port=port,
                data_dir=data_dir,
                config_path=config,
                speed=speed,
                warmup_hours=warmup_hours,
                extra_origins=tuple(cors_origin or ()),
                access_log=access_log,
                ingress_proxy=ingress_proxy,
                log_file=log_file,
                log_max_bytes=round(log_max_mb * 1e6),
                log_backups=log_backups,
            ),
            open_runtime=open_runtime,
        )


@bench_app.command("ha")
def bench_ha(
    slots: Annotated[int, typer.Option(help="Agent cycles (15-minute slots) to run.")] = 96,
) -> None:
    """One observe -> plan -> act cycle through the real sandbox Home Assistant, timed."""
    _setup_logging(False)
    from darkstar.bench.ha import print_ha_bench, run_ha_bench

    with _user_errors(flags={"slots": "--slots"}, catch_all=True):
        result = run_ha_bench(slots=slots)
    print_ha_bench(result)


@app.command("ha-demo")
def ha_demo(
    port: Annotated[int, typer.Option(help="Port of the Darkstar UI.", min=1, max=65535)] = 8000,
    data_dir: Annotated[
        Path, typer.Option(help="Home Assistant's config and Darkstar's data.")
    ] = Path("build/ha-demo"),
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (180: a slot every 5 s).")
    ] = 180.0,
) -> None:
    """Run the simulated home behind a real local Home Assistant, and Darkstar on it."""
    _setup_logging(False)
    from darkstar.simulation.ha_sandbox.demo import run_ha_demo

    if not speed > 0:
        raise _fail(f"--speed: must be > 0, got {speed}")
    with _user_errors(flags={"speed": "--speed"}, catch_all=True):
        run_ha_demo(data_dir=data_dir, port=port, speed=speed)


@app.command("check-ha")
def check_ha(
    config_path: Annotated[
        Path, typer.Option("--config", "-c", help="config.yaml naming Home Assistant's entities.")
    ],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also print one 'ok' line per good entity.")
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Check that Home Assistant has every configured entity, readable in its role.

    Prints one line per problem (``<key> (<entity_id>): <message>``) and a summary; exits 0
    when there is none, 1 otherwise, and 2 when the config itself cannot be used.
    """
    _setup_logging(False)
    from darkstar.config import load_config
    from darkstar.sources.homeassistant import (
        HomeAssistantHouse,
        check_home_assistant,
        configured_entities,
        resolve_connection,
    )

    with _user_errors(catch_all=not debug):
        cfg = load_config(config_path)
        section = cfg.home_assistant
        if section.url is None:
            raise _fail(f"home_assistant.url: is not set in {config_path}; nothing to check")
        connection = resolve_connection(
            url=section.url,
            token=section.token,
            token_file=None if section.token_file is None else Path(section.token_file),
            timeout_s=section.timeout_s,
        )
        with HomeAssistantHouse(connection) as house:
            problems = check_home_assistant(house, cfg)
    entities = configured_entities(cfg)
    reached = not any(p.key in {"home_assistant.url", "home_assistant.token"} for p in problems)
    for problem in problems:
        if problem.entity_id is None:
            typer.echo(str(problem))
    ok = 0
    for key, entity_id in entities:
        found = [p for p in problems if p.key == key and p.entity_id is not None]
        for problem in found:
            typer.echo(str(problem))
        if reached and not found:
            ok += 1
            if verbose:
                typer.echo(f"{key} ({entity_id}): ok")
    if not problems:
        typer.echo(f"no problems: {len(entities)} entities checked")
        return
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    typer.echo(f"{count}, {ok} of {len(entities)} entities ok")
    raise typer.Exit(1)


@app.command()
def prices(
    area: Annotated[
        str | None, typer.Option(help="Bidding area, e.g. SE3 (default: prices.area).")
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="Delivery day YYYY-MM-DD (default: today in the area)."),
    ] = None,
    config_path: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="config.yaml (prices.nordpool_url, currency)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Print a day's Nord Pool day-ahead spot prices, one line per slot.

    With ``--json``: a list of ``{"start", "end", "spot_per_kwh", "currency"}`` (local ISO
    times with their UTC offset). Exits 1 with one line when the day is not published or
    Nord Pool cannot be read, 2 for a bad option or config.
    """
    _setup_logging(False)
    from datetime import UTC, date, datetime

    from darkstar.config import load_config
    from darkstar.config.models import DarkstarConfig
    from darkstar.market import area_timezone
    from darkstar.sources.nordpool import NordPoolClient

    with _user_errors(catch_all=not debug):
        cfg = DarkstarConfig() if config_path is None else load_config(config_path)
        code = (area or cfg.prices.area).strip().upper()
        if not code or not code.replace("-", "").isalnum():
            raise _fail(f"--area: {area!r} is not a bidding area (e.g. SE3)")
        tz = area_timezone(code)
        try:
            wanted = date.fromisoformat(day) if day else datetime.now(UTC).astimezone(tz).date()
        except ValueError:
            raise _fail(f"--date: {day!r} is not a date (YYYY-MM-DD)") from None
        currency = cfg.prices.currency
        with NordPoolClient(
            cfg.prices.nordpool_url, timeout_s=cfg.prices.timeout_s, retries=2, backoff_s=0.5
        ) as client:
            result = client.fetch_day(code, wanted, currency=currency)
    if result is None:
        raise _fail(f"prices for {code} on {wanted} are not published yet", _EXIT_INTERNAL)
    if result.currency != currency:
        typer.echo(f"note: Nord Pool answered in {result.currency}, not {currency}", err=True)
    if as_json:
        typer.echo(json.dumps(result.rows(), indent=2))
        return
    minutes = int(result.resolution.total_seconds() // 60)
    state = "final" if result.final else "preliminary"
    typer.echo(
        f"Nord Pool day-ahead {code} {wanted} ({tz.key}): {len(result.slots)} slots of "
        f"{minutes} min, {result.currency}/kWh, {state}"
    )
    typer.echo(f"{'local start':<25}  {'UTC start':<20}  {'spot':>9}")
    for s in result.slots:
        local = s.start.astimezone(tz).isoformat()
        utc = s.start.strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{local:<25}  {utc:<20}  {s.spot_per_kwh:>9.5f}")


@bench_app.command("api")
def bench_api(
    clients: Annotated[int, typer.Option(help="Concurrent keep-alive clients.")] = 50,
    duration: Annotated[float, typer.Option(help="Measured seconds, after 1 s warm-up.")] = 10.0,
    path: Annotated[str, typer.Option(help="GET path to load.")] = "/api/v1/schedule",
    warmup_hours: Annotated[float, typer.Option(help="Simulated hours before serving.")] = 6.0,
    simulations: Annotated[
        int, typer.Option(help="Extra clients posting /planning/simulate in a loop meanwhile.")
    ] = 0,
) -> None:
    """Latency and throughput of the real API server under concurrent keep-alive clients."""
    _setup_logging(False)
    from darkstar.bench.api import print_api_bench, run_api_bench

    flags = {
        "clients": "--clients",
        "duration_s": "--duration",
        "path": "--path",
        "warmup_hours": "--warmup-hours",
        "simulations": "--simulations",
    }
    with _user_errors(flags=flags, catch_all=True):
        result = run_api_bench(
            clients=clients,
            duration_s=duration,
            path=path,
            warmup_hours=warmup_hours,
            simulations=simulations,
        )
    print_api_bench(result)


@bench_app.command("soak")
def bench_soak(
    days: Annotated[float, typer.Option(help="Simulated days to run.")] = 7.0,
    speed: Annotated[float, typer.Option(help="Server --speed (simulated s per s).")] = 900.0,
    ws_clients: Annotated[int, typer.Option(help="WebSocket clients, all run long.")] = 20,
    pollers: Annotated[int, typer.Option(help="UI pollers (every page's GETs).")] = 10,
    poll_scale: Annotated[float, typer.Option(help="Divide the UI's intervals by this.")] = 1.0,
    warmup_hours: Annotated[float, typer.Option(help="Simulated hours before serving.")] = 504.0,
    data_dir: Annotated[Path | None, typer.Option(help="Keep the server's folder here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Soak: days of the real server under WebSocket clients and UI polling; exit 1 on FAIL."""
    _setup_logging(False)
    from darkstar.bench.soak import run_soak
    from darkstar.bench.soak_report import print_soak

    names = ("days", "speed", "ws_clients", "pollers", "poll_scale", "warmup_hours")
    with _user_errors(flags={n: f"--{n.replace('_', '-')}" for n in names}, catch_all=True):
        result = run_soak(
            days=days,
            speed=speed,
            ws_clients=ws_clients,
            pollers=pollers,
            poll_scale=poll_scale,
            warmup_hours=warmup_hours,
            data_dir=data_dir,
        )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        print_soak(result)
    if not result.verdict.passed:
        raise typer.Exit(1)


def main() -> None:
    """Entry point for ``python -m darkstar``."""
    app()


if __name__ == "__main__":
    main()
