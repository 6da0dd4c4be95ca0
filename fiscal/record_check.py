"""Checks of one signed record on its own, away from the till (the portal verifying what a till sends).

A record travels as its signed fields (`SIGNED_FIELDS`, the columns of `fiscal_record` that
`canonical.signed_message` covers, plus the signature), the body as a JSON object whose canonical text
(`canonical.dumps`) is exactly the signed body. With the till's public key anyone can then check the
signature, and with the previous record of the same journal the chain link.
"""

from __future__ import annotations

from typing import Any

from . import canonical
from .journal import JET, KEY_ROTATION, Record
from .keys import KeyFileError, key_id_of, load_public_pem, raw_public_key, verify_signature

SIGNED_FIELDS = (
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


class UnreadableRecord(ValueError):
    """The fields are there but cannot be what the till signed (wrong types, a float...)."""


def signed_fields(record: Record) -> dict[str, Any]:
    """What a record must carry to be checked elsewhere (the body as an object)."""
    fields = {name: getattr(record, name) for name in SIGNED_FIELDS}
    fields["body"] = record.data()
    return fields


def record_from_fields(fields: dict[str, Any]) -> Record | None:
    """The record these fields describe; None when some signed field is missing (an event sent before
    records travelled whole: it can only be kept as unverifiable)."""
    if not all(name in fields for name in SIGNED_FIELDS):
        return None
    body = fields["body"]
    try:
        text = body if isinstance(body, str) else canonical.dumps(body)
        record = Record(**{name: fields[name] for name in SIGNED_FIELDS if name != "body"}, body=text)
        record.message()  # exact types: an int as text, a bool or a float cannot have been signed
    except TypeError as exc:
        raise UnreadableRecord(str(exc)) from None
    if not isinstance(record.sig, str):
        raise UnreadableRecord("signature illisible")
    return record


def public_key_raw(pem: str) -> tuple[str, bytes]:
    """(key id, 32 raw bytes) of a PEM public key; KeyFileError when it is not an Ed25519 key."""
    key = load_public_pem(pem)
    return key_id_of(key), raw_public_key(key)


def signature_ok(record: Record, raw_key: bytes) -> bool:
    return verify_signature(raw_key, record.sig, record.message())


def link_problem(record: Record, previous: tuple[int, str] | None) -> str | None:
    """What is wrong with the link from `previous` (seq, signature of the last record received of the
    same journal) to `record`, in French; None when it extends it. With no previous record, only a first
    record (n°1) can be checked: any other starts the chain seen from here."""
    label = f"{record.journal} n°{record.seq}"
    if previous is None:
        if record.seq == 1 and record.prev_sig != "":
            return f"{label} : premier enregistrement chaîné à une signature précédente"
        return None
    seq, sig = previous
    if record.seq <= seq:
        return (
            f"{label} reçu alors que le n°{seq} l'est déjà : chaîne rompue "
            "(caisse restaurée d'une copie ancienne ?)"
        )
    if record.seq > seq + 1:
        return f"{label} reçu après le n°{seq} : {record.seq - seq - 1} enregistrement(s) manquant(s)"
    if record.prev_sig != sig:
        return f"{label} ne suit pas le n°{seq} reçu (signature précédente différente) : chaîne rompue"
    return None


def introduced_key(record: Record) -> tuple[str, str] | None:
    """(key id, PEM) of the key a JET KEY_ROTATION record introduces, when the record says so coherently
    (the PEM is an Ed25519 key whose id is the one announced); the caller checks who signed it."""
    if record.journal != JET or record.rtype != KEY_ROTATION:
        return None
    try:
        details = record.data().get("details", {})
        new, pem = details["new"], details["new_pem"]
        key_id, _ = public_key_raw(pem)
    except (ValueError, KeyError, TypeError, AttributeError, KeyFileError):
        return None
    return (key_id, pem) if key_id == new else None
