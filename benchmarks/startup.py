"""Start-up time of ``opsctl --help`` and ``opsctl --version``, as a ratio to ``import typer``.

Each command runs as a fresh process (``python -c ...`` with the same interpreter), several
times, interleaved with the baseline so machine load affects both alike; the script prints the
median wall time of each and its ratio to the baseline's median (target: < 1.5), and the same
for CPU time (user + system of the child), which a busy machine disturbs less.

Run: .venv/bin/python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BASELINE = "import typer"
COMMANDS = {
    "opsctl --help": "import sys; sys.argv = ['opsctl', '--help']; "
    "from opsctl.cli import main; main()",
    "opsctl --version": "import sys; sys.argv = ['opsctl', '--version']; "
    "from opsctl.cli import main; main()",
}


def _time_once(code: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``python -c code``."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    _pid, _status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = 0  # reaped by wait4 above
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    baseline_name = "python -c 'import typer'"
    programs = {baseline_name: BASELINE, **COMMANDS}
    wall: dict[str, list[float]] = {name: [] for name in programs}
    cpu: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(2):  # warm the file cache and .pyc files
        for code in programs.values():
            _time_once(code)
    for _ in range(runs):
        for name, code in programs.items():
            elapsed, used = _time_once(code)
            wall[name].append(elapsed)
            cpu[name].append(used)
    wall_base = statistics.median(wall[baseline_name])
    cpu_base = statistics.median(cpu[baseline_name])
    print(f"{'command':<28}{'wall':>10}{'ratio':>8}{'cpu':>10}{'ratio':>8}   ({runs} runs each)")
    for name in programs:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        wall_text = f"{w * 1000:>8.1f}ms{w / wall_base:>8.2f}"
        print(f"{name:<28}{wall_text}{c * 1000:>8.1f}ms{c / cpu_base:>8.2f}")


if __name__ == "__main__":
    main()
