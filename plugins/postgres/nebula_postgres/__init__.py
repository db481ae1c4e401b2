"""The postgres plugin."""
