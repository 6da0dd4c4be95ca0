"""The portal's check of every fiscal event on arrival: signature, key and chain link (NF525, issue 15).

A sale, return, closure, archive or JET event carries its record's signed fields
(`fiscal.record_check.SIGNED_FIELDS`). The portal verifies the signature with the till's public key and
that the record extends the last one it received of the same journal, and stores a verdict with the
event:

- `ok`: signed by a trusted key of that till, and it extends the journal as received so far (the first
  record the portal receives of a journal starts it, unless it is n°1, which must chain to nothing);
- `bad_signature`: unreadable as signed, signed by a key the till never registered (or by a key after
  its retirement), another till's record, or a signature that does not match (altered content);
- `broken_link`: a good signature, but not the next record of the journal (a number received again,
  records missing, or another previous signature): a restore on the till or a deletion;
- `unknown_key`: the portal has no key of that till yet (it has published no status with its keys);
- `unverifiable`: an event from before records travelled whole (no previous signature, no offset).

Keys. The till publishes its key registrations in its retained status (`fiscal_keys`, oldest first).
The portal trusts the first key it is shown for a till (trust on first use), and any later key only
when the signed JET KEY_ROTATION record that introduced it (in the status, or received as an event)
verifies with a key it already trusts, as `fiscal.trust` does for the auditor. A key announced without
such a record (a reinstalled till, or an impostor) is refused and raises an alert, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fiscal.journal import Record
from fiscal.keys import KeyFileError
from fiscal.record_check import (
    UnreadableRecord,
    introduced_key,
    link_problem,
    public_key_raw,
    record_from_fields,
    signature_ok,
)

OK = "ok"
BAD_SIGNATURE = "bad_signature"
BROKEN_LINK = "broken_link"
UNKNOWN_KEY = "unknown_key"
UNVERIFIABLE = "unverifiable"

FIRST_USE = "first_use"
ROTATION = "rotation"
REFUSED = "refused"


@dataclass(frozen=True)
class KnownKey:
    key_id: str
    public_pem: str
    trust: str  # FIRST_USE, ROTATION or REFUSED
    introduced_by: str | None  # the key that signed its rotation
    valid_from: str

    @property
    def trusted(self) -> bool:
        return self.trust != REFUSED


@dataclass
class TillState:
    """What the portal knows of one till's keys and journal heads, for one batch of its messages."""

    shop: str
    till: str
    keys: dict[str, KnownKey] = field(default_factory=dict)
    chain: dict[str, tuple[int, str, bool]] = field(default_factory=dict)  # journal: seq, sig, verified
    new_keys: list[KnownKey] = field(default_factory=list)  # to store
    moved: set[str] = field(default_factory=set)  # journals whose head changed
    _raw: dict[str, bytes] = field(default_factory=dict)

    # -- keys -------------------------------------------------------------------------------------
    def _add(self, key: KnownKey) -> None:
        self.keys[key.key_id] = key
        self.new_keys.append(key)

    def _raw_key(self, key: KnownKey) -> bytes:
        if key.key_id not in self._raw:
            self._raw[key.key_id] = public_key_raw(key.public_pem)[1]
        return self._raw[key.key_id]

    def until(self, key_id: str) -> str | None:
        """When the key was retired: the time of the rotation that replaced it."""
        return min(
            (k.valid_from for k in self.keys.values() if k.introduced_by == key_id and k.trusted),
            default=None,
        )

    def learn_status(self, entries: Any) -> list[str]:
        """The key registrations of a status; the problems found (French), each once."""
        if not isinstance(entries, list):
            return []
        problems = []
        first_use = not any(k.trusted for k in self.keys.values())
        for entry in entries:
            try:
                key_id, pem = str(entry["key_id"]), str(entry["public_pem"])
                if public_key_raw(pem)[0] != key_id:
                    continue  # an id that is not the key's digest: nothing to learn from it
                introduction = entry.get("introduced_by")
                since = str(entry.get("from_utc", ""))
            except (KeyError, TypeError, AttributeError, ValueError, KeyFileError):
                continue
            if key_id in self.keys:
                continue
            if first_use:
                self._add(KnownKey(key_id, pem, FIRST_USE, None, since))
                first_use = False
                continue
            problem = None
            try:
                record = record_from_fields(introduction) if isinstance(introduction, dict) else None
            except UnreadableRecord:
                record = None
            if record is None:
                problem = f"clé {key_id} annoncée sans rotation signée par une clé de confiance (caisse réinstallée ?)"
            else:
                problem = self._rotation(record, key_id)
            if problem is not None:
                self._add(KnownKey(key_id, pem, REFUSED, None, since))
                problems.append(problem)
        return problems

    def _rotation(self, record: Record, key_id: str | None = None) -> str | None:
        """Trust the key a KEY_ROTATION record introduces when a trusted key signed it; else why not."""
        introduced = introduced_key(record)
        if introduced is None or (key_id is not None and introduced[0] != key_id):
            return f"clé {key_id} annoncée avec une rotation illisible"
        signer = self.keys.get(record.key_id)
        if (
            record.till != self.till
            or signer is None
            or not signer.trusted
            or not signature_ok(record, self._raw_key(signer))
        ):
            return f"clé {introduced[0]} introduite par une rotation que ne signe aucune clé de confiance"
        if introduced[0] not in self.keys:
            self._add(KnownKey(introduced[0], introduced[1], ROTATION, record.key_id, record.ts_utc))
        return None

    # -- events -----------------------------------------------------------------------------------
    def check(self, payload: dict[str, Any]) -> tuple[str | None, list[str]]:
        """(verdict, problems in French) of one event's payload; verdict None for a non-fiscal event."""
        if not isinstance(payload, dict) or not {"journal", "seq", "sig"} <= payload.keys():
            return None, []
        label = f"{payload.get('journal')} n°{payload.get('seq')}"
        try:
            record = record_from_fields(payload)
        except UnreadableRecord as exc:
            return BAD_SIGNATURE, [f"{label} : enregistrement illisible tel que signé ({exc})"]
        if record is None:
            return self._unverifiable(payload, label)
        verdict, problems = self._verify(record, label)
        if verdict in (OK, BROKEN_LINK):
            self.chain[record.journal] = (record.seq, record.sig, True)
            self.moved.add(record.journal)
            if verdict == OK:
                problems += [p for p in [self._rotation_event(record)] if p]
        return verdict, problems

    def _verify(self, record: Record, label: str) -> tuple[str, list[str]]:
        if record.till != self.till:
            return BAD_SIGNATURE, [f"{label} : enregistrement signé pour la caisse {record.till}"]
        if not any(k.trusted for k in self.keys.values()):
            return UNKNOWN_KEY, [f"{label} : aucune clé publique de la caisse reçue, signature non vérifiée"]
        key = self.keys.get(record.key_id)
        if key is None or not key.trusted:
            return BAD_SIGNATURE, [f"{label} : signé par une clé inconnue de la caisse ({record.key_id})"]
        if not signature_ok(record, self._raw_key(key)):
            return BAD_SIGNATURE, [f"{label} : signature invalide (contenu ou montant modifié, ou autre clé)"]
        retired = self.until(key.key_id)
        if retired is not None and record.ts_utc > retired:
            return BAD_SIGNATURE, [f"{label} : signé par la clé {key.key_id}, retirée le {retired}"]
        previous = self.chain.get(record.journal)
        problem = link_problem(record, previous[:2] if previous else None)
        return (BROKEN_LINK, [problem]) if problem else (OK, [])

    def _rotation_event(self, record: Record) -> str | None:
        if introduced_key(record) is None:
            return None
        return self._rotation(record)

    def _unverifiable(self, payload: dict[str, Any], label: str) -> tuple[str, list[str]]:
        """An event without the signed fields: kept; a downgrade after signed ones is reported."""
        journal, seq, sig = payload.get("journal"), payload.get("seq"), payload.get("sig")
        previous = self.chain.get(str(journal))
        problems = []
        if previous is not None and previous[2]:
            problems.append(f"{label} reçu sans ses champs signés alors que la caisse les envoie")
        if isinstance(journal, str) and isinstance(seq, int) and isinstance(sig, str):
            self.chain[journal] = (seq, sig, False)
            self.moved.add(journal)
        return UNVERIFIABLE, problems
