"""docs/verify_independent.py, the auditor's standalone checker (stdlib + cryptography, no fiscal/ nor
kiosk/), run on a demo data directory made with the CLI, on its archive, and on tampered copies."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fiscal.keys import public_pem
from fiscal.tickets import record_ticket
from kiosk.demo.shop import SIMULATED_DEVICES
from kiosk.till import Till

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "verify_independent.py"
# Runs the script as `python3 verify_independent.py …` would, then says which modules it loaded.
RUNNER = """
import runpy, sys
script, *args = sys.argv[1:]
sys.argv = [script, *args]
try:
    runpy.run_path(script, run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
print("MODULES", *sorted({m.split(".")[0] for m in sys.modules}))
sys.exit(code)
"""


def _kiosk(data_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", *map(str, args)], capture_output=True, text=True, env=env, timeout=240
    )
    assert result.returncode == 0, result.stderr
    return result


def _verify(source: Path, *args: str | Path) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(SCRIPT), str(source), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=source.parent,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    modules = set(lines.pop().split()[1:])
    assert not modules & {"fiscal", "kiosk", "nacl", "lxml", "signxml", "peewee"}, modules
    return result.returncode, lines


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo shop with three days of sales (refunds, discounts, day closures), made with the CLI."""
    data = tmp_path_factory.mktemp("demo") / "boutique"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES, "utf-8")
    _kiosk(data, "demo", "init")
    _kiosk(data, "sim", "sales", "--count", "80", "--days", "3", "--seed", "11")
    return data


def _copy(demo: Path, target: Path) -> Path:
    shutil.copytree(demo, target)
    return target


