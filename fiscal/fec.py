"""Accounting export in the French FEC format (Fichier des Écritures Comptables, art. A47 A-1 du LPF).

One accounting entry (écriture) per ticket of the TICKET journal — training tickets and duplicates are not
sales and are left out. Each entry is balanced (debit = credit, checked before anything is written):

    debit   the tender accounts, net of the change given back (cash 531000, card 511500, cheque 511200,
            voucher i.e. credit note 419100, meal vouchers 511300, holiday vouchers 511400, loyalty rewards 709000,
            transfer 512000; any other type 471000)
    credit  the sales accounts, HT, one line per VAT rate (707200 at 20 %, 707100 at 10 %…)
    credit  the VAT collected, one line per VAT rate (445714 at 20 %, 445713 at 10 %…)

A return (negative ticket) is the same entry reversed: sales and VAT are debited, the tender credited.
Lines of the same account are merged, zero lines are left out (an all-zero ticket gives no entry).

File name (art. A47 A-1 IV): `SIRENFECAAAAMMJJ.txt` (`fec_filename`), SIREN being the first 9 digits of
the shop's SIRET and AAAAMMJJ the closing date of the period exported. `export_fec(conn, till, start, end)`
gives the file for any range of days (the tickets whose `day` lies in it), for the accountant.

File layout (BOFiP BOI-CF-IOR-60-40-20): the 18 columns of `FEC_COLUMNS` with a header line, separated by
"|", dates AAAAMMJJ, amounts in euros with a decimal comma and no thousands separator (both Debit and Credit
are filled, one of them "0,00"), encoded ISO-8859-15, lines ended by CRLF (a character outside ISO-8859-15
becomes "?"). Fields are:

    JournalCode, JournalLib     the sales journal, "VE" / "Ventes" by default
    EcritureNum                 the ticket number in the TICKET journal (continuous but for all-zero tickets)
    EcritureDate, PieceDate     the ticket's local calendar day
    PieceRef                    the number printed on the receipt, "<caisse>-<n° sur 6 chiffres>"
    EcritureLib                 "Vente ticket n°…" or "Retour ticket n°…"
    ValidDate                   the ticket's day too: a ticket is validated (signed, irreversible) when recorded
    CompAuxNum/Lib, EcritureLet, DateLet, Montantdevise, Idevise: empty (counter sales in euros)

Accounts and journal are configurable: `fec_config(overrides)` merges a dict onto `DEFAULT_FEC_ACCOUNTS`
(top-level keys replaced, the "tenders", "sales" and "vat" maps merged key by key; VAT rates are in basis
points, as int or str). A tender type or VAT rate absent from the maps goes to the "*_default" account,
whose label names the type or rate, so that an export is never refused for an unknown code.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .journal import COLUMNS, TICKET, Record

FEC_COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
FEC_ENCODING = "iso-8859-15"
FEC_NEWLINE = "\r\n"
FEC_SEPARATOR = "|"
FEC_NAME = re.compile(r"^(\d{9})FEC(\d{8})\.txt$")


def _account(num: str, lib: str) -> dict[str, str]:
    return {"num": num, "lib": lib}


DEFAULT_FEC_ACCOUNTS: dict[str, Any] = {
    "journal_code": "VE",
    "journal_label": "Ventes",
    # Tender type (as in the ticket body's "tenders") → account debited. Change is given back in cash.
    "tenders": {
        "cash": _account("531000", "Caisse"),
        "card": _account("511500", "Cartes bancaires à encaisser"),
        "cheque": _account("511200", "Chèques à encaisser"),
        "voucher": _account("419100", "Avoirs et bons d'achat clients"),
        "meal_voucher": _account("511300", "Titres-restaurant à encaisser"),
        "meal_voucher_card": _account("511300", "Titres-restaurant à encaisser"),
        "holiday_voucher": _account("511400", "Chèques vacances à encaisser"),
        "loyalty": _account("709000", "Remises fidélité accordées"),
        "transfer": _account("512000", "Banque"),
    },
    "tender_default": _account("471000", "Règlements à classer"),
    "change_tender": "cash",
    # VAT rate in basis points → sales account (HT) and VAT-collected account.
    "sales": {
        "0": _account("707000", "Ventes exonérées de TVA"),
        "210": _account("707021", "Ventes TVA 2,1 %"),
        "550": _account("707055", "Ventes TVA 5,5 %"),
        "1000": _account("707100", "Ventes TVA 10 %"),
        "2000": _account("707200", "Ventes TVA 20 %"),
    },
    "sales_default": _account("707900", "Ventes autres taux"),
    "vat": {
        "210": _account("445711", "TVA collectée 2,1 %"),
        "550": _account("445712", "TVA collectée 5,5 %"),
        "1000": _account("445713", "TVA collectée 10 %"),
        "2000": _account("445714", "TVA collectée 20 %"),
    },
    "vat_default": _account("445719", "TVA collectée autres taux"),
}

_MAPS = ("tenders", "sales", "vat")


class FecError(ValueError):
    """A ticket cannot be turned into a balanced entry (message in French)."""


def _rate_key(rate: Any) -> str:
    return str(int(rate))


def fec_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`DEFAULT_FEC_ACCOUNTS` with `overrides` merged in; rate keys normalised to str (JSON-ready)."""
    config = copy.deepcopy(DEFAULT_FEC_ACCOUNTS)
    for key, value in (overrides or {}).items():
        if key in _MAPS:
            config[key].update(copy.deepcopy(dict(value)))
        else:
            config[key] = copy.deepcopy(value)
    for key in ("sales", "vat"):
        config[key] = {_rate_key(rate): account for rate, account in config[key].items()}
    for key in (*_MAPS, "tender_default", "sales_default", "vat_default"):
        accounts = config[key].values() if key in _MAPS else [config[key]]
        for account in accounts:
            if not (isinstance(account, dict) and account.get("num") and isinstance(account.get("lib"), str)):
                raise FecError(f"configuration FEC : compte mal décrit dans {key!r} : {account!r}")
    return config


