"""The zoneedit plugin."""
