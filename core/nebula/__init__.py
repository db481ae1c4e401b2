"""Nebula Command: a host agent whose every feature comes from plugins."""

__version__ = "0.1.0"
