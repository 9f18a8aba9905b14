"""Placeholder until branch i13's package lands (it owns this file)."""
