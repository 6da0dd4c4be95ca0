#!/usr/bin/env python3
"""Independent NF525 check of a till's journals: Python's standard library and `cryptography` only.

It imports nothing from the till's software (neither `fiscal` nor `kiosk`): an auditor can read these
few hundred lines, compare them with docs/nf525.md, and run them on a copy of the data.

    python3 verify_independent.py DATA_DIR_OR_kiosk.sqlite [--pubkey cle-publiee.pem]
    python3 verify_independent.py ARCHIVE.zip [--pubkey cle-publiee.pem]

For a data directory the database is opened read-only (sqlite `mode=ro`); for an archive, records.xml is
read from the ZIP (its XML-DSig is checked by xmlsec1, see the archive's notice.txt; here the SHA-256 of
the other members it lists are). Every record of every journal is checked:

- its Ed25519 signature over the signed form, rebuilt here: the compact JSON array (UTF-8, no spaces,
  non-ASCII kept) [1, till, journal, seq, rtype, ts_utc, tz_offset, day, total, body, prev_sig, key_id];
  the key is found by key_id = the first 16 hex digits of SHA-256 of the raw 32-byte public key;
- its body is canonical JSON (keys sorted, no spaces, no floats) — what was signed is what is read;
- the chain: numbers follow each other from 1 (or from the first record kept after a purge, or from the
  archive's anchor) and prev_sig is the previous record's signature;
- for tickets (journal TICKET; TRAINING without the grand totals): total = sum of the lines; per VAT rate,
  TTC = sum of the lines at that rate, HT = TTC × 10000 / (10000 + rate in basis points) rounded half up
  (half away from zero, so a refund mirrors its sale), TVA = TTC − HT; tenders − change = total; the
  total column equals the body's total; a discounted line's before − discounts = amount; the grand totals
  chain: perpetual = previous + total, absolute = previous + |total|.

With --pubkey (the till's published key, obtained apart from the data), only that key and the keys it
introduced through signed JET KEY_ROTATION records are trusted; without it, the keys stored with the
data are (internal consistency only). The last line is the verdict; exit status 0 when intact, 1 when not,
2 when the input cannot be read. Each problem names the record (« ticket n°42 : … »).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sqlite3
import sys
import xml.etree.ElementTree as ET
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

COLUMNS = (
    "till",
    "journal",
    "seq",
    "rtype",
    "ts_utc",
    "tz_offset",
    "day",
    "total",
    "body",
    "prev_sig",
    "key_id",
    "sig",
)
LABELS = {
    "TICKET": "ticket",
    "DUPLICATE": "duplicata",
    "CLOSURE": "clôture",
    "JET": "événement JET",
    "ARCHIVE": "archive",
    "TRAINING": "ticket de formation",
}
DB_NAME = "kiosk.sqlite"


class Unreadable(Exception):
    pass


# -- reading -----------------------------------------------------------------------------------------


def read_database(
    path: Path,
) -> tuple[dict[str, str], list[dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    """(key_id → PEM, records, anchors: none) from a data directory or its database, read-only."""
    db = path / DB_NAME if path.is_dir() else path
    if not db.is_file():
        raise Unreadable(f"aucune base de données {db}")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        keys = dict(conn.execute("SELECT key_id, public_pem FROM fiscal_key").fetchall())
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM fiscal_record ORDER BY till, journal, seq, id")
        records = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    except sqlite3.Error as exc:
        raise Unreadable(f"{db} : {exc}") from exc
    finally:
        conn.close()
    return keys, records, {}


def _text(element: ET.Element) -> str:
    value = element.text or ""
    if element.get("encodage") == "base64":
        return base64.b64decode(value).decode("utf-8", "surrogatepass")
    return value


def _xml_record(element: ET.Element) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in COLUMNS:
        child = element.find(name)
        if child is None:
            raise Unreadable(f"records.xml : colonne {name} absente")
        values[name] = _text(child)
    values["seq"], values["tz_offset"] = int(values["seq"]), int(values["tz_offset"])
    values["total"] = int(values["total"]) if values["total"] != "" else None
    return values


def read_archive(
    path: Path, problems: list[str]
) -> tuple[dict[str, str], list[dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    """(key_id → PEM, records, (till, journal) → anchor record) from an archive's records.xml."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise Unreadable(f"{path} : ZIP illisible ({exc})") from exc
    if "records.xml" not in members:
        raise Unreadable(f"{path} : records.xml absent")
    try:
        root = ET.fromstring(members["records.xml"])
    except ET.ParseError as exc:
        raise Unreadable(f"records.xml illisible ({exc})") from exc
    for listed in root.findall("fichiers/fichier"):
        name = listed.get("nom", "")
        if name not in members:
            problems.append(f"archive : fichier {name} absent")
        elif hashlib.sha256(members[name]).hexdigest() != listed.get("sha256"):
            problems.append(f"archive : {name} modifié (empreinte différente de celle de records.xml)")
    keys = {cle.get("key_id", ""): _text(cle) for cle in root.findall("cles/cle")}
    records: list[dict[str, Any]] = []
    anchors: dict[tuple[str, str], dict[str, Any]] = {}
    for journal in root.findall("journal"):
        anchor = journal.find("ancre/enregistrement")
        if anchor is not None:
            record = _xml_record(anchor)
            anchors[(record["till"], record["journal"])] = record
        records.extend(_xml_record(element) for element in journal.findall("enregistrement"))
    return keys, records, anchors


