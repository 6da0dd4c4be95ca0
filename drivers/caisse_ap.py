"""Caisse-AP over IP: the till (client) asks a payment terminal (TCP server) for a debit, refund or cancel.

Caisse-AP is the caisse ↔ TPE protocol of the Association du Paiement (the successor of Concert, V3),
spoken over TCP by current Ingenico, Verifone, PAX and Worldline terminals in France. docs/caisse-ap.md
says which sources each detail comes from and which details are assumptions.

A message is a sequence of fields ``TT LLL value``: a two-character tag, the value's length as three
ASCII digits (001-999) and the value, in ASCII, without any envelope (no STX/ETX, no LRC over TCP).
``CZ`` (protocol version) comes first; the order of the other fields does not matter. The request::

    CZ 4   protocol version, "0300"          CJ 12  the till's protocol identifier
    CA 2   caisse (till) number, "01"        CB 2-12 amount in cents, at least 2 digits
    CD 1   0 debit, 1 credit (refund), 2 cancel (annulation)
    CE 3   ISO 4217 numeric currency, "978"  BA 1   "0": answer at the end of the transaction
    CK 3   (optional) "100": send the customer ticket back to the till, Latin-1 in base 64

The answer echoes CZ, CJ, CA, CB, CD, CE and adds AE (status: "10" done, "01" not done), AF (why it
was not done), AA (the card number, partial), AC (authorisation number), CI (how the card was read),
CC (card application), and ZT (the ticket: CK + AK, base 64) when asked.

One TCP connection per operation: connect (`Timeouts.connect`), send the request, read the answer (up to
`Timeouts.answer` while the customer pays), close. TCP gives a stream, not messages: the answer is
complete when the bytes read are a whole number of fields holding AE and nothing more arrives for
`Timeouts.settle` (or the terminal closes the connection).

The lost-answer rule is the one of Concert (drivers/payment.py): once a byte of the request may have
reached the terminal, a missing, cut or unreadable answer is "unknown" — the payment may have been
made, and only the terminal's screen or ticket can tell. It is never taken as declined nor as approved.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from drivers.concert import TransactionType, mask_pan
from drivers.payment import (
    _APPROVED,
    _CHECK_TERMINAL,
    _NOTHING_DONE,
    BUSY,
    PaymentResult,
    _checked_amount,
    euros,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 8888  # the port Caisse-AP terminals listen on unless configured otherwise
VERSION = "0300"
PROTOCOL_ID = "012345678901"  # CJ: assigned by the AP to a till software; informational for terminals
CURRENCY_EUR = "978"
ANSWER_AT_END = "0"
TICKET_CUSTOMER_LATIN1 = "100"
MAX_AMOUNT_CENTS = 999_999_999_999  # CB holds at most 12 digits
MAX_MESSAGE = 65_536  # an answer longer than this is not a Caisse-AP answer

KIND_CODES: dict[TransactionType, str] = {"debit": "0", "refund": "1", "cancel": "2"}
STATUS_DONE = "10"
STATUS_NOT_DONE = "01"

_TAG = re.compile(rb"[A-Z0-9]{2}")


class FrameError(ValueError):
    """Bytes that are not a sequence of Caisse-AP fields, or not the message expected."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds: `connect` to open the connection (and to send), `answer` from the request sent to the
    answer's last byte, `byte` the longest pause inside an answer, `settle` the quiet time after what
    looks like a whole answer before it is taken as complete."""

    connect: float = 5
    answer: float = 120
    byte: float = 3
    settle: float = 0.2

    def __post_init__(self) -> None:
        for name in ("connect", "answer", "byte", "settle"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"timeout {name} must be a positive number of seconds, not {value!r}")


# --------------------------------------------------------------------------------------------------------
# Fields


def encode_fields(fields: Iterable[tuple[str, str]]) -> bytes:
    """TT LLL value, for each field, in the order given."""
    out = bytearray()
    for tag, value in fields:
        if not _TAG.fullmatch(tag.encode("ascii", "replace")):
            raise FrameError(f"a tag is two capital letters or digits, not {tag!r}")
        data = value.encode("ascii")  # UnicodeEncodeError is a ValueError: the caller's bug
        if not 1 <= len(data) <= 999:
            raise FrameError(f"field {tag} must hold 1 to 999 characters, not {len(data)}")
        if any(b < 0x20 or b > 0x7E for b in data):
            raise FrameError(f"field {tag} must be printable ASCII, not {value!r}")
        out += tag.encode("ascii") + f"{len(data):03d}".encode("ascii") + data
    return bytes(out)


def _walk(data: bytes) -> tuple[list[tuple[str, str]], int]:
    """The whole fields at the start of `data` and where they end; FrameError for bytes that cannot be
    the start of a field."""
    fields: list[tuple[str, str]] = []
    at = 0
    while at < len(data):
        head = data[at : at + 5]
        if not _TAG.fullmatch(head[:2]) and len(head) >= 2:
            raise FrameError(f"bad tag {head[:2]!r} at byte {at}")
        if len(head) < 5:
            break
        if not head[2:].isdigit():
            raise FrameError(f"bad length {head[2:]!r} for field {head[:2].decode()} at byte {at}")
        length = int(head[2:])
        if length == 0:
            raise FrameError(f"empty field {head[:2].decode()} at byte {at}")
        value = data[at + 5 : at + 5 + length]
        if len(value) < length:
            break
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError as exc:
            raise FrameError(f"field {head[:2].decode()} is not ASCII: {value!r}") from exc
        fields.append((head[:2].decode("ascii"), text))
        at += 5 + length
    return fields, at


def decode_fields(data: bytes) -> list[tuple[str, str]]:
    """Every field of a whole message; FrameError when it is not exactly a sequence of fields."""
    fields, end = _walk(data)
    if end != len(data):
        raise FrameError(f"message cut short: {len(data) - end} bytes after the last whole field")
    return fields


def is_complete(data: bytes, required: str = "AE") -> bool:
    """Whether `data` is a whole message holding `required` (FrameError when it cannot become one)."""
    if len(data) > MAX_MESSAGE:
        raise FrameError(f"message longer than {MAX_MESSAGE} bytes")
    fields, end = _walk(data)
    return end == len(data) and any(tag == required for tag, _ in fields)


def _unique(fields: Sequence[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag, value in fields:
        if tag in found:
            raise FrameError(f"field {tag} appears twice")
        found[tag] = value
    return found


# --------------------------------------------------------------------------------------------------------
# Messages


def _checked_pos(pos: str) -> str:
    if not (isinstance(pos, str) and len(pos) == 2 and pos.isascii() and pos.isdigit()):
        raise ValueError(f"pos must be two digits like '01', not {pos!r}")
    return pos


@dataclass(frozen=True)
class CaisseApRequest:
    """What the till asks: one debit, refund or cancel of `amount_cents` on till `pos`."""

    amount_cents: int
    kind: TransactionType = "debit"
    pos: str = "01"
    currency: str = CURRENCY_EUR
    version: str = VERSION
    protocol_id: str = PROTOCOL_ID
    ticket: bool = False

    def __post_init__(self) -> None:
        _checked_amount(self.amount_cents)
        if not 1 <= self.amount_cents <= MAX_AMOUNT_CENTS:
            raise ValueError(f"amount_cents must be 1 to {MAX_AMOUNT_CENTS}, not {self.amount_cents}")
        if self.kind not in KIND_CODES:
            raise ValueError(f"kind must be debit, refund or cancel, not {self.kind!r}")
        _checked_pos(self.pos)
        for name, size in (("currency", 3), ("version", 4), ("protocol_id", 12)):
            value = getattr(self, name)
            if not (isinstance(value, str) and len(value) == size and value.isascii() and value.isdigit()):
                raise ValueError(f"{name} must be {size} digits, not {value!r}")

    def fields(self) -> list[tuple[str, str]]:
        fields = [
            ("CZ", self.version),
            ("CJ", self.protocol_id),
            ("CA", self.pos),
            ("CB", f"{self.amount_cents:02d}"),
            ("CD", KIND_CODES[self.kind]),
            ("CE", self.currency),
            ("BA", ANSWER_AT_END),
        ]
        if self.ticket:
            fields.append(("CK", TICKET_CUSTOMER_LATIN1))
        return fields

    def encode(self) -> bytes:
        return encode_fields(self.fields())


def decode_request(data: bytes) -> CaisseApRequest:
    """The terminal's side: the request in a whole message (FrameError when a field is missing or wrong)."""
    fields = _unique(decode_fields(data))
    missing = [tag for tag in ("CZ", "CJ", "CA", "CB", "CD", "CE") if tag not in fields]
    if missing:
        raise FrameError(f"request without {', '.join(missing)}")
    kinds = {code: kind for kind, code in KIND_CODES.items()}
    if fields["CD"] not in kinds:
        raise FrameError(f"unknown action type CD={fields['CD']!r}")
    if not fields["CB"].isdigit():
        raise FrameError(f"the amount CB must be digits, not {fields['CB']!r}")
    try:
        return CaisseApRequest(
            amount_cents=int(fields["CB"]),
            kind=kinds[fields["CD"]],
            pos=fields["CA"],
            currency=fields["CE"],
            version=fields["CZ"],
            protocol_id=fields["CJ"],
            ticket=fields.get("CK", "").startswith("1"),
        )
    except (TypeError, ValueError) as exc:
        raise FrameError(f"bad request: {exc}") from exc


