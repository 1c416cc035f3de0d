"""The master and two stock workers on three hosts: network namespaces joined by a bridge.

The test makes the namespaces itself (``ip netns``, veth pairs, a bridge in the master's
namespace, 10.231.0.0/24), so the workers' traffic, to the master and to the service, really
crosses an interface. Needs root (CI runs as root); skipped with the reason elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.opsctl.gates.load.conftest import FIXTURES, load_section, write_project

pytestmark = pytest.mark.slow

MASTER_IP = "10.231.0.1"
MASTER_PORT = 5557
SERVICE_SCRIPT = FIXTURES / "service.py"


@dataclass
class Hosts:
    master: str
    workers: list[str]  # namespace names; worker i has address 10.231.0.(i + 2)

    def run(self, namespace: str, command: list[str], **options: object) -> subprocess.Popen[str]:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            ["ip", "netns", "exec", namespace, *command], text=True, **options
        )


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, timeout=10)


def _why_not() -> str | None:
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) to make network namespaces"
    if os.geteuid() != 0:
        return "making network namespaces needs root (CI runs as root)"
    probe = f"ocprobe{os.getpid() % 100000}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError) as error:
        return f"cannot create a network namespace here: {error}"
    _ip("netns", "del", probe)
    return None


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    reason = _why_not()
    if reason is not None:
        pytest.skip(reason)
    tag = str(os.getpid() % 100000)
    made = Hosts(master=f"ocm{tag}", workers=[f"ocw1{tag}", f"ocw2{tag}"])
    try:
        for name in (made.master, *made.workers):
            _ip("netns", "add", name)
            _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", made.master, "link", "add", "br0", "type", "bridge")
        _ip("-n", made.master, "addr", "add", f"{MASTER_IP}/24", "dev", "br0")
        _ip("-n", made.master, "link", "set", "br0", "up")
        for index, name in enumerate(made.workers):
            near, far = f"ocv{index}{tag}", f"ocp{index}{tag}"  # 15 characters at most
            _ip("link", "add", near, "type", "veth", "peer", "name", far)
            _ip("link", "set", near, "netns", made.master)
            _ip("link", "set", far, "netns", name)
            _ip("-n", made.master, "link", "set", near, "master", "br0")
            _ip("-n", made.master, "link", "set", near, "up")
            _ip("-n", name, "addr", "add", f"10.231.0.{index + 2}/24", "dev", far)
            _ip("-n", name, "link", "set", far, "up")
        yield made
    finally:
        for name in (made.master, *made.workers):  # deleting a namespace deletes its veths
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.fixture
def service(hosts: Hosts) -> Iterator[str]:
    served = hosts.run(
        hosts.master, [sys.executable, str(SERVICE_SCRIPT), MASTER_IP, "8080"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert served.stdout is not None
    url = served.stdout.readline().strip()
    try:
        yield url
    finally:
        _stop([served])


def _clients(hosts: Hosts, url: str) -> dict[str, int]:
    read = f"import urllib.request; print(urllib.request.urlopen('{url}/clients').read().decode())"
    done = subprocess.run(
        ["ip", "netns", "exec", hosts.master, sys.executable, "-c", read],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    counts: dict[str, int] = json.loads(done.stdout)
    return counts


def _project(tmp_path: Path, url: str) -> Path:
    section = load_section(
        "cycle.py", rate=40, duration="4s", workers=0, expect_workers=2,
        expect_workers_max_wait="30s", master_bind=f"{MASTER_IP}:{MASTER_PORT}",
    )  # fmt: skip
    return write_project(tmp_path, url, section)


def _workers(hosts: Hosts) -> list[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "locust", "-f", str(FIXTURES / "cycle.py"), "--worker",
               "--master-host", MASTER_IP, "--master-port", str(MASTER_PORT)]  # fmt: skip
    return [
        hosts.run(name, command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in hosts.workers
    ]


def _verify(hosts: Hosts, config: Path, report: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "opsctl", "--config", str(config), "verify", "load",
               "--env", "fixture", "--json", str(report)]  # fmt: skip
    return hosts.run(hosts.master, command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _run(
    hosts: Hosts, service: str, tmp_path: Path, *, kill_a_worker: bool = False
) -> tuple[int, str, dict[str, Any]]:
    """``opsctl verify load`` in the master's namespace with both workers; its exit and gate."""
    report = tmp_path / "verify.json"
    verify = _verify(hosts, _project(tmp_path, service), report)
    workers = _workers(hosts)
    try:
        if kill_a_worker:
            deadline = time.monotonic() + 60
            while len(_clients(hosts, service)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)  # until both worker hosts send
            time.sleep(1.5)  # into the measured window
            workers[1].kill()
        output, _ = verify.communicate(timeout=120)
    finally:
        _stop([verify, *workers])
    gate: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))["gates"][0]
    return verify.returncode, output, gate


def test_two_workers_on_other_hosts_load_the_service_through_the_master(
    hosts: Hosts, service: str, tmp_path: Path
) -> None:
    code, output, gate = _run(hosts, service, tmp_path)
    assert code == 0, output
    assert gate["status"] == "passed"
    clients = _clients(hosts, service)
    # every request came over the bridge, from both worker hosts, about half each
    assert set(clients) == {"10.231.0.2", "10.231.0.3"}, clients
    assert min(clients.values()) >= 0.4 * sum(clients.values())


def test_a_worker_host_lost_mid_run_makes_the_gate_incomplete_naming_it(
    hosts: Hosts, service: str, tmp_path: Path
) -> None:
    code, output, gate = _run(hosts, service, tmp_path, kill_a_worker=True)
    assert code == 3, output
    assert gate["status"] == "incomplete"
    lost = [reason for reason in gate["reasons"] if "its partial data is left out" in reason]
    assert len(lost) == 1, gate["reasons"]
    assert lost[0].startswith(("worker 0 (", "worker 1 (")), lost
