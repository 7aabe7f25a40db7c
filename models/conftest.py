"""models/ judges a server over TCP exactly as conformance/ does, with the same plugin.

conformance.plugin gives the --target / --server options and the `target`
fixture, and registers the Hypothesis profiles `ci` (the default:
derandomized, bounded) and `thorough`, chosen by $HYPOTHESIS_PROFILE.
"""

pytest_plugins = ["conformance.plugin"]