@dataclass(frozen=True)
class CaisseApAnswer:
    """The terminal's answer, decoded. `amount_cents` is None when CB is absent (a terminal leaves it out
    of some refusals); `ticket` is the customer ticket's text when one was sent."""

    status: str  # AE
    detail: str | None  # AF
    pos: str | None  # CA
    kind_code: str | None  # CD
    currency: str | None  # CE
    amount_cents: int | None  # CB
    masked_pan: str | None  # AA, masked again: at most the first 6 and last 4 digits
    authorisation: str | None  # AC
    entry: str | None  # CI: 1 contact, 2 contactless, 3 magnetic stripe, 4 typed
    application: str | None  # CC
    ticket: str | None  # ZT → AK, decoded
    raw: bytes = field(repr=False, default=b"")


def _ticket_text(zt: str) -> str | None:
    inner = _unique(decode_fields(zt.encode("ascii")))
    data = inner.get("AK")
    if data is None:
        return None
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameError(f"the ticket AK is not base 64: {exc}") from exc
    if inner.get("CK", TICKET_CUSTOMER_LATIN1)[2:3] == "1":  # HTML: kept as the terminal wrote it
        return decoded.decode("utf-8", "replace")
    return decoded.decode("latin-1")


def parse_answer(data: bytes) -> CaisseApAnswer:
    """Decode a whole answer; FrameError when it is not one (no AE, a bad field, a field twice)."""
    fields = _unique(decode_fields(data))
    status = fields.get("AE")
    if status is None:
        raise FrameError("answer without the status field AE")
    amount: int | None = None
    if "CB" in fields:
        if not fields["CB"].isdigit():
            raise FrameError(f"the amount CB must be digits, not {fields['CB']!r}")
        amount = int(fields["CB"])
    return CaisseApAnswer(
        status=status,
        detail=fields.get("AF"),
        pos=fields.get("CA"),
        kind_code=fields.get("CD"),
        currency=fields.get("CE"),
        amount_cents=amount,
        masked_pan=mask_pan(fields["AA"].replace("#", "*")) if "AA" in fields else None,
        authorisation=fields.get("AC"),
        entry=fields.get("CI"),
        application=fields.get("CC"),
        ticket=_ticket_text(fields["ZT"]) if "ZT" in fields else None,
        raw=data,
    )


