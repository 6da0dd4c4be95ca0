"""Cold start: fresh Python process → login screen mounted and painted, through the real `kiosk` entry point.

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 7]

A demo data directory (simulated printer and drawer) is made once with `python -m kiosk demo init`.
Each run spawns a fresh interpreter that calls `kiosk.cli.main.main(["--data-dir", DIR])` — the same
path as the `kiosk` command, so whatever it sets up (ESCPOS_CAPABILITIES_PICKLE_DIR...) is measured —
with `App.run` patched to run headless and to exit as soon as the LoginScreen is mounted and its first
frame composed. The clock starts in the parent just before spawning (CLOCK_MONOTONIC is system-wide),
so interpreter start-up and imports are included. One warm-up run is not counted (it also fills the
escpos capabilities cache). Peak RSS is the child's own (os.wait4 rusage ru_maxrss = VmHWM).
Targets: median ≤ 1.5 s, peak RSS ≤ 120 MB. Floors: `python -c "pass"` and `python -c "import textual"`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Not imported from kiosk.demo: the parent must stay small, since a forked child's peak RSS counts the
# parent's pages until exec.
SIMULATED_DEVICES = '[devices.printer]\nbackend = "simulated"\n[devices.drawer]\nbackend = "simulated"\n'

TARGET_S = 1.5
TARGET_RSS_MB = 120.0

# Runs in the child. BENCH_T0 is the parent's time.monotonic() just before the spawn.
DRIVER = r"""
import os, sys, time
T0 = float(os.environ["BENCH_T0"])
from textual.app import App

_run = App.run
_display = App._display


def _watched_display(self, screen, renderable):
    _display(self, screen, renderable)
    if renderable is not None and type(screen).__name__ == "LoginScreen" and screen.is_mounted:
        if not getattr(self, "_bench_ready", None):
            self._bench_ready = time.monotonic() - T0


def _headless_run(self, *args, **kwargs):
    import asyncio

    async def auto_pilot(pilot):
        while not getattr(self, "_bench_ready", None):
            await asyncio.sleep(0.001)
        print(f"READY {self._bench_ready:.6f}", flush=True)
        self.exit()

    return _run(self, headless=True, size=(120, 40), auto_pilot=auto_pilot)


App._display = _watched_display
App.run = _headless_run
from kiosk.cli.main import main

rc = main(["--data-dir", os.environ["BENCH_DATA_DIR"]])
print("ESCPOS_CAPABILITIES_PICKLE_DIR", os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR", "<unset>"), flush=True)
sys.exit(rc)
"""


def spawn(argv: list[str], env: dict[str, str], timeout: float = 60.0) -> tuple[float, float, int, str]:
    """Run a child; returns (seconds from spawn to exit, peak RSS in MB, exit code, stdout)."""
    env = dict(env, BENCH_T0=repr(time.monotonic()))
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        assert proc.stdout is not None
        out = proc.stdout.read().decode("utf-8", "replace")
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0 or elapsed > timeout:
            err.seek(0)
            raise RuntimeError(f"{argv[:3]} exited {proc.returncode}:\n{err.read().decode()[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, out


def ready_time(out: str) -> float:
    for line in out.splitlines():
        if line.startswith("READY "):
            return float(line.split()[1])
    raise RuntimeError(f"the child never reported the login screen:\n{out[-2000:]}")


def import_profile(python: str, env: dict[str, str], top: int) -> list[tuple[int, str]]:
    """Slowest top-level imports (cumulative µs) of one extra cold start, from `python -X importtime`."""
    env = dict(env, BENCH_T0=repr(time.monotonic()))
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", DRIVER], env=env, capture_output=True, timeout=60
    )
    rows = []
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.startswith("  "):  # top-level imports only (nested ones are indented further)
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    python = sys.executable
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        (data_dir / "kiosk.toml").write_text(SIMULATED_DEVICES, "utf-8")
        child_tmp = Path(tmp) / "tmp"  # the children's TMPDIR: whatever they leave in it is counted
        child_tmp.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
        env.update(BENCH_DATA_DIR=str(data_dir), TMPDIR=str(child_tmp))
        spawn([python, "-m", "kiosk", "--data-dir", str(data_dir), "demo", "init"], env)

        warm_total, warm_rss, _rc, warm_out = spawn([python, "-c", DRIVER], env)
        warm_ready = ready_time(warm_out)
        ready, totals, rss = [], [], []
        pickle_dir = "<unknown>"
        for _ in range(args.runs):
            total, peak, _rc, out = spawn([python, "-c", DRIVER], env)
            ready.append(ready_time(out))
            totals.append(total)
            rss.append(peak)
            for line in out.splitlines():
                if line.startswith("ESCPOS_CAPABILITIES_PICKLE_DIR "):
                    pickle_dir = line.split(" ", 1)[1]
        left_in_tmp = len(list(child_tmp.iterdir()))

        floors = {}
        for label, code in (("python -c pass", "pass"), ("python -c 'import textual'", "import textual")):
            spawn([python, "-c", code], env)
            floors[label] = [spawn([python, "-c", code], env) for _ in range(args.runs)]
        slow_imports = import_profile(python, env, top=6)

    median_ready = statistics.median(ready)
    peak_rss = max(rss)
    print(f"cold start runs: {args.runs} (+1 warm-up), python {sys.version.split()[0]}, simulated devices")
    print(
        f"cold start to login screen painted, median: {median_ready:.3f} s  target <= {TARGET_S} s  "
        f"{'PASS' if median_ready <= TARGET_S else 'MISS'}"
    )
    print(f"cold start to login screen painted, min/max: {min(ready):.3f} / {max(ready):.3f} s")
    print(f"cold start, whole process (incl. exit and till.stop), median: {statistics.median(totals):.3f} s")
    print(f"warm-up run (first start on the data dir) to login screen: {warm_ready:.3f} s (info)")
    print(
        f"peak RSS of the child (max of {args.runs}): {peak_rss:.1f} MB  target <= {TARGET_RSS_MB:.0f} MB  "
        f"{'PASS' if peak_rss <= TARGET_RSS_MB else 'MISS'}"
    )
    print(f"peak RSS of the child, median: {statistics.median(rss):.1f} MB (warm-up run {warm_rss:.1f} MB)")
    for label, runs in floors.items():
        print(
            f"floor {label}, median: {statistics.median(r[0] for r in runs):.3f} s, "
            f"peak RSS {statistics.median(r[1] for r in runs):.1f} MB"
        )
    print(f"child ESCPOS_CAPABILITIES_PICKLE_DIR: {pickle_dir}")
    print(f"entries left in the children's TMPDIR after {args.runs + 1} starts: {left_in_tmp}")
    print(
        "slowest top-level imports of one cold start (cumulative): "
        + ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in slow_imports)
    )
    print(f"wall time: {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
