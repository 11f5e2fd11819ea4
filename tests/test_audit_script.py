"""``scripts/audit.py``: a finding fails unless explained; no advisory service is no audit."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "audit"
_spec = importlib.util.spec_from_file_location("audit_script", ROOT / "scripts" / "audit.py")
assert _spec is not None
assert _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
sys.modules["audit_script"] = audit  # dataclasses look their module up
_spec.loader.exec_module(audit)


def _recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


PIP_FINDING = {
    "dependencies": [
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "GHSA-h5c8-rqwp-cp95",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["CVE-2024-22195"],
                    "description": "xmlattr",
                }
            ],
        },
        {"name": "numpy", "version": "2.4.0", "vulns": []},
        {"name": "darkstar", "skip_reason": "distribution marked as editable"},
    ],
    "fixes": [],
}
NPM_FINDING = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "esbuild": {
            "name": "esbuild",
            "severity": "moderate",
            "range": "<=0.24.2",
            "via": [
                {
                    "source": 1102341,
                    "name": "esbuild",
                    "severity": "moderate",
                    "url": "https://github.com/advisories/GHSA-67mh-4wv8-2f99",
                }
            ],
        },
        "vite": {
            "name": "vite",
            "severity": "moderate",
            "range": "0.11.0 - 6.1.6",
            "via": ["esbuild"],
        },
    },
    "metadata": {"dependencies": {"total": 180}},
}


def test_recorded_pip_audit_without_a_service_is_not_an_audit() -> None:
    result = audit.classify_pip_audit(_recorded("pip_audit_unreachable.json"), {})
    assert result.unreachable is not None
    assert "none of 2 packages" in result.unreachable  # the editable one is not counted
    assert not result.failed
    assert "NOT AUDITED" in result.summary()


def test_recorded_npm_audit_refused_is_not_an_audit() -> None:
    result = audit.classify_npm_audit(_recorded("npm_audit_unreachable.json"), {})
    assert result.unreachable == "the registry refused the advisory request (HTTP 405)"
    assert not result.failed


def test_a_pip_finding_fails_and_an_explained_one_passes() -> None:
    result = audit.classify_pip_audit(PIP_FINDING, {})
    assert result.failed
    assert result.audited == 2
    assert result.findings == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95, CVE-2024-22195"]
    explained = audit.classify_pip_audit(PIP_FINDING, {"CVE-2024-22195": "no xmlattr use"})
    assert not explained.failed
    assert explained.explained == [
        "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95, CVE-2024-22195 (no xmlattr use)"
    ]


def test_an_npm_finding_is_counted_once_at_its_source() -> None:
    result = audit.classify_npm_audit(NPM_FINDING, {})
    assert result.findings == ["esbuild <=0.24.2 (moderate): 1102341, GHSA-67mh-4wv8-2f99"]
    ok = audit.classify_npm_audit(NPM_FINDING, {"GHSA-67mh-4wv8-2f99": "dev server only"})
    assert not ok.failed
    assert audit.classify_npm_audit({"vulnerabilities": {}, "metadata": {}}, {}).summary() == (
        "npm audit: clean, 0 packages audited"
    )


def test_an_exception_needs_a_reason(tmp_path: Path) -> None:
    listed = tmp_path / "exceptions.txt"
    listed.write_text("# comment\nGHSA-1 dev only, never shipped\n\nCVE-2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"exceptions.txt:4: CVE-2 has no reason"):
        audit.read_exceptions(listed)
    listed.write_text("GHSA-1 dev only  # trailing\n", encoding="utf-8")
    assert audit.read_exceptions(listed) == {"GHSA-1": "dev only"}


def test_the_shipped_exceptions_file_parses() -> None:
    assert isinstance(audit.read_exceptions(audit.EXCEPTIONS), dict)