def encode_answer(fields: Sequence[tuple[str, str]]) -> bytes:
    """The terminal's side: CZ first, then the others in the order given."""
    ordered = [f for f in fields if f[0] == "CZ"] + [f for f in fields if f[0] != "CZ"]
    return encode_fields(ordered)


def ticket_field(text: str) -> str:
    """The ZT value carrying `text` as the customer ticket (Latin-1, base 64)."""
    data = base64.b64encode(text.encode("latin-1", "replace")).decode("ascii")
    return encode_fields([("CK", TICKET_CUSTOMER_LATIN1), ("AK", data)]).decode("ascii")


# --------------------------------------------------------------------------------------------------------
# The exchange

ExchangeFailure = Literal["unreachable", "send", "no_answer", "closed", "cut_short", "malformed"]


class ExchangeError(Exception):
    """The exchange failed. `request_sent`: the terminal may hold the request (the payment may have been
    made). `raw`: what the terminal sent, kept for the record."""

    def __init__(self, kind: ExchangeFailure, detail: str, *, request_sent: bool, raw: bytes = b""):
        super().__init__(f"{kind}: {detail}")
        self.kind: ExchangeFailure = kind
        self.detail = detail
        self.request_sent = request_sent
        self.raw = raw


def exchange(host: str, port: int, request: bytes, timeouts: Timeouts) -> bytes:
    """Connect, send `request`, return the whole answer; raise ExchangeError."""
    try:
        sock = socket.create_connection((host, port), timeout=timeouts.connect)
    except OSError as exc:  # refused, no route, DNS, timeout: nothing was sent
        raise ExchangeError("unreachable", f"{host}:{port}: {exc}", request_sent=False) from exc
    with sock:
        try:
            sock.sendall(request)
        except OSError as exc:  # some bytes may have gone out
            raise ExchangeError("send", f"send failed: {exc}", request_sent=True) from exc
        return _read_answer(sock, timeouts)


