"""Checking an NF525 archive offline (see fiscal.archive for what it holds): its members and their
hashes, the XML signature and its certificate (issued by the till key), every record's chain and
signature from the anchor, the period, and the FEC recomputed from the signed tickets.

    verify_archive(Path("archive.zip"), pinned_pubkey_pem) → fiscal.problems.Report
"""

from __future__ import annotations

import base64
import json
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import SignatureAlgorithmOID
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, VerifyResult, XMLVerifier
from signxml.exceptions import SignXMLException

from .archive import (
    COLUMN_NAMES,
    DS_NS,
    FEC,
    FORMAT_VERSION,
    MEMBERS,
    NOTICE,
    PUBKEY,
    RECORDS,
    ROOT_TAG,
    sha256_hex,
)
from .chain_check import check_chain
from .fec import FEC_NAME, build_fec, check_fec
from .journal import Record
from .keys import KeyFileError, key_id_of, load_public_pem
from .periods import PeriodError, period_bounds
from .problems import Problem, Report

_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def certificate_issued_by(cert: x509.Certificate, public: Ed25519PublicKey) -> bool:
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.ED25519:
        return False
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes)
    except InvalidSignature:
        return False
    return True


def _problem(report: Report, message: str, code: str = "archive", where: str = "archive") -> None:
    report.problems.append(Problem(where, None, code, message))


def _pem_keys(data: bytes, report: Report) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for block in _PEM_BLOCK.findall(data):
        try:
            public = load_public_pem(block)
        except (KeyFileError, ValueError):
            _problem(report, f"{PUBKEY} : clé illisible", "bad_key")
            continue
        keys[key_id_of(public)] = public
    if not keys:
        _problem(report, f"{PUBKEY} : aucune clé publique Ed25519", "bad_key")
    return keys


def _text(element: Any) -> str:
    text = element.text or ""
    if element.get("encodage") == "base64":
        return base64.b64decode(text).decode("utf-8", errors="surrogatepass")
    return str(text)


def _row(element: Any) -> tuple[Any, ...]:
    """(id, *COLUMNS) of an <enregistrement>; ValueError when it cannot be read."""
    values: dict[str, Any] = {}
    for name in COLUMN_NAMES:
        child = element.find(name)
        if child is None:
            raise ValueError(f"colonne {name} absente")
        values[name] = _text(child)
    for name in ("seq", "tz_offset"):
        values[name] = int(values[name])
    values["total"] = int(values["total"]) if values["total"] != "" else None
    return (int(element.get("id", "")), *(values[name] for name in COLUMN_NAMES))


def _signature_certificate(root: Any) -> x509.Certificate | None:
    node = root.find(
        f"{{{DS_NS}}}Signature/{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate"
    )
    if node is None or not node.text:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(node.text.split())))
    except ValueError:
        return None


def _check_records(root: Any, keys: dict[str, Ed25519PublicKey], report: Report) -> list[Record]:
    """Every journal's chain, anchor included; returns the records of the archive (anchors excluded)."""
    till = root.get("caisse")
    records: list[Record] = []
    for element in root.findall("journal"):
        journal = element.get("nom", "?")
        anchor_element = element.find("ancre/enregistrement")
        try:
            anchor = _row(anchor_element) if anchor_element is not None else None
            rows = [_row(child) for child in element.findall("enregistrement")]
        except (ValueError, TypeError) as exc:
            report.problems.append(Problem(journal, None, "unreadable", f"enregistrement illisible ({exc})"))
            continue
        if str(len(rows)) != element.get("enregistrements"):
            report.problems.append(
                Problem(
                    journal,
                    None,
                    "count",
                    f"{len(rows)} enregistrements pour {element.get('enregistrements')} annoncés",
                )
            )
        scratch = Report()
        check_chain(([anchor] if anchor else []) + rows, keys, scratch)
        for problem in scratch.problems:
            if anchor is not None and problem.seq == anchor[3] and problem.code == "gap":
                continue  # the records before the anchor are in earlier archives
            report.problems.append(problem)
        for row in ([anchor] if anchor else []) + rows:
            if row[1] != till or row[2] != journal:
                report.problems.append(
                    Problem(
                        journal,
                        row[3],
                        "misplaced",
                        f"enregistrement de la caisse {row[1]}, journal {row[2]}",
                    )
                )
        report.records += len(rows)
        report.journals[journal] = report.journals.get(journal, 0) + len(rows)
        records.extend(Record.from_row(row[1:]) for row in rows)
    return records


def _check_fec(root: Any, name: str, data: bytes, records: list[Record], report: Report) -> None:
    summary, problems = check_fec(data)
    for text in problems:
        _problem(report, text, "fec", "FEC")
    config_element = root.find("fec")
    try:
        config = json.loads(config_element.text if config_element is not None else "")
        start, end = root.get("du", ""), root.get("au", "")
        expected = build_fec([r for r in records if start <= r.day <= end], config)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        _problem(report, f"impossible de recalculer les écritures à partir des tickets ({exc})", "fec", "FEC")
        return
    if expected != data:
        _problem(report, f"{name} ne correspond pas aux tickets signés de l'archive", "fec", "FEC")
    closing = root.get("au", "").replace("-", "")
    match = FEC_NAME.match(name)
    if match is None or match.group(2) != closing:
        _problem(report, f"{name} : nom attendu SIRENFEC{closing}.txt (date de clôture de la période)", "fec")
    if config_element is not None and config_element.get("ecritures") != str(summary.entries):
        _problem(
            report,
            f"{summary.entries} écritures pour {config_element.get('ecritures')} annoncées",
            "fec",
            "FEC",
        )


