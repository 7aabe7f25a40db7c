"""Handlers of spec/connection.md."""
from reference.commands import handler