def _sql(data: Path, *statements: str) -> None:
    conn = sqlite3.connect(data / "kiosk.sqlite", isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_a_demo_data_dir_and_its_archive_are_intact(demo: Path, tmp_path: Path) -> None:
    code, lines = _verify(demo)
    assert code == 0, lines
    assert lines[-1].startswith("VERDICT : intègre — ") and "ticket 80" in lines[-1]
    counts = sqlite3.connect(demo / "kiosk.sqlite").execute(
        "SELECT COUNT(*), SUM(rtype = 'RETURN') FROM fiscal_record WHERE journal = 'TICKET'"
    )
    tickets, returns = counts.fetchone()
    assert tickets == 80 and returns > 0  # refunds (negative tickets) are recomputed too

    data = _copy(demo, tmp_path / "archivee")
    pubkey = tmp_path / "cle-publiee.pem"
    _kiosk(data, "fiscal", "export-key", "--out", pubkey)
    month = sqlite3.connect(data / "kiosk.sqlite").execute("SELECT MAX(substr(day, 1, 7)) FROM fiscal_record")
    archive = tmp_path / "archive.zip"
    _kiosk(data, "fiscal", "archive", "--period", month.fetchone()[0], "--out", archive)
    code, lines = _verify(archive, "--pubkey", pubkey)
    assert code == 0, lines
    assert lines[-1].startswith("VERDICT : intègre") and lines[-1].endswith("; clé publiée")
    code, lines = _verify(data, "--pubkey", pubkey)
    assert code == 0 and lines[-1].endswith("; clé publiée")


def test_a_tampered_ticket_is_named(demo: Path, tmp_path: Path) -> None:
    data = _copy(demo, tmp_path / "modifiee")
    _sql(
        data,
        "DROP TRIGGER fiscal_record_no_update",
        "UPDATE fiscal_record SET total = total - 100, body = replace(body, '\"total\":', '\"total\":-100+') "
        "WHERE journal = 'TICKET' AND seq = 17",
        "UPDATE fiscal_record SET total = total + 1 WHERE journal = 'TICKET' AND seq = 42",
    )
    code, lines = _verify(data)
    assert code == 1
    assert "ticket n°17 : signature invalide (contenu modifié après signature)" in lines
    assert "ticket n°17 : contenu illisible" in lines  # "-100+…" is not JSON any more
    assert "ticket n°42 : signature invalide (contenu modifié après signature)" in lines
    assert any(line.startswith("ticket n°42 : colonne total ") for line in lines)
    assert not [line for line in lines if re.match(r"ticket n°(16|18|41|43) ", line)]  # the chain holds
    assert lines[-1].startswith("VERDICT : NON INTÈGRE — ")


def test_deleted_last_tickets_and_a_foreign_key(demo: Path, tmp_path: Path) -> None:
    data = _copy(demo, tmp_path / "tronquee")
    last = sqlite3.connect(data / "kiosk.sqlite").execute(
        "SELECT MAX(seq) FROM fiscal_record WHERE journal = 'TICKET'"
    )
    seq = last.fetchone()[0]
    _sql(
        data,
        "DROP TRIGGER fiscal_record_no_delete",
        f"DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq = {seq}",
    )
    code, lines = _verify(data)
    assert code == 1 and any(line.startswith(f"ticket n°{seq} : absent ou différent") for line in lines)

    other = tmp_path / "autre.pem"
    other.write_text(public_pem(Ed25519PrivateKey.generate().public_key()), "ascii")
    code, lines = _verify(demo, "--pubkey", other)
    assert code == 1 and any("n'est pas celle des données" in line for line in lines)
    assert "ticket n°1 : signature invalide (clé inconnue)" in lines


def test_vat_is_recomputed_from_the_lines(demo: Path, tmp_path: Path) -> None:
    """A ticket whose VAT adds up (HT + TVA = TTC) but is not TTC / (1 + rate) rounded half up: signed
    as it is, the till's own checks let it through; the independent recomputation does not."""
    data = _copy(demo, tmp_path / "tva")
    till = Till.open(data)
    body = {
        "kind": "SALE",
        "lines": [{"ref": "LIBRE", "label": "Divers", "qty": "1", "unit": 1000, "vat": 2000, "amount": 1000}],
        "vat": [{"rate": 2000, "ht": 800, "tva": 200, "ttc": 1000}],  # 10,00 € TTC at 20 % is 8,33 HT
        "total": 1000,
        "tenders": [{"type": "cash", "amount": 1000}],
        "change": 0,
        "discount": {"amount": 0},
    }
    with till.db.atomic():
        record = record_ticket(till.ledger, till.db.connection(), body)
    till.db.close()
    code, lines = _verify(data)
    assert code == 1
    assert [line for line in lines if line.startswith(f"ticket n°{record.seq} ")] == [
        f"ticket n°{record.seq} : TVA {{2000: (800, 200, 1000)}} ≠ recalcul {{2000: (833, 167, 1000)}} "
        "(taux : (HT, TVA, TTC) en centimes)"
    ]


def test_an_edited_archive_is_named(demo: Path, tmp_path: Path) -> None:
    data = _copy(demo, tmp_path / "archive-modifiee")
    day = sqlite3.connect(data / "kiosk.sqlite").execute(
        "SELECT MIN(day) FROM fiscal_record WHERE journal='TICKET'"
    )
    archive = tmp_path / "jour.zip"
    _kiosk(data, "fiscal", "archive", "--period", day.fetchone()[0], "--out", archive)
    with zipfile.ZipFile(archive) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    xml = members["records.xml"]
    found = re.search(rb"<seq>(\d+)</seq>\s*<rtype>SALE</rtype>.*?<total>(\d+)</total>", xml, re.S)
    assert found is not None
    members["records.xml"] = xml[: found.start(2)] + b"1" + xml[found.start(2) :]
    forged = tmp_path / "forgee.zip"
    with zipfile.ZipFile(forged, "w") as zout:
        for name, content in members.items():
            zout.writestr(name, content)
    code, lines = _verify(forged)
    seq = int(found.group(1))
    assert code == 1
    assert f"ticket n°{seq} : signature invalide (contenu modifié après signature)" in lines