# -- checking ----------------------------------------------------------------------------------------


def signed_form(record: dict[str, Any]) -> bytes:
    fields = [1, *(record[name] for name in COLUMNS[:-1])]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def load_keys(pems: dict[str, str], problems: list[str]) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for key_id, pem in pems.items():
        try:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
        except ValueError:
            problems.append(f"clé {key_id} illisible")
            continue
        if not isinstance(key, Ed25519PublicKey):
            problems.append(f"clé {key_id} : pas une clé Ed25519")
            continue
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if hashlib.sha256(raw).hexdigest()[:16] != key_id:
            problems.append(f"clé {key_id} : identifiant différent de l'empreinte de la clé")
            continue
        keys[key_id] = key
    return keys


def signature_ok(record: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(record["key_id"])
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(record["sig"], validate=True), signed_form(record))
    except (InvalidSignature, ValueError):
        return False
    return True


def trusted_keys(
    pinned_pem: bytes, keys: dict[str, Ed25519PublicKey], records: list[dict[str, Any]], problems: list[str]
) -> dict[str, Ed25519PublicKey]:
    """The pinned key and the keys it introduced, one signed KEY_ROTATION after the other."""
    pinned = serialization.load_pem_public_key(pinned_pem)
    if not isinstance(pinned, Ed25519PublicKey):
        raise Unreadable("la clé publiée n'est pas une clé Ed25519")
    raw = pinned.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    trusted = {hashlib.sha256(raw).hexdigest()[:16]: pinned}
    if not set(trusted) & set(keys):
        problems.append(f"la clé publiée ({next(iter(trusted))}) n'est pas celle des données")
    for record in records:
        if record["journal"] == "JET" and record["rtype"] == "KEY_ROTATION" and signature_ok(record, trusted):
            new = json.loads(record["body"]).get("details", {}).get("new")
            if new in keys:
                trusted[new] = keys[new]
    return trusted


def _no_float(text: str) -> float:
    raise ValueError(f"nombre décimal {text} : les montants sont des centimes entiers")


def tail_problems(data_dir: Path, records: list[dict[str, Any]]) -> list[str]:
    """The journal heads copied beside the database after each commit (fiscal-anchor.json): a database
    whose last records were deleted, or an older copy put back, is behind them."""
    try:
        raw = (data_dir / "fiscal-anchor.json").read_bytes()
    except FileNotFoundError:
        return []
    checksum, _, payload = raw.rstrip(b"\0 \n").partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != checksum:
        return ["fiscal-anchor.json illisible (somme de contrôle fausse)"]
    heads = json.loads(payload).get("heads", {})
    by_seq = {(r["journal"], r["seq"]): r["sig"] for r in records}
    problems = []
    for journal, head in sorted(heads.items()):
        if by_seq.get((journal, head["seq"])) != head["sig"]:
            problems.append(
                f"{LABELS.get(journal, journal)} n°{head['seq']} : absent ou différent alors que fiscal-anchor.json "
                "le nomme (fin de journal supprimée ou base restaurée)"
            )
    return problems


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ticket_problems(body: dict[str, Any], total: int | None) -> list[str]:
    """The ticket's sums, recomputed from its lines (French)."""
    lines, vat, tenders = body.get("lines") or [], body.get("vat") or [], body.get("tenders") or []
    try:
        lines_sum = sum(int(line["amount"]) for line in lines)
        by_rate: dict[int, int] = {}
        for line in lines:
            by_rate[int(line["vat"])] = by_rate.get(int(line["vat"]), 0) + int(line["amount"])
            if "before" in line:
                parts = (
                    int(line["before"]) - int(line.get("discount", 0)) - int(line.get("ticket_discount", 0))
                )
                if parts != int(line["amount"]):
                    return [
                        f"ligne « {line.get('label', '?')} » : montant avant remise moins remises ≠ montant"
                    ]
        declared = {int(row["rate"]): (int(row["ht"]), int(row["tva"]), int(row["ttc"])) for row in vat}
        paid = sum(int(tender["amount"]) for tender in tenders) - int(body.get("change", 0))
    except (KeyError, TypeError, ValueError):
        return ["ticket illisible (lignes, TVA ou règlements)"]
    problems = []
    if not lines:
        problems.append("aucune ligne")
    if lines_sum != body.get("total"):
        problems.append(f"total {body.get('total')} ≠ somme des lignes {lines_sum} (centimes)")
    if total != body.get("total"):
        problems.append(f"colonne total {total} ≠ total du ticket {body.get('total')} (centimes)")
    expected = {}
    for rate, ttc in by_rate.items():
        ht = half_up(Decimal(ttc) * 10000 / (10000 + rate))
        expected[rate] = (ht, ttc - ht, ttc)
    if declared != expected:
        problems.append(f"TVA {declared} ≠ recalcul {expected} (taux : (HT, TVA, TTC) en centimes)")
    if paid != body.get("total"):
        problems.append(f"règlements moins rendu {paid} ≠ total {body.get('total')} (centimes)")
    return problems


