"""The score's arithmetic and the scanners' report formats: findings counted worst first and
capped at their input's weight, an unknown input losing its weight, every lost point in
the explanation; trivy's and grype's JSON as documented (docs/protocols/trivy-grype.md;
neither scanner can run here)."""

from __future__ import annotations

import json

from nebula.api import Status
from nebula_security.exposure import listener_finding
from nebula_security.findings import WEIGHTS, Finding, assess, combine, explain, unknown
from nebula_security.vulns import count


def test_findings_are_counted_worst_first_up_to_the_weight():
    found = assess("ssh", [Finding(5, "passwords", "a"),
                           Finding(10, "empty passwords", "b", Status.CRITICAL),
                           Finding(6, "root", "c", Status.CRITICAL)], "clean")
    assert [(f.reason, f.points) for f in found.findings] == [
        ("empty passwords", 10), ("root", 5), ("passwords", 0)]
    assert found.lost == WEIGHTS["ssh"] == 15 and found.status is Status.CRITICAL
    assert found.summary == "empty passwords (+2 more)"


def test_an_unknown_input_loses_its_weight_and_the_score_adds_up():
    parts = [unknown("vulnerabilities", "no scanner", "install one"),
             assess("logins", [Finding(3, "guessing", "totp")], "clean"),
             assess("tls", [], "all good")]
    score = combine(parts)
    assert score.value == 100 - 10 - 3 == 87
    lines = explain(score)
    assert lines == ["-10 vulnerabilities: not assessed: no scanner. Fix: install one",
                     "-3 logins: guessing. Fix: totp"]
    assert parts[2].status is Status.OK and parts[2].summary == "all good"


def test_a_container_listener_is_told_to_publish_on_loopback():
    row = {"proto": "tcp", "address": "0.0.0.0", "port": 5432, "scope": "all", "pid": 812,
           "process": "postgres", "cmdline": "postgres -D /var/lib/postgresql password=s3",
           "container": "db", "expected": False}
    finding = listener_finding(row, lambda text: text.replace("s3", "***"))
    assert finding.points == 10
    assert finding.reason.startswith("container db (postgres) (pid 812) listens on "
                                     "0.0.0.0:5432/tcp, reachable from every network")
    assert "password=***" in finding.reason and "s3" not in finding.reason
    assert finding.fix.startswith("publish it on loopback only (`-p 127.0.0.1:5432:…`)")
    assert '`{ port = 5432, proto = "tcp" }` to expected_ports' in finding.fix
    lan = listener_finding({**row, "scope": "lan", "address": "192.168.1.5"}, str)
    assert lan.points == 5 and "reachable from the LAN" in lan.reason


def test_trivy_reports_old_and_new():
    new = {"SchemaVersion": 2, "Results": [
        {"Target": "img (debian 12.5)", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-1", "Severity": "CRITICAL"},
            {"VulnerabilityID": "CVE-2", "Severity": "HIGH"},
            {"VulnerabilityID": "CVE-3", "Severity": "HIGH"}]},
        {"Target": "app/package-lock.json"}]}
    assert count("trivy", json.dumps(new)) == {"CRITICAL": 1, "HIGH": 2}
    old = [{"Target": "img", "Vulnerabilities": [{"Severity": "LOW"}]},
           {"Target": "x", "Vulnerabilities": None}]
    assert count("trivy", json.dumps(old)) == {"LOW": 1}


def test_grype_report():
    report = {"matches": [{"vulnerability": {"id": "CVE-1", "severity": "Critical"},
                           "artifact": {"name": "openssl"}},
                          {"vulnerability": {"id": "CVE-2", "severity": "Negligible"},
                           "artifact": {"name": "tar"}}]}
    assert count("grype", json.dumps(report)) == {"CRITICAL": 1, "NEGLIGIBLE": 1}
