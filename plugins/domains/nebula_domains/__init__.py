"""The domains plugin."""
