"""Entry point of the docker plugin (being built; contributes nothing yet)."""

from nebula.api import Manifest

manifest = Manifest(api_version="1.0", description="docker (in progress)")
