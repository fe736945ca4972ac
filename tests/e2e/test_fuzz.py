"""Schemathesis against the live stack's /openapi.json, as a logged-in user: no 5xx, and every
response matches the schema it is documented with.

Bounded for CI: a few examples per operation, a fixed seed (derandomize) and a total time budget
after which remaining examples are not sent. WebSocket /ws is not in the OpenAPI schema.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.client import ApiClient
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 25
BUDGET_SECONDS = 120.0


@pytest.fixture(scope="module")
def fuzz_user(live_stack: Stack) -> dict[str, str]:
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    return {"Authorization": f"Bearer {account['access_token']}"}


def test_api_conforms_to_its_schema(live_stack: Stack, fuzz_user: dict[str, str]) -> None:
    # Operations are driven one by one (not schemathesis.pytest's lazy parametrize, which does not
    # run on pytest 9) so that every finding is collected and reported together.
    schema = schemathesis.openapi.from_url(f"{live_stack.base_url}/openapi.json")
    deadline = time.monotonic() + BUDGET_SECONDS
    failures: dict[str, str] = {}
    fuzzed: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() > deadline:
            break
        fuzzed.append(operation.label)

        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )
        )
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            if time.monotonic() > deadline:
                return
            response = case.call_and_validate(
                base_url=live_stack.base_url,
                headers=fuzz_user,
                checks=[not_a_server_error, response_schema_conformance],
                timeout=30,
            )
            statuses[response.status_code] += 1

        try:
            run()
        except BaseException as exc:  # schemathesis raises exception groups; collect every operation's
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failures[operation.label] = str(exc)[:2000]
    print(f"fuzzed {len(fuzzed)} operations, responses by status: {dict(sorted(statuses.items()))}")
    assert len(fuzzed) == len(list(schema.get_all_operations())), f"budget spent after {fuzzed}"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