def _read_answer(sock: socket.socket, timeouts: Timeouts) -> bytes:
    deadline = time.monotonic() + timeouts.answer
    data = bytearray()
    complete = False
    while True:
        remaining = deadline - time.monotonic()
        if complete:
            wait = min(timeouts.settle, max(remaining, 0.001))
        elif data:
            wait = min(timeouts.byte, remaining)
        else:
            wait = remaining
        if wait <= 0:
            raise _timed_out(bytes(data), timeouts)
        sock.settimeout(wait)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            if complete:
                return bytes(data)
            raise _timed_out(bytes(data), timeouts) from None
        except OSError as exc:
            if complete:
                return bytes(data)
            raise ExchangeError("closed", f"read failed: {exc}", request_sent=True, raw=bytes(data)) from exc
        if not chunk:
            if complete:
                return bytes(data)
            if not data:
                raise ExchangeError("closed", "the terminal closed the connection", request_sent=True)
            raise ExchangeError(
                "cut_short", "connection closed mid-answer", request_sent=True, raw=bytes(data)
            )
        data += chunk
        try:
            complete = is_complete(bytes(data))
        except FrameError as exc:
            raise ExchangeError("malformed", str(exc), request_sent=True, raw=bytes(data)) from exc


def _timed_out(data: bytes, timeouts: Timeouts) -> ExchangeError:
    if data:
        return ExchangeError("cut_short", "the answer stopped before its end", request_sent=True, raw=data)
    return ExchangeError("no_answer", f"no answer within {timeouts.answer:g} s", request_sent=True)


# --------------------------------------------------------------------------------------------------------
# Messages for the cashier

_OPERATION: dict[TransactionType, tuple[str, str]] = {  # the noun, and the ending of its adjectives
    "debit": ("Paiement", ""),
    "refund": ("Remboursement", ""),
    "cancel": ("Annulation", "e"),
}
_RETRY: dict[TransactionType, str] = {
    "debit": "Proposez de réessayer ou un autre moyen de paiement.",
    "refund": "Vérifiez la carte et réessayez, ou remboursez autrement.",
    "cancel": "La transaction d'origine reste valable : regardez le ticket du terminal.",
}
# AF when AE = "01": the terminal's word for why nothing was done. {op} is the operation, {e} the ending.
_REFUSALS = {
    "04": "{op} refusé{e} par la banque",
    "05": "Carte interdite : {op_l} refusé{e} par la banque",
    "06": "{op} abandonné{e} sur le terminal",
    "07": "{op} non abouti{e} : le terminal n'a pas pu joindre la banque",
    "08": "Délai de saisie dépassé sur le terminal (carte ou code non présenté)",
    "11": "{op} abandonné{e} sur le terminal (touche Annulation)",
    "02": "Le terminal demande un appel à la banque (appel phonie) : {op_l} non effectué{e}",
    "03": "Le terminal demande un forçage : {op_l} non effectué{e}",
}
# AF codes that say the terminal could not take the till's request: a configuration matter.
_REJECTED = {
    "09": "le message de la caisse est mal formé",
    "10": "erreur de sélection de l'application",
    "12": "type d'opération inconnu du terminal",
    "13": "devise non acceptée par le terminal",
}

_THEN: dict[TransactionType, str] = {  # after « vérifiez sur le terminal si le paiement est passé »
    "debit": "S'il indique « accepté », validez le paiement carte ; sinon, relancez le paiement ou "
    "encaissez autrement.",
    "refund": "S'il indique « accepté », validez le remboursement ; sinon, relancez-le.",
    "cancel": "S'il indique « accepté », validez l'annulation ; sinon, relancez-la.",
}

