"""The conformance suite talks to a server over TCP only; it never imports reference/.

conformance.plugin gives the --target / --server options, the fixtures
(target, client, resp3_client, client_factory, launcher), the summary per
family, and registers the Hypothesis profiles `ci` (default) and `thorough`,
chosen by $HYPOTHESIS_PROFILE.
"""

pytest_plugins = ["conformance.plugin"]
