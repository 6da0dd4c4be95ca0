"""NF525 archives: one signed ZIP per period (day, month or calendar year), verifiable offline.

    build_archive(conn, key, till, "2026-11", Path("archive.zip"))   → ArchiveInfo(path, sha256, …)
    verify_archive(Path("archive.zip"), pinned_pubkey_pem)           → fiscal.problems.Report
                                                                       (fiscal.archive_check)
    python -m fiscal.verify archive.zip --pubkey cle-publique.pem [--json]

Period: "YYYY-MM-DD" (a day), "YYYY-MM" (a month) or "YYYY" (the *calendar* year, January to December,
whatever the fiscal year of the closures). A record belongs to the period by its `day` column (the local
calendar day it was signed). So that every chain can be checked, each journal's records are taken as one
contiguous run, from the first to the last record of the period (a record signed after a clock set back
can thus come with its neighbours), plus the record just before the run: the chain's anchor.

Members of the ZIP:

    notice.txt        what the archive holds and how to verify it (French, UTF-8)
    records.xml       every record of the period, every column, the body as its exact canonical JSON text,
                      the anchors, the till's public keys, the SHA-256 of the other three members and the
                      FEC account configuration; signed with XML-DSig (enveloped signature, see below)
    cle-publique.pem  the till's Ed25519 public key(s), from fiscal_key
    SIRENFECAAAAMMJJ.txt  the tickets as accounting entries, FEC format (fiscal.fec), named as art. A47 A-1
                      requires: the shop's SIREN, "FEC", the period's last day (e.g. 823456785FEC20261130.txt)

XML signature. signxml (5.2.0) implements no EdDSA signature method, so records.xml is signed with
ECDSA P-256 / SHA-256 (http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256, canonical XML 1.1,
enveloped-signature transform, Reference URI=""), with an archive-signing key kept next to the till key
(`archive-ecdsa-p256.pem`, mode 0600, created on first use). That key is bound to the till: the
ds:X509Certificate in the signature's KeyInfo holds its public key and is *signed by the till's Ed25519
key* (RFC 8410; issuer "NF525 till <till> key <key_id>", valid 2000–9999 so that an archive still verifies
years later). The verifier accepts the XML signature only when that certificate verifies with the till's
key — the published one when --pubkey is given — so nobody without the till key can re-sign an archive.

NULL is written as an empty <total/>; a text column that XML cannot carry (a character XML 1.0 forbids) is
written base64 (UTF-8) with encodage="base64".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
    XMLSigner,
)

from . import canonical, periods
from .audit_script import AUDIT_BEGIN, AUDIT_END, AUDIT_SCRIPT
from .fec import FecError, build_fec, fec_config, fec_filename, ticket_entries
from .journal import COLUMNS, JOURNAL_LABELS, JOURNALS, Record
from .keys import KeyFileError, SigningKey, write_private_key
from .periods import PeriodError
from .timeutil import stamp

FORMAT_VERSION = 1
NOTICE = "notice.txt"
RECORDS = "records.xml"
PUBKEY = "cle-publique.pem"
FEC = "SIRENFECAAAAMMJJ.txt"  # the pattern; each archive's name comes from fec_filename()
MEMBERS = (NOTICE, RECORDS, PUBKEY, FEC)  # in ZIP order; FEC stands for the archive's own FEC name
ARCHIVE_KEY_FILE = "archive-ecdsa-p256.pem"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ROOT_TAG = "archive-nf525"
COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
_CERT_NOT_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_CERT_NOT_AFTER = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


class ArchiveError(ValueError):
    """An archive cannot be built (message in French)."""


@dataclass(frozen=True)
class ArchiveInfo:
    path: Path
    sha256: str
    period: str
    start: str
    end: str
    records: dict[str, int]
    anchors: dict[str, int] = field(default_factory=dict)
    fec_entries: int = 0
    size: int = 0

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def body(self) -> dict[str, Any]:
        """What the ARCHIVE / JET record of this archive can carry (canonical-JSON ready)."""
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "size": self.size,
            "period": self.period,
            "from": self.start,
            "to": self.end,
            "records": dict(self.records),
            "fec_entries": self.fec_entries,
        }


# -- periods -------------------------------------------------------------------------------------


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last local day of "YYYY-MM-DD", "YYYY-MM" or "YYYY" (calendar year)."""
    try:
        return periods.period_bounds(period)
    except PeriodError as exc:
        raise ArchiveError(str(exc)) from exc


