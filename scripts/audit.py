"""Audit the dependencies: pip-audit (Python) and npm audit (the UI), in CI and by hand.

``python scripts/audit.py [--exceptions FILE]`` runs both tools with JSON output and reads
their reports:

* a finding (a known vulnerability in an installed version) fails the run, unless its
  advisory id (or one of its aliases) is listed in ``scripts/audit-exceptions.txt`` with
  the reason it does not apply;
* a tool that could not reach its advisory service is **not** a clean audit: pip-audit
  then skips every package ("not found on PyPI") yet says "No known vulnerabilities
  found", and npm audit gets an HTTP error. That is reported as NOT AUDITED, loudly, and
  does not fail the run (a registry mirror without the advisory API must not stop CI),
  so the log says plainly what was and was not checked.

Exit code: 1 when a finding is not explained, 0 otherwise.
"""

# ruff: noqa: T201

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXCEPTIONS = ROOT / "scripts" / "audit-exceptions.txt"


@dataclass
class AuditResult:
    """What one tool's report says."""

    tool: str
    audited: int = 0
    skipped: int = 0
    findings: list[str] = field(default_factory=list)  # "package version: id"
    explained: list[str] = field(default_factory=list)  # "package version: id (reason)"
    unreachable: str | None = None

    @property
    def failed(self) -> bool:
        """Whether an unexplained finding remains."""
        return bool(self.findings)

    def summary(self) -> str:
        """One paragraph for the log."""
        if self.unreachable is not None:
            head = f"{self.tool}: NOT AUDITED: {self.unreachable}"
        elif self.findings:
            head = f"{self.tool}: {len(self.findings)} unexplained finding(s) in {self.audited}"
        else:
            head = f"{self.tool}: clean, {self.audited} packages audited"
        lines = [head]
        lines += [f"  finding: {f}" for f in self.findings]
        lines += [f"  explained: {e}" for e in self.explained]
        if self.skipped and self.unreachable is None:
            lines.append(f"  {self.skipped} packages skipped (not on the index: local or editable)")
        return "\n".join(lines)


def read_exceptions(path: Path) -> dict[str, str]:
    """Read ``ID reason...`` lines (``#`` comments and blank lines ignored)."""
    if not path.is_file():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        advisory, _, reason = text.partition(" ")
        if not reason.strip():
            msg = f"{path}:{number}: {advisory} has no reason; say why it does not apply"
            raise ValueError(msg)
        found[advisory] = reason.strip()
    return found


def _explain(result: AuditResult, label: str, ids: list[str], exceptions: dict[str, str]) -> None:
    reason = next((exceptions[i] for i in ids if i in exceptions), None)
    if reason is None:
        result.findings.append(f"{label}: {', '.join(ids)}")
    else:
        result.explained.append(f"{label}: {', '.join(ids)} ({reason})")


def classify_pip_audit(report: dict[str, Any], exceptions: dict[str, str]) -> AuditResult:
    """Read ``pip-audit --format json`` output."""
    result = AuditResult(tool="pip-audit")
    dependencies = report.get("dependencies", [])
    for dependency in dependencies:
        if "skip_reason" in dependency:
            result.skipped += 1
            continue
        result.audited += 1
        for vuln in dependency.get("vulns", []):
            label = f"{dependency['name']} {dependency.get('version', '?')}"
            _explain(result, label, [vuln["id"], *vuln.get("aliases", [])], exceptions)
    indexed = [d for d in dependencies if "editable" not in d.get("skip_reason", "")]
    not_found = [d for d in indexed if "not found on PyPI" in d.get("skip_reason", "")]
    if indexed and len(not_found) == len(indexed):
        result.unreachable = (
            f"the index answered none of {len(indexed)} packages (no vulnerability "
            "service behind it); pip-audit's 'No known vulnerabilities found' means nothing here"
        )
    return result


def classify_npm_audit(report: dict[str, Any], exceptions: dict[str, str]) -> AuditResult:
    """Read ``npm audit --json`` output."""
    result = AuditResult(tool="npm audit")
    if "statusCode" in report or ("error" in report and "vulnerabilities" not in report):
        status = report.get("statusCode", "?")
        result.unreachable = f"the registry refused the advisory request (HTTP {status})"
        return result
    result.audited = int(report.get("metadata", {}).get("dependencies", {}).get("total", 0))
    for name, vulnerability in sorted(report.get("vulnerabilities", {}).items()):
        advisories = [v for v in vulnerability.get("via", []) if isinstance(v, dict)]
        if not advisories:
            continue  # vulnerable only through another package, which is listed itself
        for advisory in advisories:
            ids = [str(advisory.get("source", "?"))]
            if url := advisory.get("url"):
                ids.append(str(url).rsplit("/", 1)[-1])  # the GHSA id
            label = f"{name} {vulnerability.get('range', '?')} ({vulnerability.get('severity')})"
            _explain(result, label, ids, exceptions)
    return result


def _run_json(command: list[str], cwd: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - fixed tool commands, no shell
        command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        lines = (done.stderr or done.stdout).strip().splitlines()
        report = {"statusCode": "no JSON", "error": lines[-1:] or ["no output"]}
    return report


def main(argv: list[str] | None = None) -> int:
    """Run both audits and print what they found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS)
    args = parser.parse_args(argv)
    exceptions = read_exceptions(args.exceptions)
    pip_report = _run_json(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--skip-editable",
        ],
        ROOT,
    )
    npm_report = _run_json(["npm", "audit", "--json"], ROOT / "frontend")
    results = [
        classify_pip_audit(pip_report, exceptions),
        classify_npm_audit(npm_report, exceptions),
    ]
    for result in results:
        print(result.summary())
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
