"""The docker plugin."""