# -- the archive-signing key and its certificate ---------------------------------------------------


def archive_key_path(key: SigningKey) -> Path:
    return key.path.parent / ARCHIVE_KEY_FILE


def load_or_create_archive_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The ECDSA P-256 key that signs records.xml; created (0600) beside the till key on first use."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyFileError(
                f"{path} : clé privée lisible par d'autres comptes (mode {mode:o}) ; faites `chmod 600 {path}`."
            )
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
            raise KeyFileError(
                f"{path} : ce n'est pas une clé privée ECDSA P-256 ; restaurez la clé d'archive."
            )
        return private
    private = ec.generate_private_key(ec.SECP256R1())
    write_private_key(path, private)
    return private


def archive_certificate(
    key: SigningKey, till: str, archive_public: ec.EllipticCurvePublicKey
) -> x509.Certificate:
    """The archive key's certificate, signed by the till's Ed25519 key (deterministic for a key pair)."""
    spki = archive_public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    serial = int.from_bytes(hashlib.sha256(spki + key.key_id.encode()).digest()[:19], "big") | 1
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"NF525 till {till} key {key.key_id}")])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"NF525 archives till {till}")])
    builder = (
        x509.CertificateBuilder()
        .issuer_name(issuer)
        .subject_name(subject)
        .public_key(archive_public)
        .serial_number(serial)
        .not_valid_before(_CERT_NOT_BEFORE)
        .not_valid_after(_CERT_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(key.private_key, None)


# -- building --------------------------------------------------------------------------------------


def _period_records(
    conn: sqlite3.Connection, till: str, start: str, end: str
) -> dict[str, tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]]:
    """journal → (anchor row or None, rows of the period as one contiguous run); rows are (id, *COLUMNS)."""
    spans = conn.execute(
        "SELECT journal, MIN(seq), MAX(seq) FROM fiscal_record WHERE till = ? AND day BETWEEN ? AND ? "
        "GROUP BY journal",
        (till, start, end),
    ).fetchall()
    order = {journal: index for index, journal in enumerate(JOURNALS)}
    result: dict[str, tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]] = {}
    for journal, first, last in sorted(spans, key=lambda s: (order.get(s[0], len(order)), s[0])):
        rows = conn.execute(
            f"SELECT id, {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND seq BETWEEN ? AND ? "
            "ORDER BY seq",
            (till, journal, first, last),
        ).fetchall()
        anchor = conn.execute(
            f"SELECT id, {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND seq < ? "
            "ORDER BY seq DESC LIMIT 1",
            (till, journal, first),
        ).fetchone()
        result[journal] = (tuple(anchor) if anchor else None, [tuple(row) for row in rows])
    return result


def _set_text(element: Any, value: str) -> None:
    try:
        element.text = value
    except ValueError:
        element.set("encodage", "base64")
        element.text = base64.b64encode(value.encode("utf-8", errors="surrogatepass")).decode("ascii")


