"""Handlers of spec/generic.md."""
from reference.commands import handler
