"""Deleting the last tickets with sqlite3 is seen by whichever command opens the journals next: the
detection is journaled, `kiosk fiscal verify` fails naming the missing numbers until a manager
acknowledges them with `kiosk fiscal acknowledge`, after which verify reports the acknowledged gap."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kiosk.cli.main import ALERT_EXIT, main

WRITING_COMMANDS = {
    "sim sales": (["sim", "sales", "--count", "1", "--seed", "2"], ALERT_EXIT),
    "receipt reprint": (["receipt", "reprint", "2"], ALERT_EXIT),
    "fiscal close": (["fiscal", "close", "day"], ALERT_EXIT),
    # without a broker the command stops at its configuration check, after the journals were opened
    "uplink run": (["uplink", "run"], 2),
}


def kiosk(data_dir: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def delete_last_tickets(data_dir: Path, count: int) -> None:
    """What someone with a shell does: drop the append-only trigger and delete the tail."""
    conn = sqlite3.connect(data_dir / "kiosk.sqlite")
    conn.execute("DROP TRIGGER fiscal_record_no_delete")
    (last,) = conn.execute("SELECT MAX(seq) FROM fiscal_record WHERE journal = 'TICKET'").fetchone()
    conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq > ?", (last - count,))
    conn.commit()
    conn.close()


@pytest.fixture
def shop(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert kiosk(data_dir, capsys, "demo", "init")[0] == 0
    assert kiosk(data_dir, capsys, "sim", "sales", "--count", "6", "--seed", "1")[0] == 0
    assert kiosk(data_dir, capsys, "fiscal", "verify")[0] == 0
    return data_dir


@pytest.mark.parametrize("name", WRITING_COMMANDS)
def test_a_writing_command_sees_deleted_tickets_until_a_manager_acknowledges(
    shop: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    argv, expected = WRITING_COMMANDS[name]
    delete_last_tickets(shop, 2)  # tickets 5 and 6

    code, _, err = kiosk(shop, capsys, *argv)
    assert code == expected
    assert "ANOMALIE FISCALE" in err and "ticket n°5 à n°6 manquant(s)" in err

    code, out, _ = kiosk(shop, capsys, "fiscal", "verify")
    assert code == 1
    assert "ticket n°5 à n°6 manquant(s) : la base s'arrête au n°4" in out
    assert f"« cli:{name} »" in out and "non reconnue par un responsable" in out

    # Another command does not make it go away: the anchor was rewritten, the detection stays journaled.
    assert kiosk(shop, capsys, "report", "x")[0] == ALERT_EXIT
    assert kiosk(shop, capsys, "fiscal", "verify")[0] == 1

    code, out, _ = kiosk(shop, capsys, "fiscal", "acknowledge", "--by", "Marc", "--reason", "disque restauré")
    assert code == 0, out
    assert "Écart reconnu : ticket n°5 à n°6 manquant(s)" in out

    code, out, _ = kiosk(shop, capsys, "fiscal", "verify", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["problems"] == []
    (note,) = report["notes"]
    assert "écart reconnu : ticket n°5 à n°6 manquant(s)" in note
    assert "reconnu par Marc" in note and "« disque restauré »" in note

    code, _, err = kiosk(shop, capsys, "report", "x")
    assert code == 0 and "ANOMALIE" not in err


def test_acknowledging_needs_a_manager_and_something_to_acknowledge(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = kiosk(shop, capsys, "fiscal", "acknowledge", "--by", "Marc", "--reason", "rien")
    assert code == 1 and "Aucun écart fiscal en attente" in err
    delete_last_tickets(shop, 1)
    code, _, err = kiosk(shop, capsys, "fiscal", "acknowledge", "--by", "Camille", "--reason", "moi")
    assert code == 2 and "n'est pas un responsable" in err
    assert kiosk(shop, capsys, "fiscal", "verify")[0] == 1  # Camille's attempt changed nothing
    events = [
        row[0]
        for row in sqlite3.connect(shop / "kiosk.sqlite").execute(
            "SELECT rtype FROM fiscal_record WHERE journal = 'JET' ORDER BY seq"
        )
    ]
    assert events.count("RESTORE_DETECTED") == 1  # journaled once, not at every command
    assert "GAP_ACKNOWLEDGED" not in events


def test_a_deleted_middle_ticket_is_journaled_once_and_stays_a_chain_gap(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(shop / "kiosk.sqlite")
    conn.execute("DROP TRIGGER fiscal_record_no_delete")
    conn.execute("DELETE FROM fiscal_record WHERE journal = 'TICKET' AND seq = 3")
    conn.commit()
    conn.close()
    assert "ticket n°3 manquant(s) dans la numérotation" in kiosk(shop, capsys, "report", "x")[2]
    assert kiosk(shop, capsys, "fiscal", "acknowledge", "--by", "Alice", "--reason", "enquête")[0] == 0
    code, out, _ = kiosk(shop, capsys, "fiscal", "verify")
    assert code == 1  # an acknowledgement never hides a broken chain
    assert "ticket n°4 : enregistrement(s) supprimé(s) avant celui-ci (n°3)" in out
    assert "écart reconnu : ticket n°3 manquant(s) dans la numérotation" in out
    assert "ANOMALIE" not in kiosk(shop, capsys, "report", "x")[2]  # not journaled again


def test_a_damaged_anchor_is_journaled_each_time_it_is_found(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = shop / "fiscal-anchor.json"
    for _ in range(2):
        anchor.write_bytes(b"\0garbage" * 10)
        assert "fichier d'ancrage illisible" in kiosk(shop, capsys, "report", "x")[2]
        assert kiosk(shop, capsys, "fiscal", "acknowledge", "--by", "Marc", "--reason", "carte SD")[0] == 0
    events = [
        row[0]
        for row in sqlite3.connect(shop / "kiosk.sqlite").execute(
            "SELECT rtype FROM fiscal_record WHERE journal = 'JET' AND rtype IN ('RESTORE_DETECTED', 'GAP_ACKNOWLEDGED')"
        )
    ]
    assert events == ["RESTORE_DETECTED", "GAP_ACKNOWLEDGED"] * 2
    code, out, _ = kiosk(shop, capsys, "fiscal", "verify")
    assert code == 0 and out.count("écart reconnu : fichier d'ancrage illisible") == 2
