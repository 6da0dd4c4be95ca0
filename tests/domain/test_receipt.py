"""The receipt carries what French law asks of it, rendered once for the printer and the screen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from PIL import Image

from kiosk.config import load_config
from kiosk.receipts.render import sale_receipt
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import cash_payment
from kiosk.till import Till


def _sale(till: Till):  # type: ignore[no-untyped-def]
    basket = Basket()
    articles = [a for a in till.catalogue.active_articles() if not a.sold_by_weight]
    bread = next(a for a in articles if a.vat_bp == 550)
    wine = next(a for a in articles if a.vat_bp == 2000)
    basket.add_article(bread, Decimal(2))
    basket.add_article(wine)
    tenders, change = cash_payment(basket.total, 5000)
    return till.checkout.complete(basket, tenders, change, till.staff.members()[-1]), bread, wine


def test_legal_content(till: Till) -> None:
    sale, bread, wine = _sale(till)
    text = till.render(sale_receipt(till.config, sale)).text
    for expected in (
        "Épicerie-Boulangerie",  # double width: the name wraps on 80 mm paper
        "12 place du Marché",
        "26110 Nyons",
        "SIRET 823 456 785 00018",
        "TVA intracom. FR72823456785",
        f"Ticket n° {sale.number}",
        "Caisse T01",
        f"Le {sale.when:%d/%m/%Y} à {sale.when:%H:%M:%S}",
        "Caissier : Camille",
        bread.name,
        "TOTAL TTC",
        "Espèces",
        "Rendu",
        f"Signature {sale.record.sig[:4]}",
    ):
        assert expected in text, expected
    assert "2 x " in text and " A" in text and " C" in text  # qty × unit price and VAT code per line
    assert "A 5,5 %" in text and "C 20 %" in text  # the per-rate HT / TVA / TTC table


def test_logo_on_top_and_a_missing_logo_loses_nothing(till: Till, tmp_path: Path) -> None:
    sale, _, _ = _sale(till)
    logo = tmp_path / "logo.png"
    Image.new("1", (64, 16), 0).save(logo)
    settings = tmp_path / "logo.toml"
    settings.write_text(f'[receipt]\nlogo = "{logo}"\n')
    with_logo = till.render(sale_receipt(load_config(settings), sale)).data
    plain = till.render(sale_receipt(till.config, sale)).data
    assert b"\x1dv0" in with_logo and b"\x1dv0" not in plain
    logo.unlink()
    assert till.render(sale_receipt(load_config(settings), sale)).data == plain
