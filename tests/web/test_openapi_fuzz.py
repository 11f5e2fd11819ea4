"""Property run of the HTTP API against its own OpenAPI document (schemathesis).

Every operation in ``/api/v1/openapi.json`` is called in-process (ASGI, no network) with
generated path, query and body values and the API token, so the state-changing routes run
too. Each response must not be a server error (5xx) and must match the response schema the
document declares for its status. The WebSocket ``/live`` is not in the OpenAPI document,
so it is not exercised.

Deterministic: a fixed schemathesis seed and Hypothesis ``derandomize``; at most
:data:`MAX_EXAMPLES` generated cases per operation (plus schemathesis' explicit examples
and coverage cases).
"""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from darkstar.backends import open_runtime
from darkstar.service.logbuffer import LogBuffer
from darkstar.web.app import API_PREFIX, create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    Case = schemathesis.Case[Any]

TOKEN = "fuzz-token-0123456789"
ORIGIN = "http://127.0.0.1:8000"
MAX_EXAMPLES = 25
SEED = 20180501


# The schema must exist at collection, so the app is built at import around a runtime in a
# temporary folder (cheap: the warm-up runs in the module fixture, when the tests run).
# schemathesis.pytest.from_fixture would defer this, but schemathesis 4.32 reads
# `request.node._nodeid`, which pytest 9 no longer has.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="darkstar-fuzz-"))
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)
_RUNTIME = open_runtime(data_dir=_DATA_DIR, config_path=_DATA_DIR / "config.yaml", speed=math.inf)
_APP = create_app(_RUNTIME, token=TOKEN, origin=ORIGIN, logs=LogBuffer(), manage_runtime=False)
_CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
    }
)
schema = schemathesis.openapi.from_asgi(f"{API_PREFIX}/openapi.json", _APP, config=_CONFIG)


@pytest.fixture(scope="module", autouse=True)
def _warm_runtime() -> Iterator[None]:
    _RUNTIME.warm_up(8)  # two hours: plans and measured slots exist
    yield
    _RUNTIME.stop()
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # a plan run takes tens of ms, a first call longer: no per-example deadline
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@_SETTINGS
def test_api_no_server_errors_and_schema_conformance(case: Case) -> None:
    # every reply, 422 included (the house error shape is declared on the API router)
    case.call_and_validate(checks=[checks.not_a_server_error, checks.response_schema_conformance])
