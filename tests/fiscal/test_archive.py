"""NF525 archives: build them from a demo till, verify them offline, and tamper with copies of them."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fiscal.archive import (
    ARCHIVE_KEY_FILE,
    MEMBERS,
    ArchiveError,
    ArchiveInfo,
    build_archive,
    period_bounds,
)
from fiscal.archive_check import verify_archive
from fiscal.fec import (
    FEC_COLUMNS,
    FEC_ENCODING,
    FecError,
    build_fec,
    check_fec,
    fec_config,
    ticket_entry,
)
from fiscal.journal import Record
from kiosk.demo.shop import SIMULATED_DEVICES, init_demo
from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till

ROOT = Path(__file__).resolve().parents[2]
SALES = 30
SIREN = "823456785"  # the demo shop's SIRET is 82345678500018


def _fec_name(info: ArchiveInfo) -> str:
    return f"{SIREN}FEC{info.end.replace('-', '')}.txt"


def _build(till: Till, period: str, out: Path, **kwargs: object) -> ArchiveInfo:
    return build_archive(
        till.db.connection(),
        till.ledger.key,
        till.ledger.till,
        period,
        out,
        **({"siren": SIREN} | kwargs),  # type: ignore[arg-type]
    )


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fiscal.verify", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def _rewrite(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """A copy of the archive with some members replaced, as someone with a zip tool would do."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, replace.get(info.filename, zin.read(info.filename)))
    return target


def _member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _new_till(data_dir: Path, clock: object | None = None) -> Till:
    data_dir.mkdir(parents=True)
    (data_dir / "kiosk.toml").write_text(SIMULATED_DEVICES, "utf-8")
    till = Till.open(data_dir, clock=clock)  # type: ignore[arg-type]
    init_demo(till)
    return till


@pytest.fixture
def sold(till: Till) -> Till:
    simulate_sales(till, SALES, seed=11)
    return till


@pytest.fixture
def archives(sold: Till, tmp_path: Path) -> dict[str, ArchiveInfo | Path]:
    today = sold.clock().date()
    pubkey = tmp_path / "cle.pem"
    pubkey.write_text(sold.ledger.key.public_pem, "ascii")
    return {
        "day": _build(sold, today.isoformat(), tmp_path / "jour.zip"),
        "month": _build(sold, today.strftime("%Y-%m"), tmp_path / "mois.zip"),
        "pubkey": pubkey,
    }


def test_archive_holds_the_expected_members(archives: dict, sold: Till) -> None:
    day: ArchiveInfo = archives["day"]
    assert day.path.exists()
    with zipfile.ZipFile(day.path) as archive:
        assert archive.namelist() == [*MEMBERS[:-1], _fec_name(day)]
    assert _fec_name(day) == f"823456785FEC{sold.clock().date():%Y%m%d}.txt"
    assert _fec_name(archives["month"]).startswith("823456785FEC")
    assert day.sha256 == hashlib.sha256(day.path.read_bytes()).hexdigest()
    assert day.records["TICKET"] == SALES
    assert day.fec_entries == SALES
    assert archives["month"].records["TICKET"] == SALES
    body = day.body()
    assert body["sha256"] == day.sha256 and body["records"]["TICKET"] == SALES
    notice = _member(day.path, "notice.txt").decode("utf-8")
    assert "python -m fiscal.verify ARCHIVE.zip --pubkey cle-publique.pem" in notice
    assert _member(day.path, "cle-publique.pem").decode("ascii") == sold.ledger.key.public_pem
    xml = _member(day.path, "records.xml")
    assert b"<ds:Signature" in xml and b"ecdsa-sha256" in xml and b"enveloped-signature" in xml
    key_file = sold.ledger.key.path.parent / ARCHIVE_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_archives_verify_offline(archives: dict) -> None:
    for name in ("day", "month"):
        result = _cli(archives[name].path, "--pubkey", archives["pubkey"])
        assert result.returncode == 0, result.stdout + result.stderr
        assert "intègre" in result.stdout
    result = _cli(archives["month"].path, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] and report["journals"]["TICKET"] == SALES


def test_edited_amount_breaks_the_xml_signature(archives: dict, tmp_path: Path) -> None:
    source = archives["month"].path
    xml = _member(source, "records.xml")
    start = xml.index(b"<seq>5</seq>")
    match = re.compile(rb"<total>(\d+)</total>").search(xml, start)
    assert match is not None
    edited = xml[: match.start(1)] + str(int(match.group(1)) + 100).encode() + xml[match.end(1) :]
    forged = _rewrite(source, tmp_path / "falsifiee.zip", {"records.xml": edited})
    result = _cli(forged, "--pubkey", archives["pubkey"])
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("archive : signature XML invalide") for line in lines), result.stdout
    assert any(line.startswith("ticket n°5 : signature invalide") for line in lines), result.stdout


