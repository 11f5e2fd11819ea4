"""Aurora Reflex on four simulated histories with injected drift (the issue's must-show).

Runs the agent on the simulated home (SE4 2018 from 1 March) for each drift -- clean,
capacity fade of 10 %, PV forecast 20 % too high, unforecast evening load -- then Reflex on
each history: prints the signals, the dry-run assessments, what an applied run wrote to the
history's commented config.yaml, what a second run an hour later did (the daily rate
limit) and whether every comment survived.

    .venv/bin/python scripts/reflex_drift.py [--days 30] [--start 2018-03-01] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from darkstar.simulation.agent_run import DATA_TIMEZONE
from darkstar.simulation.reflex_drift import DRIFT_START, Drift, simulated_drift_histories


def main() -> int:
    """Run the histories and print one block per drift."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("build/reflex-drift"))
    parser.add_argument("--drift", action="append", choices=[d.value for d in Drift])
    parser.add_argument(
        "--start", type=date.fromisoformat, default=None, help="first local day (2018)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.out.exists():
        shutil.rmtree(args.out)
    drifts = [Drift(d) for d in args.drift] if args.drift else list(Drift)
    started = time.perf_counter()

    def progress(drift: Drift, day: int) -> None:
        if day % 5 == 0:
            elapsed = time.perf_counter() - started
            sys.stderr.write(f"{drift.value}: day {day} ({elapsed:.0f} s)\n")

    start = DRIFT_START
    if args.start is not None:
        start = datetime.combine(args.start, datetime.min.time(), ZoneInfo(DATA_TIMEZONE))
        start = start.astimezone(UTC)
    runs = simulated_drift_histories(
        args.out, days=args.days, start=start, drifts=drifts, on_day=progress
    )
    out = sys.stdout
    for drift, run in runs.items():
        out.write(f"\n=== {drift.value}: {run.days:g} days to {run.now.isoformat()} ===\n")
        for a in run.dry:
            change = "hold" if a.proposed is None else f"{a.current:g} -> {a.proposed:g}"
            out.write(f"  {a.analyzer.value:<10} {a.key:<42} {change:<14} {a.reason}\n")
            out.write(f"  {'':<10} signal {json.dumps(dict(a.signal), sort_keys=True)}\n")
        applied = {k: f"{b:g} -> {a:g}" for k, (b, a) in run.applied.applied.items()}
        out.write(f"  applied: {applied or 'nothing'}\n")
        again = {a.key: a.reason for a in run.again.assessments if a.key in run.applied.applied}
        out.write(f"  an hour later: {again or 'nothing to hold'}; ")
        out.write(f"changed again: {dict(run.again.applied) or 'nothing'}\n")
        out.write(f"  comments intact: {run.comments_kept}\n")
    out.write(f"\n{time.perf_counter() - started:.0f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
