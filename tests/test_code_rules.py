"""House rules a reviewer would otherwise have to remember: money never touches float; layering holds."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Timings (seconds for sleeps, serial timeouts, UI timers) are the only floats allowed, and only there.
FLOAT_ALLOWED = {
    "kiosk/ui/app.py",
    "drivers/drawer.py",
    "drivers/printer/transports.py",  # transport timeouts
    "drivers/scanner.py",
    "drivers/concert.py",
    "drivers/payment.py",
    "drivers/caisse_ap.py",  # connect, answer and settle timeouts
    "drivers/caisse_ap_sim.py",  # the simulated terminal's think and slow times
    "kiosk/uplink/publisher.py",  # poll, ack and status timings
    "kiosk/uplink/ingest.py",  # batch wait
    "kiosk/cli/uplink.py",  # signal wait
}


def _python_files(*packages: str) -> list[Path]:
    return [p for package in packages for p in sorted((ROOT / package).rglob("*.py"))]


def _float_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"{node.lineno}: float literal {node.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            found.append(f"{node.lineno}: float(...)")
    return found


@pytest.mark.parametrize(
    "path", _python_files("kiosk", "fiscal", "drivers"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_float_in_money_code(path: Path) -> None:
    if str(path.relative_to(ROOT)) in FLOAT_ALLOWED:
        return
    assert _float_uses(path) == []


def test_the_float_detector_detects() -> None:
    sample = ROOT / "tests" / "_float_sample.tmp.py"
    sample.write_text("price = 12.5\ntotal = float('1')\n")
    try:
        assert len(_float_uses(sample)) == 2
    finally:
        sample.unlink()


def _imported_modules(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(result.stdout.split())


def test_fiscal_stands_alone() -> None:
    modules = _imported_modules(
        "import sys, fiscal.journal, fiscal.verify, fiscal.tickets; print(' '.join(sys.modules))"
    )
    assert not {m for m in modules if m == "kiosk" or m.startswith("kiosk.")}
    assert "textual" not in modules


def test_domain_and_drivers_never_import_the_ui() -> None:
    modules = _imported_modules(
        "import sys, kiosk.till, kiosk.sale.checkout, kiosk.receipts.render, kiosk.demo.shop, kiosk.demo.simulation, drivers.printer, "
        "drivers.drawer; print(' '.join(sys.modules))"
    )
    assert "textual" not in modules
    assert not {m for m in modules if m.startswith("kiosk.ui")}
    drivers = _imported_modules("import sys, drivers.printer, drivers.drawer; print(' '.join(sys.modules))")
    assert not {m for m in drivers if m == "kiosk" or m.startswith(("kiosk.", "fiscal"))}


def test_screens_call_services_never_the_journal_or_sql() -> None:
    """NF525 records and SQL are the services' business: a screen that wrote them directly would
    escape the checks (transactions, permissions, anchor) the services apply."""
    offenders = []
    for path in sorted((ROOT / "kiosk" / "ui").rglob("*.py")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.search(r"ledger\.(record_event|append)\(|\.execute_sql\(|\.executemany?\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