def test_swapped_records_xml_is_detected(archives: dict, tmp_path: Path) -> None:
    # The day's genuine records.xml in the month's archive: the other members no longer match it.
    swapped = _rewrite(
        archives["month"].path,
        tmp_path / "echange.zip",
        {"records.xml": _member(archives["day"].path, "records.xml")},
    )
    result = _cli(swapped, "--pubkey", archives["pubkey"])
    assert result.returncode == 1
    assert "archive : notice.txt : empreinte différente" in result.stdout

    # records.xml of another till, signed with another key: its certificate is not the till's.
    other = _new_till(tmp_path / "autre")
    simulate_sales(other, 3, seed=1)
    other_info = _build(other, other.clock().date().isoformat(), tmp_path / "autre.zip")
    other.db.close()
    foreign = _rewrite(
        archives["day"].path,
        tmp_path / "etrangere.zip",
        {"records.xml": _member(other_info.path, "records.xml")},
    )
    result = _cli(foreign, "--pubkey", archives["pubkey"])
    assert result.returncode == 1
    assert "archive : signature XML invalide" in result.stdout


def test_other_public_key_is_refused(archives: dict, tmp_path: Path) -> None:
    other = _new_till(tmp_path / "autre")
    other_key = tmp_path / "autre-cle.pem"
    other_key.write_text(other.ledger.key.public_pem, "ascii")
    other.db.close()
    result = _cli(archives["day"].path, "--pubkey", other_key)
    assert result.returncode == 1
    assert "archive : clé différente de la clé publiée" in result.stdout


def test_missing_member_and_garbage_are_reported(archives: dict, tmp_path: Path) -> None:
    source = archives["day"].path
    stripped = tmp_path / "incomplete.zip"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(stripped, "w") as zout:
        for name in zin.namelist():
            if name != _fec_name(archives["day"]):
                zout.writestr(name, zin.read(name))
    lines = [p.line() for p in verify_archive(stripped, None).problems]
    assert "archive : fichier SIRENFECAAAAMMJJ.txt absent" in lines
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip")
    assert _cli(garbage).returncode == 1


def test_fec_format(archives: dict, sold: Till) -> None:
    data = _member(archives["month"].path, _fec_name(archives["month"]))
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode(FEC_ENCODING)
    rows = [line.split("|") for line in text.split("\r\n")[:-1]]
    assert rows[0] == list(FEC_COLUMNS) and len(rows[0]) == 18
    assert all(len(row) == 18 for row in rows)
    balance: dict[str, int] = {}
    debit_total = 0
    for row in rows[1:]:
        fields = dict(zip(FEC_COLUMNS, row, strict=True))
        for column in ("EcritureDate", "PieceDate", "ValidDate"):
            assert re.fullmatch(r"\d{8}", fields[column]) and datetime.strptime(fields[column], "%Y%m%d")
        assert re.fullmatch(r"\d+,\d{2}", fields["Debit"]) and re.fullmatch(r"\d+,\d{2}", fields["Credit"])
        debit = int(fields["Debit"].replace(",", ""))
        credit = int(fields["Credit"].replace(",", ""))
        balance[fields["EcritureNum"]] = balance.get(fields["EcritureNum"], 0) + debit - credit
        debit_total += debit
    assert len(balance) == SALES and set(balance.values()) == {0}
    sold_total = sold.db.execute_sql(
        "SELECT SUM(ABS(total)) FROM fiscal_record WHERE journal='TICKET'"
    ).fetchone()[0]
    assert (
        debit_total == sold_total
    )  # each entry debits its ticket's amount: tenders (sale) or sales + VAT (return)
    assert "TVA collectée" in text and b"collect\xe9e" in data
    summary, problems = check_fec(data)
    assert problems == [] and summary.entries == SALES and summary.debit == summary.credit


def test_fec_labels_round_trip_in_latin9(sold: Till, tmp_path: Path) -> None:
    label = "Caisse œuvres été 2€"  # œ and € exist in ISO-8859-15, not in ISO-8859-1
    info = _build(
        sold,
        sold.clock().date().isoformat(),
        tmp_path / "latin9.zip",
        fec_config={"journal_code": "VT", "tenders": {"cash": {"num": "530000", "lib": label}}},
    )
    data = _member(info.path, _fec_name(info))
    assert label.encode("iso-8859-15") in data
    lines = data.decode("iso-8859-15").split("\r\n")
    assert any(line.startswith("VT|Ventes|") and f"|530000|{label}|" in line for line in lines)
    assert verify_archive(info.path, sold.ledger.key.public_pem.encode()).ok


def _ticket(seq: int, body: dict, total: int) -> Record:
    return Record(
        "T01",
        "TICKET",
        seq,
        body["kind"],
        "2026-03-30T10:00:00.000000Z",
        120,
        "2026-03-30",
        total,
        json.dumps(body),
        "",
        "k",
        "s",
    )


