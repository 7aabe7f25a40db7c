"""The conformance suite talks to a server over TCP only; it never imports reference/.

conformance.plugin gives the --target / --server options, the fixtures
(target, client, resp3_client, client_factory, launcher), the summary per
family, and registers the Hypothesis profiles `ci` (default) and `thorough`,
chosen by $HYPOTHESIS_PROFILE. Here: `counting`, for the tests that read Redis's
change counter.
"""

import pytest

from conformance.readings import config_value

pytest_plugins = ["conformance.plugin"]


@pytest.fixture
def counting(client):
    """The client, with save points off while the test runs: a save resets the change counter
    (INFO rdb_changes_since_last_save, readings.changes) that the test reads."""
    save = config_value(client, "save")
    assert client.call("CONFIG", "SET", "save", "") == "OK"
    yield client
    client.call("CONFIG", "SET", "save", save)
