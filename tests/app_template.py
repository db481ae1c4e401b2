"""The apps plugin's template test image as a template: busybox's httpd on the throwaway
Podman engine's local image (no registry). Shared by plugins/apps/tests and
bench/apps_deploy.py."""

from __future__ import annotations

from tests.engines.podman import IMAGE

# busybox's httpd serving the app's volume: the template test image of issue 20.
WEB = f"""
name = "web"
title = "Test web"
image = "{IMAGE}"
command = ["httpd", "-f", "-p", "8080", "-h", "/srv"]
port = 8080
[env]
GREETING = "hello"
[secrets]
TOKEN = 24
[volumes]
site = "/srv"
[healthcheck]
path = "/"
timeout = 20
"""
