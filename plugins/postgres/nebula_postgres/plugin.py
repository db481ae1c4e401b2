"""Entry point of the postgres plugin (being built; contributes nothing yet)."""

from nebula.api import Manifest

manifest = Manifest(api_version="1.0", description="postgres (in progress)")