def rate_text(rate_bp: int) -> str:
    """550 → "5,5 %"."""
    units, hundredths = divmod(abs(rate_bp), 100)
    text = f"{units},{hundredths:02d}".rstrip("0").rstrip(",")
    return f"{'-' if rate_bp < 0 else ''}{text} %"


def format_amount(cents: int) -> str:
    """1234 → "12,34" (decimal comma, no thousands separator)."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("amounts are integer cents")
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros},{rest:02d}"


def parse_amount(text: str) -> int:
    """ "12,34" → 1234; ValueError when it is not a FEC amount."""
    sign = -1 if text.startswith("-") else 1
    digits = text[1:] if sign < 0 else text
    euros, comma, rest = digits.partition(",")
    if not euros.isdigit() or (comma and not (rest.isdigit() and len(rest) <= 2)):
        raise ValueError(f"montant illisible {text!r}")
    return sign * (int(euros) * 100 + (int(rest.ljust(2, "0")) if comma else 0))


def format_date(day: str) -> str:
    """ "2026-11-25" → "20261125"."""
    return date.fromisoformat(day).strftime("%Y%m%d")


@dataclass(frozen=True)
class FecLine:
    account: dict[str, str]
    debit: int
    credit: int


@dataclass(frozen=True)
class FecEntry:
    number: str
    day: str
    piece: str
    label: str
    lines: tuple[FecLine, ...]

    @property
    def debit(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def credit(self) -> int:
        return sum(line.credit for line in self.lines)


def ticket_entry(record: Record, config: Mapping[str, Any]) -> FecEntry | None:
    """The balanced entry of one ticket record; None when every amount is zero. FecError if unbalanced."""
    body = record.data()
    # Signed amounts: positive = debit, negative = credit (so a return comes out reversed).
    amounts: dict[str, int] = {}
    accounts: dict[str, dict[str, str]] = {}

    def post(account: Mapping[str, str], amount: int, lib: str | None = None) -> None:
        key = account["num"]
        accounts.setdefault(key, {"num": account["num"], "lib": lib or account["lib"]})
        amounts[key] = amounts.get(key, 0) + amount

    tenders = config["tenders"]
    for tender in body.get("tenders", []):
        kind = str(tender.get("type"))
        if kind in tenders:
            post(tenders[kind], int(tender["amount"]))
        else:
            default = config["tender_default"]
            post(default, int(tender["amount"]), f"{default['lib']} ({kind})")
    change = int(body.get("change", 0))
    if change:
        change_kind = config["change_tender"]
        post(tenders.get(change_kind, config["tender_default"]), -change)
    for row in body.get("vat", []):
        rate = _rate_key(row["rate"])
        for column, key in (("ht", "sales"), ("tva", "vat")):
            account = config[key].get(rate)
            if account is None:
                default = config[f"{key}_default"]
                post(default, -int(row[column]), f"{default['lib']} ({rate_text(int(rate))})")
            else:
                post(account, -int(row[column]))
    lines = tuple(
        FecLine(accounts[num], max(amount, 0), max(-amount, 0)) for num, amount in amounts.items() if amount
    )
    returned = body.get("kind") == "RETURN" or (record.total or 0) < 0
    entry = FecEntry(
        number=str(record.seq),
        day=record.day,
        piece=f"{record.till}-{record.seq:06d}",
        label=f"{'Retour' if returned else 'Vente'} ticket n°{record.seq}",
        lines=lines,
    )
    if entry.debit != entry.credit:
        raise FecError(
            f"ticket n°{record.seq} : écriture déséquilibrée (débit {format_amount(entry.debit)}, "
            f"crédit {format_amount(entry.credit)})"
        )
    return entry if lines else None


def ticket_entries(records: Iterable[Record], config: Mapping[str, Any]) -> list[FecEntry]:
    """The entries of the TICKET records among `records`, in journal order."""
    tickets = sorted((r for r in records if r.journal == TICKET), key=lambda r: r.seq)
    return [entry for record in tickets if (entry := ticket_entry(record, config)) is not None]


def _clean(text: str) -> str:
    """A field may not hold the separator nor a line break."""
    return text.replace(FEC_SEPARATOR, "/").replace("\r", " ").replace("\n", " ")


def fec_rows(entries: Iterable[FecEntry], config: Mapping[str, Any]) -> list[list[str]]:
    rows = [list(FEC_COLUMNS)]
    for entry in entries:
        day = format_date(entry.day)
        for line in entry.lines:
            rows.append(
                [
                    config["journal_code"],
                    config["journal_label"],
                    entry.number,
                    day,
                    line.account["num"],
                    line.account["lib"],
                    "",
                    "",
                    entry.piece,
                    day,
                    entry.label,
                    format_amount(line.debit),
                    format_amount(line.credit),
                    "",
                    "",
                    day,
                    "",
                    "",
                ]
            )
    return rows


def build_fec(records: Iterable[Record], config: Mapping[str, Any] | None = None) -> bytes:
    """The FEC file of the tickets among `records` (config: the result of `fec_config`, default if None)."""
    config = fec_config() if config is None else config
    rows = fec_rows(ticket_entries(records, config), config)
    text = "".join(FEC_SEPARATOR.join(_clean(str(field)) for field in row) + FEC_NEWLINE for row in rows)
    return text.encode(FEC_ENCODING, errors="replace")


@dataclass
class FecSummary:
    entries: int = 0
    lines: int = 0
    debit: int = 0
    credit: int = 0


def check_fec(data: bytes) -> tuple[FecSummary, list[str]]:
    """Read a FEC file back: header, 18 columns, dates, amounts, every entry balanced. Problems in French."""
    summary = FecSummary()
    problems: list[str] = []
    try:
        text = data.decode(FEC_ENCODING)
    except UnicodeDecodeError:
        return summary, ["fichier non lisible en ISO-8859-15"]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return summary, ["fichier vide"]
    if lines[0].rstrip("\r").split(FEC_SEPARATOR) != list(FEC_COLUMNS):
        problems.append("ligne d'en-tête différente des 18 colonnes réglementaires")
    balance: dict[str, int] = {}
    order: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.rstrip("\r").split(FEC_SEPARATOR)
        if len(fields) != len(FEC_COLUMNS):
            problems.append(f"ligne {number} : {len(fields)} colonnes au lieu de {len(FEC_COLUMNS)}")
            continue
        row = dict(zip(FEC_COLUMNS, fields, strict=True))
        for column in ("EcritureDate", "PieceDate", "ValidDate"):
            value = row[column]
            if not (len(value) == 8 and value.isdigit() and _is_date(value)):
                problems.append(f"ligne {number} : {column} {value!r} n'est pas une date AAAAMMJJ")
        try:
            debit, credit = parse_amount(row["Debit"]), parse_amount(row["Credit"])
        except ValueError:
            problems.append(f"ligne {number} : montant illisible ({row['Debit']!r} / {row['Credit']!r})")
            continue
        if not row["CompteNum"] or not row["EcritureNum"]:
            problems.append(f"ligne {number} : numéro de compte ou d'écriture absent")
        key = f"{row['JournalCode']} {row['EcritureNum']}"
        if key not in balance:
            order.append(key)
            balance[key] = 0
        balance[key] += debit - credit
        summary.lines += 1
        summary.debit += debit
        summary.credit += credit
    summary.entries = len(order)
    for key in order:
        if balance[key]:
            problems.append(f"écriture {key} déséquilibrée (écart {format_amount(balance[key])})")
    return summary, problems


def _is_date(value: str) -> bool:
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def siren_of(siret: str) -> str:
    """The SIREN (9 digits) of a SIRET (14 digits) or of a SIREN; FecError (French) otherwise."""
    digits = str(siret).replace(" ", "")
    if not (digits.isdigit() and len(digits) in (9, 14)):
        raise FecError(f"SIRET/SIREN {siret!r} : 14 ou 9 chiffres attendus")
    return digits[:9]


def fec_filename(siren: str, closing: date) -> str:
    """ "823456785", 2026-11-30 → "823456785FEC20261130.txt" (the name the DGFiP's test tool expects)."""
    return f"{siren_of(siren)}FEC{closing:%Y%m%d}.txt"


def period_tickets(conn: sqlite3.Connection, till: str, start: str, end: str) -> list[Record]:
    """The till's TICKET records whose local day lies in [start, end] (ISO dates), in journal order."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM fiscal_record WHERE till = ? AND journal = ? AND day BETWEEN ? AND ? "
        "ORDER BY seq",
        (till, TICKET, start, end),
    ).fetchall()
    return [Record.from_row(tuple(row)) for row in rows]


def export_fec(
    conn: sqlite3.Connection,
    till: str,
    start: date,
    end: date,
    config: Mapping[str, Any] | None = None,
) -> tuple[bytes, int]:
    """The FEC of the tickets from `start` to `end` (inclusive) and its number of entries. Same rows as
    the FEC of an archive of the same period. FecError (French) when the range is reversed."""
    if end < start:
        raise FecError(f"période à l'envers : la fin ({end:%d/%m/%Y}) précède le début ({start:%d/%m/%Y})")
    config = fec_config() if config is None else config
    records = period_tickets(conn, till, start.isoformat(), end.isoformat())
    return build_fec(records, config), len(ticket_entries(records, config))
