"""Known vulnerabilities in the running containers' images, counted by severity with
`trivy` or `grype` when one is installed on the host. Neither is: the check is unknown and
says how to get one; it never reports "no vulnerabilities" for images nobody scanned.

Both scanners read the images from the engine the containers check reads (`DOCKER_HOST`),
one image at a time, each under `scan_timeout`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from nebula.api import PluginContext, Status
from nebula_security import commands
from nebula_security.containers import read_engine, url_of
from nebula_security.findings import Assessment, Finding, assess, not_applicable, unknown

SCANNERS = ("trivy", "grype")
INSTALL = ("install trivy (trivy.dev; Aqua's own apt repository) or grype "
           "(github.com/anchore/grype): neither is in Debian's archive")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


def scanner(config: Mapping[str, Any]) -> tuple[str, str] | None:
    names = SCANNERS if config["scanner"] == "auto" else (config["scanner"],)
    for name in names:
        path = commands.find(name)
        if path is not None:
            return name, path
    return None


def argv(name: str, path: str, image: str) -> list[str]:
    if name == "trivy":
        return [path, "image", "--quiet", "--format", "json", "--scanners", "vuln",
                "--image-src", "docker", image]
    return [path, "-q", "-o", "json", f"docker:{image}"]


def count(name: str, text: str) -> Counter[str]:
    data = json.loads(text or "{}")
    found: Counter[str] = Counter()
    if name == "trivy":
        # Trivy before 0.20 printed the list of results itself, not {"Results": [...]}.
        results = data if isinstance(data, list) else data.get("Results") or []
        for result in results:
            for vuln in result.get("Vulnerabilities") or []:
                found[str(vuln.get("Severity", "UNKNOWN")).upper()] += 1
    else:
        for match in data.get("matches") or []:
            found[str((match.get("vulnerability") or {}).get("severity",
                                                          "UNKNOWN")).upper()] += 1
    return found


async def assess_vulnerabilities(ctx: PluginContext) -> Assessment:
    found = scanner(ctx.config)
    if found is None:
        wanted = "trivy nor grype" if ctx.config["scanner"] == "auto" else ctx.config["scanner"]
        return unknown("vulnerabilities", f"neither {wanted} is installed, so no image "
                       "was scanned" if "nor" in wanted else f"{wanted} is not installed",
                       INSTALL)
    name, path = found
    containers = await read_engine(ctx)
    if isinstance(containers, Assessment):
        return not_applicable("vulnerabilities", containers.summary) \
            if containers.status is Status.OK else containers
    images = sorted({c.image for c in containers})
    engine = {"DOCKER_HOST": url_of(ctx)}
    totals: Counter[str] = Counter()
    findings = []
    for image in images:
        out = await commands.run(argv(name, path, image), ctx.config["scan_timeout"],
                                 engine)
        if out.code != 0:
            problem = (out.stderr.strip().splitlines() or ["no output"])[-1]
            findings.append(Finding(2, f"{name} could not scan {image}: {problem}",
                                    f"run `{name} image {image}` by hand to see why",
                                    Status.UNKNOWN))
            continue
        counts = count(name, out.stdout)
        totals.update(counts)
        if counts["CRITICAL"]:
            findings.append(Finding(5, f"{image}: {counts['CRITICAL']} critical and "
                                       f"{counts['HIGH']} high vulnerabilities ({name})",
                                    f"pull a fixed release of {image} and recreate its "
                                    "containers", Status.CRITICAL))
        elif counts["HIGH"]:
            findings.append(Finding(3, f"{image}: {counts['HIGH']} high vulnerabilities "
                                       f"({name})", f"pull a fixed release of {image} and "
                                                    "recreate its containers"))
    summary = ", ".join(f"{totals[s]} {s.lower()}" for s in SEVERITIES)
    return assess("vulnerabilities", findings,
                  f"{len(images)} images scanned with {name}: {summary}",
                  {**{s.lower(): float(totals[s]) for s in SEVERITIES},
                   "images": float(len(images))})