def check(
    records: list[dict[str, Any]],
    anchors: dict[tuple[str, str], dict[str, Any]],
    keys: dict[str, Ed25519PublicKey],
    problems: list[str],
) -> dict[str, int]:
    """Every journal's chain, signatures and tickets; returns the number of records per journal."""
    counts: dict[str, int] = {}
    journals: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        journals.setdefault((record["till"], record["journal"]), []).append(record)
    for (till, journal), items in sorted(journals.items()):
        counts[journal] = counts.get(journal, 0) + len(items)
        previous = anchors.get((till, journal))
        if previous is not None and not signature_ok(previous, keys):
            problems.append(
                f"{LABELS.get(journal, journal)} n°{previous['seq']} (ancre) : signature invalide"
            )
        gt: dict[str, Any] | None = None
        if previous is not None and journal == "TICKET":
            gt = json.loads(previous["body"]).get("gt")
        for record in items:
            name = f"{LABELS.get(journal, journal)} n°{record['seq']}"
            if previous is None:
                if record["seq"] != 1 and record["prev_sig"] == "":
                    problems.append(f"{name} : premier enregistrement sans le n°1")
            elif record["seq"] != previous["seq"] + 1:
                problems.append(f"{name} : numérotation rompue (après le n°{previous['seq']})")
            elif record["prev_sig"] != previous["sig"]:
                problems.append(f"{name} : chaînage rompu (signature précédente différente)")
            if not signature_ok(record, keys):
                problems.append(
                    f"{name} : signature invalide ({'clé inconnue' if record['key_id'] not in keys else 'contenu modifié après signature'})"
                )
            try:
                body = json.loads(record["body"], parse_float=_no_float)
            except ValueError:
                problems.append(f"{name} : contenu illisible")
                previous, gt = record, None
                continue
            if json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")) != record["body"]:
                problems.append(f"{name} : contenu qui n'est pas du JSON canonique")
            if journal in ("TICKET", "TRAINING"):
                problems.extend(f"{name} : {text}" for text in ticket_problems(body, record["total"]))
            if journal == "TICKET":
                if gt is None and record["seq"] == 1:
                    gt = {}
                if gt is not None and isinstance(record["total"], int):
                    expected = {
                        "perpetual": int(gt.get("perpetual", 0)) + record["total"],
                        "absolute": int(gt.get("absolute", 0)) + abs(record["total"]),
                    }
                    if body.get("gt") != expected:
                        problems.append(f"{name} : grand total {body.get('gt')} ≠ {expected}")
                gt = body.get("gt")
            previous = record
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vérification indépendante des journaux NF525")
    parser.add_argument("source", type=Path, help="répertoire de données, kiosk.sqlite ou archive .zip")
    parser.add_argument("--pubkey", type=Path, help="clé publique publiée de la caisse (PEM)")
    args = parser.parse_args(argv)
    problems: list[str] = []
    try:
        if args.source.suffix.lower() == ".zip":
            pems, records, anchors = read_archive(args.source, problems)
        else:
            pems, records, anchors = read_database(args.source)
            if args.source.is_dir():
                problems.extend(tail_problems(args.source, records))
        keys = load_keys(pems, problems)
        if args.pubkey is not None:
            keys = trusted_keys(args.pubkey.read_bytes(), keys, records, problems)
    except (Unreadable, OSError, ValueError) as exc:
        print(f"VERDICT : illisible — {exc}")
        return 2
    counts = check(records, anchors, keys, problems)
    for problem in problems:
        print(problem)
    detail = ", ".join(f"{LABELS.get(j, j)} {n}" for j, n in sorted(counts.items()))
    trust = "clé publiée" if args.pubkey else "clés jointes aux données (sans --pubkey : cohérence interne)"
    if problems:
        print(
            f"VERDICT : NON INTÈGRE — {len(problems)} problème(s) ; {len(records)} enregistrement(s) ({detail})"
        )
        return 1
    print(f"VERDICT : intègre — {len(records)} enregistrement(s) ({detail}) ; {trust}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
