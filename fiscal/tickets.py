"""Fiscal tickets: consistency rules checked before signing (and again by the verifier), grand totals.

A ticket body holds what a French receipt must show: lines (label, quantity as a decimal string, unit
price, VAT rate in basis points, amount), totals per VAT rate (HT, TVA, TTC), tenders and change. A
discounted line also holds `before` (quantity × unit price), its own `discount` and its share of the
ticket's discount (`ticket_discount`), all in cents: amount = before - discount - ticket_discount, and
the shares add up to the ticket's `discount.amount`. Sales and returns share one chain; a return is a
negative ticket (negative quantities and amounts) naming the ticket it takes back (`original.number`). Grand totals (GT) chain from ticket to
ticket: perpetual = sales - |returns|, absolute = sales + |returns|. Training tickets go to their own
journal and never move the grand totals.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from decimal import Decimal
from typing import Any

from .closures import is_day_closed
from .journal import TICKET, TRAINING, FiscalError, FiscalLedger, Record

KINDS = ("SALE", "RETURN")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_ticket(body: dict[str, Any], total: int | None = None) -> list[str]:
    """Every inconsistency of a ticket body, in French; [] when it adds up."""
    problems: list[str] = []
    if body.get("kind") not in KINDS:
        problems.append(f"type de ticket inconnu {body.get('kind')!r}")
    lines = body.get("lines")
    vat = body.get("vat")
    tenders = body.get("tenders")
    ticket_total = body.get("total")
    if not isinstance(lines, list) or not lines:
        return problems + ["aucune ligne"]
    if not isinstance(vat, list) or not isinstance(tenders, list) or not _int(ticket_total):
        return problems + ["totaux, TVA ou règlements absents"]
    if not all(isinstance(line, dict) and _int(line.get("amount")) for line in lines):
        return problems + ["montant de ligne absent"]
    problems += _discount_problems(body, lines)
    if body.get("kind") == "RETURN":
        original = body.get("original", {})
        if not isinstance(original, dict) or not isinstance(original.get("number", ""), str):
            problems.append("retour : numéro du ticket d'origine illisible")
        if int(ticket_total or 0) > 0:
            problems.append("retour avec un montant positif")
    lines_sum = sum(line["amount"] for line in lines)
    if lines_sum != ticket_total:
        problems.append(f"total {ticket_total} ≠ somme des lignes {lines_sum} (centimes)")
    if total is not None and total != ticket_total:
        problems.append(f"colonne total {total} ≠ total du ticket {ticket_total} (centimes)")
    by_rate: dict[int, int] = {}
    for line in lines:
        by_rate[line.get("vat", -1)] = by_rate.get(line.get("vat", -1), 0) + line["amount"]
    vat_by_rate = {}
    for row in vat:
        if not (isinstance(row, dict) and all(_int(row.get(k)) for k in ("rate", "ht", "tva", "ttc"))):
            problems.append("ligne de TVA illisible")
            continue
        if row["ht"] + row["tva"] != row["ttc"]:
            problems.append(f"TVA {row['rate']} : HT + TVA ≠ TTC")
        vat_by_rate[row["rate"]] = row["ttc"]
    if vat_by_rate != by_rate:
        problems.append("le tableau de TVA ne correspond pas aux lignes")
    paid = sum(t.get("amount", 0) for t in tenders if isinstance(t, dict) and _int(t.get("amount")))
    change = body.get("change", 0)
    if not _int(change) or paid - change != ticket_total:
        problems.append(f"règlements {paid} - rendu {change} ≠ total {ticket_total} (centimes)")
    return problems


def _discount_problems(body: dict[str, Any], lines: list[dict[str, Any]]) -> list[str]:
    problems = []
    shares = 0
    for index, line in enumerate(lines, 1):
        if "before" not in line:
            if "discount" in line or "ticket_discount" in line:
                problems.append(f"ligne {index} : remise sans montant avant remise")
            continue
        parts = [line.get(key, 0) for key in ("before", "discount", "ticket_discount")]
        if not all(_int(part) for part in parts) or any(part < 0 for part in parts[1:]):
            problems.append(f"ligne {index} : remise illisible")
            continue
        before, discount, share = parts
        if before - discount - share != line["amount"]:
            problems.append(
                f"ligne {index} : {before} - remises {discount + share} ≠ montant {line['amount']}"
            )
        shares += share
    ticket_discount = body.get("discount")
    declared = ticket_discount.get("amount") if isinstance(ticket_discount, dict) else 0
    if not _int(declared) or declared != shares:
        problems.append(f"remise du ticket {declared} ≠ somme des parts des lignes {shares} (centimes)")
    return problems


def return_problems(conn: sqlite3.Connection, till: str) -> list[tuple[int, str]]:
    """Returns checked against the tickets they take back: the original exists in the same journal with
    the signature the return names, and no line is taken back beyond what was sold (quantity and
    amount, all returns of that ticket together). (seq of the return, problem in French)."""
    problems: list[tuple[int, str]] = []
    returned: dict[tuple[str, int], dict[int, list[Any]]] = {}
    rows = conn.execute(
        "SELECT journal, seq, body FROM fiscal_record WHERE till = ? AND rtype = 'RETURN' "
        "AND journal = ? ORDER BY seq",
        (till, TICKET),
    ).fetchall()
    for journal, seq, text in rows:
        try:
            body = json.loads(text)
        except ValueError:
            continue
        original = body.get("original")
        if not isinstance(original, dict) or not _int(original.get("seq")):
            continue  # a return made without the checkout (no link): nothing more to check
        row = conn.execute(
            "SELECT rtype, sig, body FROM fiscal_record WHERE till = ? AND journal = ? AND seq = ?",
            (till, journal, original["seq"]),
        ).fetchone()
        if row is None or row[0] != "SALE" or row[1] != original.get("sig"):
            problems.append(
                (seq, f"retour d'un ticket n°{original['seq']} absent ou différent de celui signé")
            )
            continue
        sold = json.loads(row[2]).get("lines", [])
        taken = returned.setdefault((journal, original["seq"]), {})
        for line in body.get("lines", []):
            index = line.get("orig_line")
            if not _int(index) or not 0 <= index < len(sold):
                problems.append((seq, "retour d'une ligne absente du ticket d'origine"))
                continue
            acc = taken.setdefault(index, [Decimal(0), 0])
            acc[0] += -Decimal(str(line.get("qty", "0")))
            acc[1] += -int(line.get("amount", 0))
            if acc[0] > Decimal(str(sold[index].get("qty", "0"))) or acc[1] > int(
                sold[index].get("amount", 0)
            ):
                problems.append(
                    (seq, f"ligne {index + 1} du ticket n°{original['seq']} remboursée au-delà de la vente")
                )
    return problems


def next_grand_totals(previous: Record | None, total: int) -> dict[str, int]:
    return grand_totals_after(previous.data().get("gt", {}) if previous is not None else {}, total)


def grand_totals_after(before: dict[str, Any], total: int) -> dict[str, int]:
    """The grand totals once a ticket of `total` follows a ticket whose grand totals were `before`."""
    return {
        "perpetual": int(before.get("perpetual", 0)) + total,
        "absolute": int(before.get("absolute", 0)) + abs(total),
    }


def record_ticket(
    ledger: FiscalLedger,
    conn: sqlite3.Connection,
    body: dict[str, Any],
    *,
    training: bool = False,
    when: datetime | None = None,
) -> Record:
    """Check, chain the grand totals, sign and insert a ticket (inside the caller's transaction)."""
    problems = check_ticket(body)
    if problems:
        raise FiscalError("Ticket incohérent, rien n'est enregistré : " + "; ".join(problems))
    journal = TRAINING if training else TICKET
    day = (when or ledger.clock()).date()
    if not training and is_day_closed(ledger, conn, day):
        raise FiscalError(
            f"La journée du {day:%d/%m/%Y} est clôturée : aucune vente ne peut plus y être enregistrée. "
            "Vérifiez la date de la caisse."
        )
    head = ledger.head(conn, journal)
    signed_body = dict(body)
    if training:
        signed_body["training"] = True
    else:
        signed_body["gt"] = next_grand_totals(head, body["total"])
    return ledger.append(conn, journal, body["kind"], signed_body, total=body["total"], when=when, head=head)
