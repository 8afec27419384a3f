"""Engines Lineup can compare: one module per kind, registered in backends.registry."""
