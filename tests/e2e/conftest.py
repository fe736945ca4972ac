from __future__ import annotations

import pytest

from tests.support.client import ApiClient
from tests.support.stack import Stack


@pytest.fixture
def client(live_stack: Stack) -> ApiClient:
    """A freshly registered, logged-in user of the PostgreSQL + Redis stack."""
    api = ApiClient(live_stack.base_url)
    api.register_and_login()
    return api
