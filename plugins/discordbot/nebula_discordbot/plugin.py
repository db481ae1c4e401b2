"""Entry point of the discordbot plugin: its manifest (placeholder until the plugin is built)."""

from nebula.api import Manifest

manifest = Manifest(api_version="1.0", description="discordbot (in progress)")
