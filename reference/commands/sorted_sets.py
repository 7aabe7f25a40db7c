"""Handlers of spec/sorted-sets.md."""
from reference.commands import handler  # noqa: F401 (the family registers its handlers with it)
