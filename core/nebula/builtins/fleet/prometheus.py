"""What `nebula fleet prometheus-config` writes: the file_sd targets (one per enrolled
host, labelled `nebula_host`), the scrape credentials (the hub's CA to verify the agents,
the scrape certificate and its key, dir 0700 and files 0600: give them to the user
Prometheus runs as), and the scrape job that uses them, for prometheus.yml."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nebula.filemodes import private_dir, write_private


def scrape_job(targets: Path, credentials: Path) -> str:
    return f"""scrape_configs:
  - job_name: nebula-fleet
    scheme: https
    metrics_path: /metrics
    tls_config:
      ca_file: {credentials / "ca.pem"}
      cert_file: {credentials / "scrape.pem"}
      key_file: {credentials / "scrape.key"}
    file_sd_configs:
      - files: [{targets}]
"""


def write_targets(data: dict[str, Any], key: str, out: Path, credentials: Path
                  ) -> dict[str, Any]:
    credentials = credentials.resolve()
    out = out.resolve()
    private_dir(credentials)
    write_private(credentials / "ca.pem", data["ca"])
    write_private(credentials / "scrape.pem", data["certificate"])
    write_private(credentials / "scrape.key", key)
    # Written whole, then renamed: Prometheus watches the file and must never read half.
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(json.dumps(data["targets"], indent=2))
    os.replace(partial, out)
    job = out.with_name(out.stem + "-scrape.yml")
    job.write_text(scrape_job(out, credentials))
    return {"file": str(out), "targets": len(data["targets"]), "credentials": str(credentials),
            "scrape_config": str(job)}