UNREACHABLE = "Terminal injoignable : vérifiez le câble réseau, que le terminal est allumé et son adresse"
TIMEOUT = "Délai dépassé : vérifiez sur le terminal si le paiement est passé."
_TIMEOUT: dict[TransactionType, str] = {
    "debit": TIMEOUT,
    "refund": "Délai dépassé : vérifiez sur le terminal si le remboursement est passé.",
    "cancel": "Délai dépassé : vérifiez sur le terminal si l'annulation est passée.",
}
LINK_LOST = "Liaison réseau avec le terminal coupée après l'envoi de la demande."
CUT_SHORT = "Réponse du terminal incomplète (liaison coupée ou trop lente)."
UNREADABLE = "Réponse du terminal illisible (message Caisse-AP mal formé)."


@dataclass(frozen=True)
class CaisseApResult(PaymentResult):
    """A PaymentResult with what a Caisse-AP terminal tells besides: the authorisation number, how the
    card was read (CI), the customer ticket's text when asked, and the answer as received."""

    authorisation: str | None = None
    entry: str | None = None
    ticket: str | None = None
    raw_answer: bytes = field(default=b"", repr=False)


def _refused(kind: TransactionType, amount: int, answer: CaisseApAnswer) -> CaisseApResult:
    op, e = _OPERATION[kind]
    code = answer.detail or ""
    if code in _REJECTED:
        reason = (
            f"Le terminal n'a pas pu traiter la demande ({_REJECTED[code]}, code AF {code}) : vérifiez le "
            f"réglage Caisse-AP du terminal et de la caisse. {_NOTHING_DONE[kind]}"
        )
        return CaisseApResult(
            "error", amount, answer.masked_pan, reason, entry=answer.entry, raw_answer=answer.raw
        )
    if code == "01":  # « opération non effectuée » and « transaction autorisée » at once
        reason = f"Le terminal a donné une réponse contradictoire (AE 01, AF 01). {_CHECK_TERMINAL[kind]}"
        return CaisseApResult(
            "unknown", amount, answer.masked_pan, reason, entry=answer.entry, raw_answer=answer.raw
        )
    template = _REFUSALS.get(code, "{op} non effectué{e} par le terminal")
    first = template.format(op=op, op_l=op.lower(), e=e)
    reason = f"{first} : {_NOTHING_DONE[kind][0].lower()}{_NOTHING_DONE[kind][1:]} {_RETRY[kind]}"
    return CaisseApResult(
        "refused", amount, answer.masked_pan, reason, entry=answer.entry, raw_answer=answer.raw
    )


def result_from_answer(request: CaisseApRequest, answer: CaisseApAnswer) -> CaisseApResult:
    """What the terminal's answer means for the cashier: an approval counts only when it echoes the till,
    the operation, the currency and the amount asked."""
    kind, asked = request.kind, request.amount_cents
    check = _CHECK_TERMINAL[kind]

    def unknown(first: str, amount: int = asked) -> CaisseApResult:
        return CaisseApResult(
            "unknown",
            amount,
            answer.masked_pan,
            f"{first} {check}",
            entry=answer.entry,
            raw_answer=answer.raw,
        )

    if answer.pos is not None and answer.pos != request.pos:
        return unknown(f"Le terminal a répondu pour la caisse {answer.pos} au lieu de {request.pos}.")
    if answer.status == STATUS_NOT_DONE:
        return _refused(kind, asked, answer)
    if answer.status != STATUS_DONE:
        return unknown(f"Réponse inattendue du terminal (statut AE « {answer.status} »).")
    if answer.kind_code is not None and answer.kind_code != KIND_CODES[kind]:
        return unknown(f"Le terminal a répondu pour une autre opération (CD « {answer.kind_code} »).")
    if answer.currency is not None and answer.currency != request.currency:
        return unknown(f"Le terminal a répondu dans une autre devise (CE « {answer.currency} »).")
    if answer.amount_cents is None:
        return unknown("Le terminal n'a pas confirmé le montant.")
    if answer.amount_cents != asked:
        return unknown(
            f"Le terminal a répondu pour {euros(answer.amount_cents)} au lieu de {euros(asked)}.",
            answer.amount_cents,
        )
    reason = _APPROVED[kind] + (f" Autorisation n° {answer.authorisation}." if answer.authorisation else "")
    return CaisseApResult(
        "approved",
        asked,
        answer.masked_pan,
        reason,
        authorisation=answer.authorisation,
        entry=answer.entry,
        ticket=answer.ticket,
        raw_answer=answer.raw,
    )


