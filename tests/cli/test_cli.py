"""The technician's commands, run as a technician would: the `kiosk` console script in a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from kiosk.demo.shop import SIMULATED_DEVICES

KIOSK = [sys.executable, "-m", "kiosk"]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, env=env, timeout=240)


def test_sim_sales_then_verify_then_tamper(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES)
    assert run(data, "demo", "init").returncode == 0
    again = run(data, "demo", "init")
    assert again.returncode == 0 and "déjà présente" in again.stdout

    sim = run(data, "sim", "sales", "--count", "200", "--seed", "7")
    assert sim.returncode == 0, sim.stderr
    assert sim.stdout.startswith("200 tickets, total TTC ")

    verify = run(data, "fiscal", "verify")
    assert verify.returncode == 0, verify.stdout
    assert "intègre" in verify.stdout

    conn = sqlite3.connect(data / "kiosk.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER fiscal_record_no_update")
    conn.execute("UPDATE fiscal_record SET total = total + 1000 WHERE journal = 'TICKET' AND seq = 42")
    conn.close()
    tampered = run(data, "fiscal", "verify")
    assert tampered.returncode == 1
    lines = tampered.stdout.splitlines()
    assert "ticket n°42 : signature invalide : contenu modifié après signature" in lines
    assert not any("n°41" in line or "n°43" in line for line in lines)

    as_json = run(data, "fiscal", "verify", "--json")
    assert as_json.returncode == 1 and '"seq": 42' in as_json.stdout
    conn = sqlite3.connect(data / "kiosk.sqlite")
    failures = conn.execute("SELECT COUNT(*) FROM fiscal_record WHERE rtype = 'INTEGRITY_FAILURE'").fetchone()
    assert failures[0] == 2  # each failed check is itself journaled
    conn.close()

    (data / "keys" / "fiscal-ed25519.pem").unlink()
    lost = run(data, "sim", "sales", "--count", "1")
    assert lost.returncode == 2 and "Restaurez-la depuis la sauvegarde" in lost.stderr


def test_sim_refuses_a_real_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "real"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES)
    result = run(data, "sim", "sales", "--count", "1")
    assert result.returncode == 1
    assert "démonstration" in result.stderr


def test_config_check_names_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[shop]\nsiret = "12345"\n[till]\ntimezone = "Mars/Olympus"\ncolour = 3\n')
    result = run(tmp_path, "--config", str(bad), "config", "check")
    assert result.returncode == 2
    assert "shop.siret : attendu un SIRET valide de 14 chiffres, reçu '12345'" in result.stderr
    assert "till.timezone" in result.stderr
    assert "till.colour : clé inconnue" in result.stderr
    assert run(tmp_path, "config", "check").returncode == 0


def test_sim_over_days_closes_as_it_goes_and_reports(tmp_path: Path) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Europe/Paris")).date()  # the till's day, not the machine's

    data = tmp_path / "year"
    data.mkdir()
    (data / "kiosk.toml").write_text(SIMULATED_DEVICES)
    assert run(data, "demo", "init").returncode == 0
    sim = run(data, "sim", "sales", "--count", "150", "--days", "45", "--seed", "3")
    assert sim.returncode == 0, sim.stderr
    assert sim.stdout.startswith("150 tickets")
    verify = run(data, "fiscal", "verify", "--json")
    assert verify.returncode == 0, verify.stdout
    assert '"CLOSURE": ' in verify.stdout  # 44 closed days and the months that ended

    yesterday = (today - timedelta(days=1)).isoformat()
    z = run(data, "report", "z", "--date", yesterday)
    assert z.returncode == 0, z.stderr
    assert "RAPPORT Z - clôture journalière" in z.stdout
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    z_month = run(data, "report", "z", "--date", month, "--format", "json")
    assert z_month.returncode == 0 and '"kind": "MONTH"' in z_month.stdout

    archive = run(data, "fiscal", "archive", "--period", month, "--out", str(tmp_path / "month.zip"))
    assert archive.returncode == 0, archive.stderr
    offline = subprocess.run(
        [sys.executable, "-m", "fiscal.verify", str(tmp_path / "month.zip")], capture_output=True, text=True
    )
    assert offline.returncode == 0, offline.stdout
    assert '"ARCHIVE": 1' in run(data, "fiscal", "verify", "--json").stdout

    x = run(data, "report", "x")
    assert x.returncode == 0 and "RAPPORT X" in x.stdout

    closed = run(data, "fiscal", "close", "day")
    assert closed.returncode == 0, closed.stderr
    again = run(data, "fiscal", "close", "day")
    assert again.returncode == 1 and "déjà clôturée" in again.stderr
