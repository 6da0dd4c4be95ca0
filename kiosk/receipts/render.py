"""The French receipt, as a printable document (rendered once to ESC/POS bytes by drivers.printer).

Legal content (CGI art. 242 nonies A, NF525): shop name and address, SIRET, VAT number, till and ticket
number, date and time, each line with quantity × unit price and VAT rate, totals per VAT rate HT / TVA /
TTC, tenders and change, cashier, an excerpt of the signature.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drivers.printer import Barcode, Columns, Document, Feed, Logo, Rule, Text
from kiosk.common.money import format_eur, format_qty, format_rate
from kiosk.config import Config
from kiosk.sale.checkout import TENDER_LABELS, CompletedSale

VAT_CODES = {550: "A", 1000: "B", 2000: "C", 210: "D"}
SOFTWARE = "Pi kiosk till"


def vat_code(rate_bp: int) -> str:
    return VAT_CODES.get(rate_bp, "E")


def _siret(siret: str) -> str:
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def shop_header(config: Config) -> Document:
    shop = config.shop
    logo = config.receipt.logo
    doc: Document = [Logo(logo)] if logo else []
    doc.append(Text(shop.name, align="center", bold=True, double=True))
    doc += [Text(line, align="center") for line in shop.address]
    doc.append(Text(f"Tél. {shop.phone}", align="center"))
    doc.append(Text(f"SIRET {_siret(shop.siret)} - NAF {shop.naf}", align="center"))
    doc.append(Text(f"TVA intracom. {shop.vat_number}", align="center"))
    doc += [Text(line, align="center") for line in config.receipt.header]
    return doc


def _line_block(line: dict[str, Any]) -> Document:
    qty = Decimal(line["qty"])
    code = vat_code(line["vat"])
    unit = f"{format_eur(line['unit'])}/kg" if line.get("weight") else format_eur(line["unit"])
    qty_text = f"{format_qty(qty)} kg" if line.get("weight") else format_qty(qty)
    shown = line.get("before", line["amount"])
    block: Document = [
        Text(line["label"]),
        Columns(f"   {qty_text} x {unit}", f"{format_eur(shown)} {code}"),
    ]
    if "catalogue_unit" in line:
        block.append(Text(f"   Prix modifié (au lieu de {format_eur(line['catalogue_unit'])})"))
    if line.get("discount"):
        label = f"   Remise {line.get('discount_label', '')} {line.get('discount_reason', '')}".rstrip()
        block.append(Columns(label, f"{format_eur(-line['discount'])} {code}"))
    return block


def _tender_rows(tender: dict[str, Any]) -> Document:
    label = TENDER_LABELS.get(tender["type"], tender["type"])
    if tender.get("credit_note"):
        label = f"{label} {tender['credit_note']}"
    if tender.get("mode") == "cancel":
        label = f"{label} (annulation)"
    rows: Document = [Columns(label, format_eur(tender["amount"]))]
    if tender.get("issued"):
        rows.append(Columns(f"Nouvel avoir {tender['issued']}", format_eur(tender["issued_amount"])))
        rows.append(Text(f"   valable jusqu'au {tender['expires']}"))
    return rows


def sale_receipt(
    config: Config, sale: CompletedSale, duplicate: int | None = None, loyalty: list[str] | None = None
) -> Document:
    """The receipt of a sale; `duplicate` = k prints it as « DUPLICATA n°k » (a journaled reprint)."""
    body = sale.body
    local = sale.when
    doc = shop_header(config)
    doc.append(Rule())
    if duplicate is not None:
        doc.append(Text(f"DUPLICATA n°{duplicate}", align="center", bold=True, double=True))
    if sale.record.journal == "TRAINING":
        doc.append(Text("MODE FORMATION - ticket fictif", align="center", bold=True))
    doc.append(Columns(f"Ticket n° {sale.number}", f"Caisse {sale.record.till}"))
    doc.append(Text(f"Le {local:%d/%m/%Y} à {local:%H:%M:%S}"))
    doc.append(Text(f"Caissier : {body['cashier']['name']}"))
    if body.get("kind") == "RETURN":
        title = "ÉCHANGE - RETOUR" if body.get("exchange") else "REMBOURSEMENT"
        doc.append(Text(title, align="center", bold=True, double=True))
        original = body.get("original", {})
        doc.append(Text(f"Ticket d'origine n° {original.get('number', '?')} du {original.get('date', '?')}"))
        if body.get("authorised_by"):
            doc.append(Text(f"Autorisé par : {body['authorised_by']['name']}"))
    doc.append(Rule())
    for line in body["lines"]:
        doc += _line_block(line)
    doc.append(Rule())
    count = sum(1 if line.get("weight") else abs(Decimal(line["qty"])) for line in body["lines"])
    doc.append(Text(f"{format_qty(Decimal(count))} article(s)"))
    if body.get("discount"):
        discount = body["discount"]
        doc.append(Columns("Sous-total", format_eur(body["total"] + discount["amount"])))
        doc.append(
            Columns(f"Remise {discount['label']} {discount['reason']}", format_eur(-discount["amount"]))
        )
    doc.append(Columns("TOTAL TTC", format_eur(body["total"]), bold=True))
    doc.append(Rule())
    doc.append(Columns("TVA         HT", "TVA        TTC"))
    for vat in body["vat"]:
        left = (
            f"{vat_code(vat['rate'])} {format_rate(vat['rate']):<7} {format_eur(vat['ht'], symbol=False):>8}"
        )
        right = f"{format_eur(vat['tva'], symbol=False):>8} {format_eur(vat['ttc'], symbol=False):>9}"
        doc.append(Columns(left, right))
    doc.append(Rule())
    for tender in body["tenders"]:
        doc += _tender_rows(tender)
    if body.get("change"):
        doc.append(Columns("Rendu", format_eur(body["change"]), bold=True))
    doc.append(Rule())
    if loyalty:  # the customer's loyalty summary, once the sale is attached to them (not fiscal content)
        doc += [Text(line) for line in loyalty]
        doc.append(Rule())
    doc += [Text(line, align="center") for line in config.receipt.footer]
    doc.append(Feed(1))
    doc.append(Barcode(sale.number, kind="CODE128"))
    doc.append(
        Text(f"Signature {sale.record.sig[:4]}-{sale.record.sig[-8:-4]}  clé {sale.record.key_id[:8]}")
    )
    doc.append(Text(f"{SOFTWARE} - conservez ce ticket", align="center"))
    return doc


def credit_note_receipt(
    config: Config, sale: CompletedSale, number: str, amount: int, expires: str
) -> Document:
    """The credit note (« avoir ») handed to the customer: its number as a barcode, to scan at payment."""
    doc = shop_header(config)
    doc.append(Rule())
    doc.append(Text("AVOIR", align="center", bold=True, double=True))
    doc.append(Text(f"N° {number}", align="center", bold=True))
    doc.append(Columns("Montant", format_eur(amount), bold=True))
    doc.append(Text(f"Valable jusqu'au {expires}"))
    doc.append(Text(f"Émis le {sale.when:%d/%m/%Y} par le ticket n° {sale.number}"))
    doc.append(Text("À présenter en caisse : utilisable en une ou plusieurs fois."))
    doc.append(Feed(1))
    doc.append(Barcode(number, kind="CODE128"))
    doc.append(Text(f"{SOFTWARE} - conservez cet avoir", align="center"))
    return doc
