"""Entry point of the domains plugin (being built; contributes nothing yet)."""

from nebula.api import Manifest

manifest = Manifest(api_version="1.0", description="domains (in progress)")
