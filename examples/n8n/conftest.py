"""The plugin's tests run from a checkout without installing the package: pytest puts the
folder of this conftest (no __init__.py here) on sys.path, so `nebula_n8n` imports from
here, as it would once installed."""
