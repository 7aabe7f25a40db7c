"""Handlers of spec/strings.md."""
from reference.commands import handler
