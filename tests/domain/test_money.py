from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.common.money import (
    AmountError,
    format_eur,
    format_qty,
    format_rate,
    line_total,
    parse_amount,
    parse_quantity,
    vat_breakdown,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12,50", 1250), ("12.5", 1250), ("12", 1200), ("12,50 €", 1250), ("1 234,56", 123456), (" 0,05 ", 5)],
)
def test_parse_amount_accepts_what_cashiers_type(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["abc", "12,505", "1.2.3", "", "12,-5", "--1", "1e3"])
def test_parse_amount_refuses_garbage_in_french(text: str) -> None:
    with pytest.raises(AmountError, match="Montant invalide"):
        parse_amount(text)


def test_parse_amount_refuses_absurd_and_negative() -> None:
    with pytest.raises(AmountError, match="trop élevé"):
        parse_amount("2000000")
    with pytest.raises(AmountError, match="négatif"):
        parse_amount("-5")
    with pytest.raises(AmountError, match="supérieur"):
        parse_amount("0", allow_zero=False)


def test_format_eur_french() -> None:
    assert format_eur(1250) == "12,50 €"
    assert format_eur(-300) == "-3,00 €"
    assert format_eur(123456789) == "1 234 567,89 €"
    assert format_eur(5, symbol=False) == "0,05"


def test_rates_and_quantities() -> None:
    assert [format_rate(r) for r in (550, 1000, 2000, 210)] == ["5,5 %", "10 %", "20 %", "2,1 %"]
    assert format_qty(Decimal("0.250")) == "0,25"
    assert format_qty(Decimal("3")) == "3"
    assert parse_quantity("0,345", allow_decimal=True) == Decimal("0.345")
    with pytest.raises(AmountError, match="à l'unité"):
        parse_quantity("1,5", allow_decimal=False)


def test_line_total_rounds_half_up() -> None:
    assert line_total(2990, Decimal("0.345")) == 1032  # 10,3155 → 10,32
    assert line_total(1000, Decimal("0.0005")) == 1  # 0,5 cent → 1 cent


def test_vat_breakdown_like_a_french_receipt() -> None:
    lines = vat_breakdown({550: 950, 2000: 300})
    assert [(v.rate_bp, v.ht, v.tva, v.ttc) for v in lines] == [(550, 900, 50, 950), (2000, 250, 50, 300)]


@given(st.dictionaries(st.sampled_from([210, 550, 1000, 2000]), st.integers(0, 10_000_000)))
def test_vat_table_always_adds_up_to_the_total(by_rate: dict[int, int]) -> None:
    lines = vat_breakdown(by_rate)
    assert sum(v.ttc for v in lines) == sum(by_rate.values())
    assert all(v.ht + v.tva == v.ttc and v.tva >= 0 for v in lines)
