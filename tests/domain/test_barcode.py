"""Barcode classification: GTIN check digits, scale labels in configurable layouts, credit notes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum import ean

from kiosk.catalogue.barcode import (
    BarcodeError,
    Parsed,
    VariableLayout,
    compile_layouts,
    credit_note_code,
    parse_barcode,
    value_check_digit,
)

MISREAD = "Code-barres mal lu (clé de contrôle fausse) : scannez de nouveau ou tapez le code."


def with_check(body: str) -> str:
    return body + ean.calc_check_digit(body)


def wrong_check(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("3017620422003", "ean13"), ("96385074", "ean8"), ("036000291452", "upca"), ("9782070360024", "ean13")],
)
def test_gtins_with_a_right_check_digit(code, kind):
    assert parse_barcode(code) == Parsed(kind, code, code)


@pytest.mark.parametrize("code", ["3017620422003", "96385074", "036000291452"])
def test_a_wrong_check_digit_is_a_misread(code):
    with pytest.raises(BarcodeError) as raised:
        parse_barcode(wrong_check(code))
    assert raised.value.message == MISREAD.replace("Code-barres", f"Code-barres {wrong_check(code)}")
    assert isinstance(raised.value, ValueError)


def test_gtins_compare_as_13_digits():
    assert parse_barcode("036000291452").gtin13 == "0036000291452"
    assert parse_barcode("0036000291452").gtin13 == "0036000291452"
    assert parse_barcode("96385074").gtin13 == "0000096385074"
    assert parse_barcode("ART-1").gtin13 is None


def test_spaces_around_a_typed_code_are_dropped():
    assert parse_barcode("  3017620422003\n").code == "3017620422003"


@pytest.mark.parametrize("code", ["ART-001", "12345", "PAIN.50", "Bio_7", "30176204220031"])
def test_internal_codes_are_kept_as_they_are(code):
    assert parse_barcode(code) == Parsed("internal", code, code)


@pytest.mark.parametrize("code", ["", "   "])
def test_no_code(code):
    with pytest.raises(BarcodeError, match="Aucun code"):
        parse_barcode(code)


@pytest.mark.parametrize("code", ["é!", "ART 1", "A" * 49, "&é\"'("])
def test_unreadable_codes(code):
    with pytest.raises(BarcodeError, match="Code illisible .* scannez de nouveau ou tapez le code à la main"):
        parse_barcode(code)


# --------------------------------------------------------------------------------------------------------
# Scale labels

SHOP_A = ["21PPPPPWWWWWC", "23PPPPPpppppC"]  # weight in grams; price in cents
SHOP_B = ["22PPPPVWWWWWC", "24PPPPPVppppC"]  # 5-digit weight, 4-digit price, each with its check digit


def test_gs1_price_check_digit_examples():
    assert value_check_digit("2875") == "9"  # GS1 General Specifications, 4-digit price
    assert value_check_digit("14685") == "6"  # and 5-digit price
    with pytest.raises(ValueError):
        value_check_digit("123")


def test_variable_weight():
    code = with_check("210012301250")
    assert parse_barcode(code, SHOP_A) == Parsed(
        "variable_weight", code, "00123", weight=Decimal("1.250"), price=None
    )


def test_weight_is_exact_kg_with_three_decimals():
    parsed = parse_barcode(with_check("210012300005"), SHOP_A)
    assert parsed.weight == Decimal("0.005") and str(parsed.weight) == "0.005"


def test_variable_price():
    code = with_check("230045601999")
    parsed = parse_barcode(code, SHOP_A)
    assert (parsed.kind, parsed.key, parsed.price, parsed.weight) == ("variable_price", "00456", 1999, None)


def test_second_shop_layouts_with_value_check_digits():
    weight = with_check("220123" + value_check_digit("02345") + "02345")
    parsed = parse_barcode(weight, SHOP_B)
    assert (parsed.kind, parsed.key, parsed.weight) == ("variable_weight", "0123", Decimal("2.345"))

    price = with_check("2400789" + value_check_digit("1250") + "1250")
    parsed = parse_barcode(price, SHOP_B)
    assert (parsed.kind, parsed.key, parsed.price) == ("variable_price", "00789", 1250)


def test_a_wrong_value_check_digit_is_a_misread_label():
    bad_digit = str((int(value_check_digit("1250")) + 1) % 10)
    code = with_check("2400789" + bad_digit + "1250")
    with pytest.raises(BarcodeError, match="clé du prix fausse.*scannez de nouveau"):
        parse_barcode(code, SHOP_B)


def test_a_label_with_a_wrong_ean_check_digit_is_a_misread():
    with pytest.raises(BarcodeError, match="clé de contrôle fausse"):
        parse_barcode(wrong_check(with_check("210012301250")), SHOP_A)


def test_prefixes_without_a_layout_are_plain_ean13():
    code = with_check("230045601999")
    assert parse_barcode(code, SHOP_B).kind == "ean13"
    assert parse_barcode(code).kind == "ean13"


def test_layout_with_a_longer_prefix():
    layout = VariableLayout.parse("280PPPPWWWWWC")
    assert (layout.prefix, layout.article, layout.value) == ("280", slice(3, 7), slice(7, 12))
    assert parse_barcode(with_check("281123401000"), [layout]).kind == "ean13"
    assert parse_barcode(with_check("280123401000"), [layout]).weight == Decimal("1.000")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("21PPPPWWWWWC", "12 caractères au lieu des 13"),
        ("21PPPPPWWWWWWC", "14 caractères"),
        ("12PPPPPWWWWWC", "préfixe GS1 de 20 à 29"),
        ("2PPPPPPWWWWWC", "préfixe GS1 de 20 à 29"),
        ("PPPPPPPWWWWWC", "préfixe GS1"),
        ("21PPPPPWWWWWX", "« X » inconnu"),
        ("21PPPP5WWWWWC", "« 5 » inconnu"),
        ("21PPPPPWWWWCW", "la clé EAN « C » doit être le dernier"),
        ("21PPPPCWWWWCC", "la clé EAN « C »"),
        ("21PPWPPWWWWWC", "doivent se suivre"),
        ("21WWWWWWWWWWC", "aucun chiffre d'article"),
        ("21PPPPPWWpppC", "soit un poids « W », soit un prix « p »"),
        ("21PPPPPPPPPPC", "soit un poids « W », soit un prix « p »"),
        ("21PPPPVVWWWWC", "une seule clé"),
        ("21PPPPPPVWWWC", "4 ou 5 chiffres"),
    ],
)
def test_bad_layouts_are_rejected_naming_the_problem(pattern, problem):
    with pytest.raises(ValueError, match=problem) as raised:
        VariableLayout.parse(pattern)
    assert pattern in str(raised.value)
    with pytest.raises(ValueError, match=problem):
        parse_barcode("3017620422003", ["23PPPPPpppppC", pattern])


def test_layouts_are_a_list_not_one_string():
    with pytest.raises(ValueError, match="une liste"):
        compile_layouts("21PPPPPWWWWWC")


def test_overlapping_prefixes_are_rejected():
    with pytest.raises(ValueError, match="se recouvrent"):
        compile_layouts(["21PPPPPWWWWWC", "210PPPPpppppC"])
    with pytest.raises(ValueError, match="se recouvrent"):
        compile_layouts(["21PPPPPWWWWWC", "21PPPPPpppppC"])


def test_not_a_string():
    with pytest.raises(ValueError, match="une chaîne"):
        VariableLayout.parse(21)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------
# Credit notes


def test_credit_note():
    code = credit_note_code("000123")
    assert code == "AV000123" + ean.calc_check_digit("000123")
    assert parse_barcode(code) == Parsed("credit_note", code, "000123")
    assert parse_barcode(code.lower()).key == "000123"


def test_credit_note_with_a_wrong_check_digit():
    with pytest.raises(BarcodeError, match="Avoir AV000123. mal lu .* numéro de l'avoir"):
        parse_barcode(wrong_check(credit_note_code("000123")))


def test_codes_starting_with_av_but_not_numbers_are_internal():
    assert parse_barcode("AVOCAT").kind == "internal"
    assert parse_barcode("AV1").kind == "internal"  # a number needs at least one digit and its check digit


def test_credit_note_numbers_are_digits():
    with pytest.raises(ValueError):
        credit_note_code("12A")
