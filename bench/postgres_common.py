"""What the postgres benchmarks share: a throwaway cluster (the tests' own) and an agent
running the postgres plugin against it, in this process so its RSS can be read."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nebula_postgres.plugin
from nebula.config import load
from nebula.testing import RunningAgent, run_agent, write_config
from tests.engines.postgres import Cluster

__all__ = ["Cluster", "postgres_agent"]


@contextlib.asynccontextmanager
async def postgres_agent(cluster: Cluster, **config: Any) -> AsyncIterator[RunningAgent]:
    with tempfile.TemporaryDirectory(prefix="nebula-bench-") as root:
        path = write_config(Path(root) / "nebula.toml",
                            plugins={"postgres": cluster.config(**config)})
        async with run_agent(load(path), {"postgres": nebula_postgres.plugin},
                             schedule=False) as agent:
            yield agent
