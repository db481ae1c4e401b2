"""Every bundled plugin's config section aimed at a service that is not there: what
bench/footprint.py measures as the idle cost of "every plugin enabled", and what
tests/test_idle_imports.py checks loads no SDK."""

from __future__ import annotations

from pathlib import Path


def plugin_sections(absent: int, root: Path) -> dict[str, str]:
    """Bundled plugins' config sections, each aimed at a service that is not running:
    `absent` is a loopback port held bound without listening (TCP connects are refused;
    nothing answers UDP there either); paths under `root/absent` do not exist. A bundled
    plugin missing here is still enabled by `all` (`enabled_sections`), with its defaults."""
    url = f"http://127.0.0.1:{absent}"
    missing = root / "absent"
    return {
        "system": "[plugins.system]\nenabled = true\n",
        "discordbot": f'[plugins.discordbot]\nhealth_url = "{url}/health"\n',
        "streambot": f'[plugins.streambot]\nhealth_url = "{url}/health"\n',
        "docker": f'[plugins.docker]\nbase_url = "unix://{missing / "docker.sock"}"\n',
        "apps": f'[plugins.apps]\nbase_url = "unix://{missing / "docker.sock"}"\n',
        "caddy": f'[plugins.caddy]\nadmin_url = "{url}"\n',
        "domains": f"""\
[plugins.domains]
hosts = ["www.nebula-bench.invalid"]
resolvers = ["127.0.0.1"]
dns_port = {absent}
https_port = {absent}
http_port = {absent}
""",
        "google": f"""\
[plugins.google]
client_id = "bench-client"
client_secret = "bench-secret"
auth_url = "{url}/auth"
oauth_url = "{url}"
calendar_url = "{url}/calendar/v3"
gmail_url = "{url}/gmail/v1"
drive_url = "{url}/drive/v3"
""",
        "homeassistant": f'[plugins.homeassistant]\nurl = "{url}"\ntoken = "bench-token"\n',
        "logs": f"""\
[plugins.logs]
files = [{{ name = "app", path = "{missing / "app.log"}" }}]
[plugins.logs.containers]
enabled = true
base_url = "unix://{missing / "docker.sock"}"
""",
        "media": f"""\
[plugins.media]
quarantine_dir = "{missing / "quarantine"}"
libraries = [{{ name = "Movies", path = "{missing / "movies"}" }}]
""",
        "nas": f"""\
[plugins.nas]
server = "127.0.0.1"
port = {absent}
username = "bench"
password = "bench-password"
shares = [{{ name = "media" }}]
""",
        "notify": f"""\
[plugins.notify]
[[plugins.notify.channels]]
name = "hook"
type = "webhook"
url = "{url}/hook"
""",
        "plex": f'[plugins.plex]\nurl = "{url}"\ntoken = "bench-token"\n',
        "postgres": f'[plugins.postgres]\nhost = "127.0.0.1"\nport = {absent}\n',
        "ddns": f"""\
[plugins.ddns]
ipv4_services = ["{url}/ip-a", "{url}/ip-b"]
resolvers = ["127.0.0.1"]
dns_port = {absent}
[[plugins.ddns.rfc2136]]
server = "127.0.0.1:{absent}"
zone = "home.nebula-bench.invalid"
key_name = "nebula-bench"
key_secret = "YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA=="
hosts = ["gw.home.nebula-bench.invalid"]
[[plugins.ddns.cloudflare]]
api_token = "bench-token"
api_url = "{url}/client/v4"
hosts = ["cf.nebula-bench.invalid"]
[[plugins.ddns.duckdns]]
token = "bench-token"
update_url = "{url}/update"
hosts = ["nebula-bench"]
""",
        "security": f"""\
[plugins.security]
sshd_config = "{missing / "sshd_config"}"
apt_get = "{missing / "apt-get"}"
reboot_flag = "{missing / "reboot-required"}"
docker_url = "unix://{missing / "docker.sock"}"
""",
        "sunshine": f"""\
[plugins.sunshine]
url = "https://127.0.0.1:{absent}"
username = "bench"
password = "bench-password"
""",
        "advisor": "[plugins.advisor]\nenabled = true\n",
        "network": f"""\
[plugins.network]
resolvers = ["127.0.0.1"]
dns_port = {absent}
gateway = "127.0.0.1"
gateway_method = "tcp"
gateway_port = {absent}
""",
        "zoneedit": f"""\
[plugins.zoneedit]
username = "bench"
token = "bench-token"
hosts = ["home.nebula-bench.invalid"]
ipv4_services = ["{url}/ip-a", "{url}/ip-b"]
update_url = "{url}/update"
resolvers = ["127.0.0.1"]
dns_port = {absent}
""",
    }
