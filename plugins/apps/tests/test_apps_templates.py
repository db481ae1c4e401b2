"""Templates are data: the shipped ones read and match the format; the owner's folder adds
and replaces templates, and a broken file is named with why, never half-used."""

from __future__ import annotations

import pytest

from nebula_apps import templates
from nebula_apps.plugin import manifest

SHIPPED = {"n8n", "code-server", "vnc-desktop", "static-site", "uptime-kuma", "vaultwarden"}


def test_the_shipped_templates_read_and_match_the_format() -> None:
    catalogue = templates.load(None)
    assert catalogue.problems == {}
    assert set(catalogue.templates) == SHIPPED
    vaultwarden = catalogue.templates["vaultwarden"]
    assert vaultwarden.secrets == {"ADMIN_TOKEN": 48}
    assert vaultwarden.volumes == {"data": "/data"} and vaultwarden.health_path == "/alive"
    assert vaultwarden.database_env == "DATABASE_URL"
    assert manifest.extra == "apps"


def test_the_owners_templates_add_replace_and_broken_ones_are_named(tmp_path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\nimage = "x"\nport = 80\n')
    (tmp_path / "n8n.toml").write_text('name = "n8n"\nimage = "my/n8n:2"\nport = 5678\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nimage = "x"\nport = "eighty"\n')
    (tmp_path / "worse.toml").write_text('name = "worse\n')
    catalogue = templates.load(str(tmp_path))
    assert set(catalogue.templates) == SHIPPED | {"mine"}
    assert catalogue.templates["n8n"].image == "my/n8n:2"
    assert catalogue.problems[str(tmp_path / "bad.toml")] == "port: 'eighty' is not of type " \
                                                             "'integer'"
    assert str(tmp_path / "worse.toml") in catalogue.problems


@pytest.mark.e2e
async def test_the_templates_check_and_action_show_them(start_apps, templates_dir) -> None:
    (templates_dir / "bad.toml").write_text('name = "Bad Name"\nimage = "x"\nport = 1\n')
    async with start_apps() as agent:
        check = await agent.run_check("apps.templates")
        assert check["last_status"] == "warning"
        assert check["summary"].startswith(f"{templates_dir / 'bad.toml'}: name: 'Bad Name' "
                                           "does not match")
        listed = await agent.run_action("apps.templates")
        assert {t["name"] for t in listed["result"]["templates"]} == SHIPPED | {"web"}
        status, body = await agent.post("/api/v1/actions/apps.deploy/run", {"params": {
            "template": "nope", "port": 8080}})
        assert status == 422 and "no template 'nope'" in str(body)
        status, body = await agent.post("/api/v1/actions/apps.deploy/run", {"params": {
            "template": "web", "port": 8080, "domain": "app.example.com"}})
        assert status == 422 and "needs the caddy plugin running" in str(body)
        status, body = await agent.post("/api/v1/actions/apps.deploy/run", {"params": {
            "template": "web", "port": 8080, "database": True}})
        assert status == 422 and "template web takes no database" in str(body)
