"""Lightweight groups: every member connected to every other; see docs/protocol.md "Groups"."""
