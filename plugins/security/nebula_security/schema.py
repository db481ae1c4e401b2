"""The `[plugins.security]` config schema and the params of its actions and tools: plain
data, read with the manifest."""

from __future__ import annotations

from nebula.helpers.schema import EMPTY_PARAMS, config_schema, integer, interval, number, string

CONFIG_SCHEMA = config_schema({
    "interval": interval(300, "Seconds between two runs of each check (the score included)."),
    "score_warning": integer(80, "A score below this warns.", maximum=100),
    "score_critical": integer(50, "A score below this is critical.", maximum=100),
    "command_timeout": number(20, "Seconds one host command (sshd -T, apt-get -s) or "
                                  "engine reading may take.", minimum=1, maximum=600),
    "sshd_config": string("/etc/ssh/sshd_config", "The SSH daemon's config file."),
    "sshd_binary": string("sshd", "The SSH daemon (found on PATH and in the sbin dirs)."),
    "apt_get": string("apt-get", "apt-get, for the simulated upgrade."),
    "reboot_flag": string("/var/run/reboot-required",
                                   "The flag packages leave when a reboot is needed."),
    "tls_timeout": number(5, "Seconds for one TLS handshake.", minimum=0.5, maximum=60),
    "tls_addresses": {"type": "object", "default": {},
                      "additionalProperties": {"type": "string", "minLength": 1},
                      "description": "Where to reach a domain instead of resolving its name "
                                     "(split horizon): { \"app.example.com\" = "
                                     "\"192.168.1.10\" }."},
    "docker_url": string("", "Container engine address (default: the docker plugin's, "
                             "else DOCKER_HOST, else the default socket)."),
    "image_max_age_days": number(90, "An image built longer ago than this loses a point.",
                                 minimum=1),
    "failed_logins_hours": number(24, "Hours of failed logins counted.", minimum=1,
                                  maximum=720),
    "failed_logins_warning": integer(10, "Failed logins (per source) within those hours "
                                         "that lose points.", minimum=1),
    "scanner": {"enum": ["auto", "trivy", "grype"], "default": "auto",
                "description": "Vulnerability scanner for images (auto: trivy, else grype)."},
    "scan_interval": interval(86400, "Seconds between two image scans.", minimum=60),
    "scan_timeout": number(600, "Seconds one image scan may take.", minimum=10,
                           maximum=7200),
})

FIX_PARAMS = EMPTY_PARAMS
SCORE_PARAMS = EMPTY_PARAMS
INPUT_PARAMS = {"type": "object", "additionalProperties": False, "required": ["input"],
                "properties": {"input": {"enum": ["exposure", "tls", "ssh", "updates",
                                                  "containers", "logins", "agent",
                                                  "vulnerabilities"],
                                         "description": "Which input of the score."}}}
