"""The image scan's path with a scanner on PATH: each running container's image handed to
the scanner with the engine in DOCKER_HOST, its report counted by severity, the score not
waiting for it. trivy cannot be installed here (not in Debian's archive, and it downloads
its database), so a stand-in script on PATH prints trivy's documented JSON
(docs/protocols/trivy-grype.md); the engine and the containers are real (Podman)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nebula.testing import installed_plugin
from tests.waiting import eventually

pytestmark = pytest.mark.e2e  # a real Podman engine

REPORT = {"SchemaVersion": 2, "Results": [{"Target": "img (debian 12.5)", "Vulnerabilities": [
    {"VulnerabilityID": "CVE-2024-0001", "Severity": "CRITICAL"},
    {"VulnerabilityID": "CVE-2024-0002", "Severity": "HIGH"},
    {"VulnerabilityID": "CVE-2024-0003", "Severity": "MEDIUM"}]}]}


@pytest.fixture
def trivy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `trivy` on PATH that records how it was called and prints REPORT."""
    calls = tmp_path / "calls"
    script = tmp_path / "bin" / "trivy"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$DOCKER_HOST $*\" >> {calls}\n"
                      f"cat <<'EOF'\n{json.dumps(REPORT)}\nEOF\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    return calls


async def test_running_images_are_scanned_and_counted(nebula_agent, podman, run_container,
                                                      trivy):
    run_container(["sleep", "300"])
    config: dict[str, Any] = {"docker_url": podman.base_url, "scanner": "trivy",
                              "apt_get": "/nonexistent/apt-get",
                              "sshd_config": "/nonexistent/sshd_config"}
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config}, schedule=False) as agent:
        # The score does not wait for a scan: the first one starts in the background.
        score = (await agent.run_action("security.score"))["result"]
        first = next(i for i in score["inputs"] if i["input"] == "vulnerabilities")
        assert "the first image scan is still running" in first["summary"]

        async def scanned() -> dict[str, Any] | None:
            found = (await agent.run_action("security.score"))["result"]
            row = next(i for i in found["inputs"] if i["input"] == "vulnerabilities")
            return row if row["status"] != "unknown" else None

        row = await eventually(scanned, timeout=30)
        [finding] = row["findings"]
        assert finding["reason"] == ("localhost/busybox:test: 1 critical and 1 high "
                                     "vulnerabilities (trivy)")
        assert finding["points"] == 5 and finding["severity"] == "critical"
        [call] = trivy.read_text().splitlines()
        assert call == (f"{podman.base_url} image --quiet --format json --scanners vuln "
                        "--image-src docker localhost/busybox:test")
        check = await agent.run_check("security.vulnerabilities")
        assert check["metrics"]["critical"] == 1 and check["metrics"]["images"] == 1
