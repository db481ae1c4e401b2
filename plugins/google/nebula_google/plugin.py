"""Entry point of the google plugin: its manifest (placeholder until the plugin is built)."""

from nebula.api import Manifest

manifest = Manifest(api_version="1.0", description="google (in progress)")