def result_from_failure(kind: TransactionType, amount: int, exc: ExchangeError, where: str) -> CaisseApResult:
    """A failed exchange: "error" when nothing reached the terminal, "unknown" once it may have."""
    if not exc.request_sent:
        reason = f"{UNREACHABLE} ({where}). {_NOTHING_DONE[kind]}"
        return CaisseApResult("error", amount, None, reason, raw_answer=exc.raw)
    first = {
        "no_answer": TIMEOUT,
        "closed": LINK_LOST,
        "send": LINK_LOST,
        "cut_short": CUT_SHORT,
        "malformed": UNREADABLE,
    }.get(exc.kind, TIMEOUT)
    if first == TIMEOUT:  # the phrase already says to look at the terminal: only what to do then
        return CaisseApResult("unknown", amount, None, f"{_TIMEOUT[kind]} {_THEN[kind]}", raw_answer=exc.raw)
    return CaisseApResult("unknown", amount, None, f"{first} {_CHECK_TERMINAL[kind]}", raw_answer=exc.raw)


# --------------------------------------------------------------------------------------------------------
# The terminal


class CaisseApTerminal:
    """A payment terminal speaking Caisse-AP on `host`:`port` (a PaymentTerminal).

    `pos` is the till's number on the terminal (CA), used when an operation is not given one. Every
    operation blocks until the terminal answers (callers run it in a worker thread); one at a time: a
    call made while another runs returns an "error" result at once. `last_raw_answer` keeps the bytes of
    the last answer, readable or not, for the technician.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        pos: str = "01",
        timeouts: Timeouts | None = None,
        version: str = VERSION,
        protocol_id: str = PROTOCOL_ID,
        ticket: bool = False,
    ):
        self.host = host
        self.port = port
        self.pos = _checked_pos(pos)
        self.timeouts = timeouts or Timeouts()
        self.version = version
        self.protocol_id = protocol_id
        self.ticket = ticket
        self.last_raw_answer: bytes = b""
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def debit(self, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.run("debit", amount_cents, pos)

    def refund(self, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.run("refund", amount_cents, pos)

    def cancel(self, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.run("cancel", amount_cents, pos)

    def run(self, kind: TransactionType, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        _checked_amount(amount_cents)
        if not 1 <= amount_cents <= MAX_AMOUNT_CENTS:
            reason = (
                f"Montant impossible pour le terminal ({euros(amount_cents)}) : il doit être entre "
                f"{euros(1)} et {euros(MAX_AMOUNT_CENTS)}. {_NOTHING_DONE[kind]}"
            )
            return CaisseApResult("error", amount_cents, None, reason)
        request = CaisseApRequest(
            amount_cents,
            kind,
            pos=self.pos if pos is None else pos,
            version=self.version,
            protocol_id=self.protocol_id,
            ticket=self.ticket,
        )
        if not self._lock.acquire(blocking=False):
            return CaisseApResult("error", amount_cents, None, f"{BUSY} {_NOTHING_DONE[kind]}")
        try:
            data = request.encode()
            log.info("caisse-ap %s request %r", self.address, data)
            try:
                raw = exchange(self.host, self.port, data, self.timeouts)
            except ExchangeError as exc:
                self.last_raw_answer = exc.raw
                log.warning(
                    "caisse-ap %s (%s %d): %s; received %r", self.address, kind, amount_cents, exc, exc.raw
                )
                return result_from_failure(kind, amount_cents, exc, self.address)
            self.last_raw_answer = raw
            log.info("caisse-ap %s answer %r", self.address, raw)
            try:
                answer = parse_answer(raw)
            except FrameError as exc:
                log.warning("caisse-ap %s: unreadable answer %r: %s", self.address, raw, exc)
                failure = ExchangeError("malformed", str(exc), request_sent=True, raw=raw)
                return result_from_failure(kind, amount_cents, failure, self.address)
            result = result_from_answer(request, answer)
            log.info("caisse-ap %s %s %d: %s", self.address, kind, amount_cents, result.outcome)
            return result
        finally:
            self._lock.release()

    def reachable(self) -> str | None:
        """Open and close a connection, sending nothing: None when it works, else the reason (French)."""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeouts.connect):
                return None
        except OSError as exc:
            log.info("caisse-ap %s unreachable: %s", self.address, exc)
            return f"{UNREACHABLE} ({self.address})."

    def close(self) -> None:
        """Nothing held between operations: every operation opens its own connection."""