def test_fec_sale_with_change_and_reversed_return() -> None:
    config = fec_config()
    sale = {
        "kind": "SALE",
        "lines": [{"amount": 1200, "vat": 2000}, {"amount": 211, "vat": 550}],
        "vat": [
            {"rate": 550, "ht": 200, "tva": 11, "ttc": 211},
            {"rate": 2000, "ht": 1000, "tva": 200, "ttc": 1200},
        ],
        "tenders": [{"type": "card", "amount": 1000}, {"type": "cash", "amount": 500}],
        "change": 89,
        "total": 1411,
    }
    entry = ticket_entry(_ticket(7, sale, 1411), config)
    assert entry is not None
    lines = {line.account["num"]: (line.debit, line.credit) for line in entry.lines}
    assert lines == {
        "511500": (1000, 0),
        "531000": (411, 0),
        "707055": (0, 200),
        "445712": (0, 11),
        "707200": (0, 1000),
        "445714": (0, 200),
    }
    refund = {
        "kind": "RETURN",
        "lines": [{"amount": -1200, "vat": 2000}],
        "vat": [{"rate": 2000, "ht": -1000, "tva": -200, "ttc": -1200}],
        "tenders": [{"type": "cash", "amount": -1200}],
        "change": 0,
        "total": -1200,
    }
    entry = ticket_entry(_ticket(8, refund, -1200), config)
    assert entry is not None and entry.label == "Retour ticket n°8"
    assert {line.account["num"]: (line.debit, line.credit) for line in entry.lines} == {
        "531000": (0, 1200),
        "707200": (1000, 0),
        "445714": (200, 0),
    }
    data = build_fec([_ticket(7, sale, 1411), _ticket(8, refund, -1200)], config)
    assert check_fec(data)[1] == []
    broken = dict(sale, vat=[{"rate": 2000, "ht": 1000, "tva": 200, "ttc": 1200}])
    with pytest.raises(FecError, match="déséquilibrée"):
        ticket_entry(_ticket(9, broken, 1411), config)


def test_unbalanced_fec_is_reported() -> None:
    header = "|".join(FEC_COLUMNS)
    line = "VE|Ventes|1|20260330|531000|Caisse|||T01-000001|20260330|Vente|12,00|0,00|||20260330||"
    other = "VE|Ventes|1|20260330|707200|Ventes|||T01-000001|20260330|Vente|0,00|11,00|||2026033||"
    _, problems = check_fec(f"{header}\r\n{line}\r\n{other}\r\n".encode(FEC_ENCODING))
    assert any("déséquilibrée" in p for p in problems)
    assert any("AAAAMMJJ" in p for p in problems)


class SteppingClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now


def test_anchor_links_the_period_to_the_day_before(tmp_path: Path) -> None:
    paris = ZoneInfo("Europe/Paris")
    clock = SteppingClock(datetime(2026, 3, 30, 9, 0, tzinfo=paris))
    till = _new_till(tmp_path / "data", clock)
    simulate_sales(till, 5, seed=2)
    clock.now = datetime(2026, 3, 31, 9, 0, tzinfo=paris)
    simulate_sales(till, 4, seed=3)
    clock.now = datetime(2026, 4, 1, 9, 0, tzinfo=paris)
    simulate_sales(till, 3, seed=4)
    pinned = till.ledger.key.public_pem.encode()

    day = _build(till, "2026-03-31", tmp_path / "jour.zip", when=clock())
    assert day.records["TICKET"] == 4 and day.anchors["TICKET"] == 5
    assert verify_archive(day.path, pinned).ok
    march = _build(till, "2026-03", tmp_path / "mars.zip")
    assert march.records["TICKET"] == 9 and "TICKET" not in march.anchors
    year = _build(till, "2026", tmp_path, when=clock())
    assert year.path.name == "archive-T01-2026.zip" and year.records["TICKET"] == 12
    assert verify_archive(year.path, pinned).ok
    till.db.close()

    # The anchor is checked too: a forged anchor breaks the chain of the first record of the day.
    xml = _member(day.path, "records.xml")
    anchor_sig = re.compile(rb"<ancre>.*?<sig>([^<]+)</sig>", re.S).search(xml)
    assert anchor_sig is not None
    forged = xml[: anchor_sig.start(1)] + b"AAAA" + xml[anchor_sig.start(1) + 4 :]
    report = verify_archive(_rewrite(day.path, tmp_path / "ancre.zip", {"records.xml": forged}), pinned)
    lines = [p.line() for p in report.problems]
    assert any(line.startswith("archive : signature XML invalide") for line in lines)
    assert "ticket n°5 : signature invalide : contenu modifié après signature" in lines
    assert "ticket n°6 : chaînage rompu : signature précédente différente" in lines


def test_period_bounds() -> None:
    assert period_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_bounds("2024-02-29") == (date(2024, 2, 29), date(2024, 2, 29))
    assert period_bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))
    for bad in ("2026-13", "26-01", "2026-02-30", ""):
        with pytest.raises(ArchiveError):
            period_bounds(bad)


def test_empty_period_and_standalone_import(sold: Till, tmp_path: Path) -> None:
    info = _build(sold, "2001-01", tmp_path / "vide.zip")
    assert info.records == {} and info.fec_entries == 0
    assert verify_archive(info.path, sold.ledger.key.public_pem.encode()).ok
    code = "import sys, fiscal.archive, fiscal.fec; print(' '.join(sys.modules))"
    modules = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert not {m for m in modules.stdout.split() if m == "kiosk" or m.startswith(("kiosk.", "textual"))}
