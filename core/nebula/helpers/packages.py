"""For a plugin that imports its SDK where it is first needed rather than in its hooks module
(so an enabled plugin whose service is absent does not carry it): `require("docker")` at the
top of the hooks module keeps what a top-level import gave, a plugin that fails to start
naming its extra ("install nebula-command[docker]") when the package is not installed.

    from nebula.helpers.packages import require
    require("docker")          # found on the path; nothing is imported
"""

from __future__ import annotations

import importlib.util


def require(*packages: str) -> None:
    """ModuleNotFoundError (with `name`, as an import raises it) for the first of these
    top-level packages that is not installed. Finds them without importing them."""
    for name in packages:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
