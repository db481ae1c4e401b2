"""What the log says (streaming or idle, encoder errors, failed sessions) and whether the
host is ready to stream (GPU from nvidia-smi or /sys/class/drm, uinput, ports)."""

from __future__ import annotations

import stat
from pathlib import Path

from sunshine_server import Site, SunshineStandIn, log_line
from sunshine_support import fresh_check

from nebula_sunshine.logs import parse

# The lines Sunshine writes when every encoder fails its start-up probe, and when a client
# connects but the stream never starts (docs/protocols/sunshine.md).
ENCODER_FAILURE = [
    log_line("Info", "Trying encoder [nvenc]"),
    log_line("Info", "Encoder [nvenc] failed"),
    log_line("Fatal", "Unable to find display or encoder during startup."),
    log_line("Error", "Video failed to find working encoder"),
]
SESSION_FAILURE = [log_line("Error", "Initial Ping Timeout"),
                   log_line("Error", "Failed to start a streaming session")]


def test_old_and_new_time_formats_parse() -> None:
    summary = parse("[2024:03:09:17:56:02]: Fatal: Unable to find display or encoder\n"
                    "[2026-12-08 10:00:00.123]: Info: New streaming session started "
                    "[active sessions: 2]\nnot a log line\n")
    assert summary.active_sessions == 2 and len(summary.encoder_errors) == 1


async def test_streaming_idle_and_log_errors(start_sunshine, sunshine: SunshineStandIn
                                             ) -> None:
    async with start_sunshine() as agent:
        assert (await fresh_check(agent, "sunshine.streaming"))["summary"] \
            == "idle: nobody is streaming"
        assert (await fresh_check(agent, "sunshine.log_errors"))["last_status"] == "ok"

        sunshine.log += [log_line("Info", "New streaming session started [active sessions: 1]"),
                         log_line("Info", "CLIENT CONNECTED")]
        check = await fresh_check(agent, "sunshine.streaming")
        assert check["summary"] == "streaming: 1 active session"
        assert (await agent.panel("sunshine.session"))["state"] == "streaming"
        sunshine.log.append(log_line("Info", "CLIENT DISCONNECTED"))
        assert (await fresh_check(agent, "sunshine.streaming"))["metrics"][
            "active_sessions"] == 0.0

        sunshine.log += ENCODER_FAILURE + SESSION_FAILURE
        check = await fresh_check(agent, "sunshine.log_errors")
        assert check["last_status"] == "warning"
        assert check["metrics"]["encoder_errors"] == 2.0
        assert check["metrics"]["failed_sessions"] == 2.0
        assert "Video failed to find working encoder" in check["summary"]
        panel = await agent.panel("sunshine.log_errors")
        assert panel[0]["message"] == "Failed to start a streaming session"
        assert panel[0]["kind"] == "session" and panel[-1]["kind"] == "encoder"


def _drm(root: Path) -> Path:
    device = root / "drm" / "card0" / "device"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x1002\n")
    (device / "gpu_busy_percent").write_text("37\n")
    (root / "drm" / "card0-DP-1").mkdir()   # a connector, not a card
    return root / "drm"


async def test_host_readiness_from_sysfs(start_sunshine, sunshine_site: Site,
                                         tmp_path: Path) -> None:
    uinput = tmp_path / "uinput"
    uinput.write_text("")
    # The web UI port is `port_base + 1`: the stand-in's port listens, the others do not.
    async with start_sunshine(local=True, drm_path=str(_drm(tmp_path)),
                              nvidia_smi=str(tmp_path / "no-nvidia-smi"), uinput=str(uinput),
                              port_base=sunshine_site.port - 1) as agent:
        check = await fresh_check(agent, "sunshine.host")
        assert check["metrics"]["gpus"] == 1.0 and check["metrics"]["gpu_load_percent"] == 37
        assert "AMD card0 (load 37%)" in check["summary"] and "uinput writable" in check[
            "summary"]
        # Sunshine answers, yet its HTTPS, HTTP and RTSP ports are not listening here.
        assert check["last_status"] == "warning"
        missing = [sunshine_site.port - 6, sunshine_site.port - 1, sunshine_site.port + 20]
        assert f"TCP ports {missing} are not listening" in check["summary"]

        uinput.unlink()
        check = await fresh_check(agent, "sunshine.host")
        assert "uinput" in check["summary"] and "missing" in check["summary"]
        assert check["metrics"]["uinput_ok"] == 0.0


async def test_host_readiness_from_nvidia_smi(start_sunshine, tmp_path: Path) -> None:
    # No NVIDIA GPU here: a stand-in for the tool answers the query the plugin makes, in
    # nvidia-smi's csv,noheader,nounits format, and refuses any other.
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\n"
                    '[ "$1" = "--query-gpu=name,utilization.gpu,memory.used,memory.total" ] '
                    '&& [ "$2" = "--format=csv,noheader,nounits" ] || exit 9\n'
                    'echo "NVIDIA GeForce RTX 3060, 64, 2048, 12288"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    async with start_sunshine(local=True, nvidia_smi=str(tool),
                              drm_path=str(tmp_path / "none")) as agent:
        check = await fresh_check(agent, "sunshine.host")
        assert "NVIDIA NVIDIA GeForce RTX 3060 (load 64%)" in check["summary"]
        assert check["metrics"]["gpu_load_percent"] == 64.0


async def test_no_gpu_warns(start_sunshine, tmp_path: Path) -> None:
    async with start_sunshine(local=True, nvidia_smi=str(tmp_path / "none"),
                              drm_path=str(tmp_path / "none")) as agent:
        check = await fresh_check(agent, "sunshine.host")
        assert check["last_status"] == "warning"
        assert "no GPU found" in check["summary"]