def _record_element(parent: Any, row: tuple[Any, ...]) -> None:
    element = etree.SubElement(parent, "enregistrement", id=str(row[0]))
    for name, value in zip(COLUMN_NAMES, row[1:], strict=True):
        child = etree.SubElement(element, name)
        if value is not None:
            _set_text(child, str(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip_info(name: str, when: dt.datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _notice(
    *,
    till: str,
    period: str,
    start: str,
    end: str,
    generated: str,
    counts: dict[str, int],
    anchors: dict[str, int],
    key_ids: list[str],
    cert: x509.Certificate,
    fec_entries: int,
    config: dict[str, Any],
    fec_name: str,
) -> str:
    journals = "\n".join(
        f"  - {JOURNAL_LABELS.get(j, j)} ({j}) : {n} enregistrement(s)"
        + (f", ancre n°{anchors[j]}" if j in anchors else "")
        for j, n in counts.items()
    )
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    FEC = fec_name  # noqa: N806 (the notice names the archive's own FEC file)
    return (
        f"""ARCHIVE FISCALE NF525
=====================

Caisse : {till}
Période : {period} (du {start} au {end} inclus, jours calendaires locaux ; une année est l'année civile)
Générée le : {generated} (UTC)

Contenu
-------
- {RECORDS} : tous les enregistrements fiscaux signés de la période, pour tous les journaux, avec toutes
  leurs colonnes (le corps « body » est le texte JSON canonique exact qui a été signé) :
{journals or "  (aucun enregistrement sur la période)"}
  Pour chaque journal, l'enregistrement qui précède la période (l'« ancre ») est joint, pour vérifier
  le chaînage du premier enregistrement. Le fichier contient aussi les clés publiques de la caisse,
  l'empreinte SHA-256 des autres fichiers de l'archive et le plan de comptes utilisé pour {FEC}.
  Il est signé en XML-DSig (signature enveloppée, ECDSA P-256 / SHA-256, XML canonique 1.1).
- {PUBKEY} : la ou les clés publiques Ed25519 de la caisse ({", ".join(key_ids)}).
- {FEC} : les tickets en écritures comptables au format FEC (art. A47 A-1 du LPF), une écriture par
  ticket du journal des tickets (hors formation et duplicatas) : {fec_entries} écriture(s).
  Journal comptable : {config["journal_code"]} « {config["journal_label"]} ».
  Nommé SIRENFECAAAAMMJJ.txt (SIREN de l'entreprise, date de clôture de la période, art. A47 A-1).
  18 colonnes séparées par « | », dates AAAAMMJJ, montants à virgule décimale, encodage ISO-8859-15,
  fins de ligne CRLF. Débit : comptes de règlement (espèces nettes du rendu) ; crédit : ventes HT et TVA
  collectée par taux ; un retour est l'écriture inverse. EcritureNum est le numéro du ticket, PieceRef
  le numéro imprimé sur le ticket.
- {NOTICE} : ce fichier (UTF-8).

Signatures
----------
Chaque enregistrement est signé en Ed25519 par la clé de la caisse et chaîné au précédent du même
journal (signature précédente incluse dans le message signé). Le fichier {RECORDS} est signé par une clé
d'archivage ECDSA P-256 dont le certificat X.509 (dans la signature XML) est lui-même signé par la clé
Ed25519 de la caisse : seule la clé de la caisse peut produire une archive valide.
Empreinte SHA-256 du certificat d'archivage : {fingerprint}

Vérification
------------
Avec le logiciel de caisse (ou le seul paquet « fiscal » et ses dépendances cryptography, lxml, signxml) :

    python -m fiscal.verify ARCHIVE.zip --pubkey cle-publique.pem

où cle-publique.pem est la clé publique publiée de la caisse, obtenue par un autre canal que l'archive
(sans --pubkey, seule la cohérence interne de l'archive est vérifiée). Le code de sortie est 0 quand tout
est intègre ; sinon chaque problème est décrit sur une ligne. Ajoutez --json pour un rapport lisible par
une machine. La vérification contrôle : les fichiers de l'archive et leurs empreintes, la signature XML
et son certificat, la signature Ed25519 et le chaînage de chaque enregistrement, les totaux des tickets et
les grands totaux, la concordance de la clé avec la clé publiée, l'équilibre de chaque écriture du FEC et
sa concordance avec les tickets.

Vérification avec les outils standards
--------------------------------------
Sans le logiciel de caisse, les lignes qui suivent, de « {AUDIT_BEGIN} » à « {AUDIT_END} », forment un
script : copiez-les dans un fichier verifier.sh et lancez `bash verifier.sh` (ou tapez les commandes une à
une). Il s'arrête à la première vérification qui échoue. Les totaux des tickets, les grands totaux et le
chaînage de tous les enregistrements se recalculent aussi avec docs/verify_independent.py (dans le code
source du logiciel ; python3 et le paquet cryptography seulement).

"""
        + AUDIT_SCRIPT
    )


def build_archive(
    conn: sqlite3.Connection,
    key: SigningKey,
    till: str,
    period: str,
    out: Path,
    *,
    siren: str,
    fec_config: dict[str, Any] | None = None,
    when: dt.datetime | None = None,
) -> ArchiveInfo:
    """Write the archive of `period` to `out` (a .zip path, or a directory: archive-<till>-<period>.zip).

    `siren` (the shop's SIREN, or its SIRET) names the FEC member `SIRENFECAAAAMMJJ.txt`, AAAAMMJJ being
    the period's last day. `fec_config` overrides `fiscal.fec.DEFAULT_FEC_ACCOUNTS`; `when` (timezone-aware, default now) is the
    generation time written in the archive. The ZIP is written to a temporary file, then renamed.
    """
    start_date, end_date = period_bounds(period)
    start, end = start_date.isoformat(), end_date.isoformat()
    when = when or dt.datetime.now(dt.UTC).astimezone()
    generated, _, _ = stamp(when)
    if out.is_dir():
        out = out / f"archive-{till}-{period}.zip"
    config = _fec_config(fec_config)
    try:
        fec_name = fec_filename(siren, end_date)
    except FecError as exc:
        raise ArchiveError(f"nom du fichier FEC impossible : {exc}") from exc

    key_rows = conn.execute(
        "SELECT key_id, till, public_pem, created_utc FROM fiscal_key WHERE till = ? ORDER BY created_utc, key_id",
        (till,),
    ).fetchall()
    if key.key_id not in {row[0] for row in key_rows}:
        raise ArchiveError(f"la clé {key.key_id} n'est pas enregistrée pour la caisse {till}")
    archive_private = load_or_create_archive_key(archive_key_path(key))
    cert = archive_certificate(key, till, archive_private.public_key())

    journals = _period_records(conn, till, start, end)
    counts = {journal: len(rows) for journal, (_, rows) in journals.items()}
    anchors = {journal: anchor[3] for journal, (anchor, _) in journals.items() if anchor is not None}
    in_period = [
        Record.from_row(row[1:]) for _, rows in journals.values() for row in rows if start <= row[7] <= end
    ]
    try:
        fec = build_fec(in_period, config)
    except FecError as exc:
        raise ArchiveError(f"export FEC impossible : {exc}") from exc
    fec_count = len(ticket_entries(in_period, config))
    pubkeys = "".join(row[2] if row[2].endswith("\n") else row[2] + "\n" for row in key_rows).encode("ascii")
    notice = _notice(
        till=till,
        period=period,
        start=start,
        end=end,
        generated=generated,
        counts=counts,
        anchors=anchors,
        key_ids=[row[0] for row in key_rows],
        cert=cert,
        fec_entries=fec_count,
        config=config,
        fec_name=fec_name,
    ).encode("utf-8")

    root = etree.Element(
        ROOT_TAG,
        version=str(FORMAT_VERSION),
        caisse=till,
        periode=period,
        du=start,
        au=end,
        genere=generated,
    )
    keys_element = etree.SubElement(root, "cles")
    for key_id, key_till, pem, created in key_rows:
        etree.SubElement(keys_element, "cle", key_id=key_id, till=key_till, created_utc=created).text = pem
    etree.SubElement(root, "fec", ecritures=str(fec_count)).text = canonical.dumps(config)
    files = etree.SubElement(root, "fichiers")
    for name, data in ((NOTICE, notice), (PUBKEY, pubkeys), (fec_name, fec)):
        etree.SubElement(files, "fichier", nom=name, sha256=sha256_hex(data), octets=str(len(data)))
    for journal, (anchor, rows) in journals.items():
        element = etree.SubElement(root, "journal", nom=journal, enregistrements=str(len(rows)))
        if anchor is not None:
            _record_element(etree.SubElement(element, "ancre"), anchor)
        for row in rows:
            _record_element(element, row)
    etree.indent(root)
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1,
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    signed = signer.sign(root, key=archive_private, cert=[cert_pem])
    records_xml = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, data in ((NOTICE, notice), (RECORDS, records_xml), (PUBKEY, pubkeys), (fec_name, fec)):
            archive.writestr(_zip_info(name, when), data)
    os.replace(tmp, out)
    data = out.read_bytes()
    return ArchiveInfo(
        path=out,
        sha256=sha256_hex(data),
        period=period,
        start=start,
        end=end,
        records=counts,
        anchors=anchors,
        fec_entries=fec_count,
        size=len(data),
    )


def _fec_config(overrides: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return fec_config(overrides)
    except (FecError, TypeError, ValueError, AttributeError) as exc:
        raise ArchiveError(f"configuration FEC invalide : {exc}") from exc


__all__ = [
    "ARCHIVE_KEY_FILE",
    "ArchiveError",
    "ArchiveInfo",
    "MEMBERS",
    "archive_certificate",
    "archive_key_path",
    "build_archive",
    "load_or_create_archive_key",
    "period_bounds",
]
