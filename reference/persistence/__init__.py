"""Persistence: files in Redis 7.0's own formats."""
