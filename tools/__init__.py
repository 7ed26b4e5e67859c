"""Maintenance scripts for the project itself (not part of the bot)."""
