"""Pilot, snapshot and end-to-end tests of the supervisor TUI."""
