"""The interfaces' layers (DESIGN.md, "Layers"): the HTTP layer does not import the web
panel (`nebula.server` composes the two), and nothing below the built-in plugins imports
the auth plugin's code, whose users, sessions and pages used to live in http, web and cli."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_builtins import imported_modules

CORE = Path(__file__).resolve().parents[2] / "core" / "nebula"
HTTP = sorted((CORE / "http").glob("*.py"))
BELOW_BUILTINS = sorted([CORE / "config.py", CORE / "plugins.py", CORE / "agent.py",
                         CORE / "manifests.py", CORE / "server.py", CORE / "surfaces.py",
                         CORE / "roles.py", CORE / "views.py", CORE / "tokens.py",
                         *(CORE / "http").glob("*.py"), *(CORE / "web").glob("*.py"),
                         *(CORE / "cli").glob("*.py")])
AUTH_CODE = ("nebula.builtins.auth", "nebula.users", "nebula.http.sessions",
             "nebula.http.api_users", "nebula.web.login", "nebula.web.account",
             "nebula.web.qr", "nebula.cli.user_cmds")


def _name(path: Path) -> str:
    return str(path.relative_to(CORE))


@pytest.mark.parametrize("path", HTTP, ids=_name)
def test_the_http_layer_does_not_import_the_panel(path):
    reached = {m for m in imported_modules(path) if m == "nebula.web"
               or m.startswith("nebula.web.")}
    assert reached == set(), f"{_name(path)} imports the web panel: {reached}"


@pytest.mark.parametrize("path", BELOW_BUILTINS, ids=_name)
def test_nothing_below_the_builtins_imports_the_auth_plugin(path):
    reached = {m for m in imported_modules(path) if m.startswith(AUTH_CODE)}
    assert reached == set(), f"{_name(path)} imports sign-in code: {reached}"
