"""Handlers of spec/server.md."""
from reference.commands import handler