def verify_archive(path: Path, pinned_pubkey_pem: bytes | None = None) -> Report:
    """Check an archive offline; problems in French (« archive : signature XML invalide », …)."""
    report = Report()
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            fec_names = [name for name in names if FEC_NAME.match(name)]
            fec_name = fec_names[0] if fec_names else FEC
            members = {name: archive.read(name) for name in (*MEMBERS[:-1], fec_name) if name in names}
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError) as exc:
        _problem(report, f"fichier ZIP illisible ({exc})", "zip")
        return report
    for name in (*MEMBERS[:-1], fec_name):
        if name not in members:
            _problem(report, f"fichier {name} absent", "member")
    for name in names:
        if name not in (*MEMBERS[:-1], fec_name):
            _problem(report, f"fichier inattendu {name}", "member")
    if RECORDS not in members:
        return report

    archive_keys = _pem_keys(members.get(PUBKEY, b""), report)
    keys = archive_keys
    if pinned_pubkey_pem is not None:
        try:
            pinned = load_public_pem(pinned_pubkey_pem)
        except (KeyFileError, ValueError):
            _problem(report, "clé publique publiée illisible (PEM Ed25519 attendu)", "wrong_key")
        else:
            pinned_id = key_id_of(pinned)
            if pinned_id in archive_keys:
                keys = {pinned_id: pinned}
            else:
                _problem(
                    report,
                    f"clé différente de la clé publiée (publiée {pinned_id}, archive "
                    f"{', '.join(sorted(archive_keys)) or 'aucune'})",
                    "wrong_key",
                )
    report.keys = sorted(keys)

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        raw_root = etree.fromstring(members[RECORDS], parser)
    except etree.XMLSyntaxError as exc:
        _problem(report, f"{RECORDS} illisible ({exc})", "xml")
        return report

    root = raw_root
    cert = _signature_certificate(raw_root)
    if cert is None:
        _problem(report, "signature XML invalide (certificat d'archivage absent)", "xml_signature")
    elif not any(certificate_issued_by(cert, public) for public in keys.values()):
        _problem(
            report, "signature XML invalide (certificat non émis par la clé de la caisse)", "xml_signature"
        )
    else:
        config = SignatureConfiguration(
            location="./",
            expect_references=1,
            signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
            digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        )
        try:
            result = XMLVerifier().verify(members[RECORDS], x509_cert=cert, expect_config=config)
        except (SignXMLException, InvalidSignature, ValueError, etree.Error) as exc:
            _problem(report, f"signature XML invalide ({exc})", "xml_signature")
        else:
            signed = result.signed_xml if isinstance(result, VerifyResult) else None
            if signed is not None and signed.tag == ROOT_TAG:
                root = signed  # read only what the signature covers
            else:
                _problem(report, "signature XML invalide (elle ne couvre pas le document)", "xml_signature")

    if root.tag != ROOT_TAG or root.get("version") != str(FORMAT_VERSION):
        _problem(report, f"{RECORDS} : format inconnu ({root.tag} version {root.get('version')})", "xml")
        return report
    try:
        start, end = period_bounds(root.get("periode", ""))
    except PeriodError as exc:
        _problem(report, str(exc), "period")
    else:
        if (root.get("du"), root.get("au")) != (start.isoformat(), end.isoformat()):
            _problem(report, "bornes de la période incohérentes", "period")

    declared = {cle.get("key_id") for cle in root.findall("cles/cle")}
    for cle in root.findall("cles/cle"):
        try:
            if key_id_of(load_public_pem(_text(cle))) != cle.get("key_id"):
                _problem(report, f"clé {cle.get('key_id')} : empreinte fausse", "bad_key")
        except (KeyFileError, ValueError):
            _problem(report, f"clé {cle.get('key_id')} illisible", "bad_key")
    if declared != set(archive_keys):
        _problem(report, f"{PUBKEY} ne correspond pas aux clés déclarées dans {RECORDS}", "bad_key")

    listed = {f.get("nom"): f.get("sha256") for f in root.findall("fichiers/fichier")}
    for name in (NOTICE, PUBKEY, fec_name):
        if name in members and listed.get(name) != sha256_hex(members[name]):
            _problem(
                report,
                f"{name} : empreinte différente de celle de {RECORDS} (fichier remplacé ou modifié)",
                "member",
            )

    records = _check_records(root, keys, report)
    _check_day_span(root, records, report)
    if fec_name in members:
        _check_fec(root, fec_name, members[fec_name], records, report)
    return report


def _check_day_span(root: Any, records: Iterable[Record], report: Report) -> None:
    """The first and last record of each journal lie in the period (the run is taken between them)."""
    start, end = root.get("du", ""), root.get("au", "")
    by_journal: dict[str, list[Record]] = {}
    for record in records:
        by_journal.setdefault(record.journal, []).append(record)
    for journal, items in by_journal.items():
        for record in (items[0], items[-1]):
            if not start <= record.day <= end:
                report.problems.append(
                    Problem(
                        journal, record.seq, "period", f"jour {record.day} hors de la période {start} – {end}"
                    )
                )
