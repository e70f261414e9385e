"""Leaves every other layer uses: typed errors, atomic writes, the run-settings dataclass, small image helpers.

Imports nothing else of ours.
"""
