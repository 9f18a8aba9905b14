"""Derivations: settings + data -> a Solution, the worked steps recorded as data."""
