"""Money: ISO 4217 codes in use, minor units per currency, amounts as people read them."""

import pytest

from inventory_service import domain
from inventory_service.domain import Line, Stock
from shared.money import currencies, shown


@pytest.mark.parametrize("code", ["EUR", "USD", "JPY", "KWD", "CHF"])
def test_currencies_in_use_are_accepted(code):
    assert code in currencies()


@pytest.mark.parametrize("code", ["eur", "EURO", "DEM", "XXX", ""])
def test_lowercase_unknown_and_retired_codes_are_not(code):
    assert code not in currencies()


def test_amounts_are_shown_with_each_currencys_own_minor_units():
    assert shown(1999, "EUR") == "€19.99"
    assert shown(500, "JPY") == "¥500"
    assert shown(1234, "KWD") == "KWD1.234"


def test_a_line_in_another_currency_than_the_first_known_product_is_short():
    stock = {"A": Stock(5, 0, 100, "EUR"), "B": Stock(5, 0, 100, "USD")}
    found = domain.shortages([Line("B", 1), Line("A", 1), Line("C", 1)], stock)
    assert [(s.sku, s.reason) for s in found] == [("B", "other_currency"), ("C", "unknown_sku")]


def test_priced_lines_add_up_and_unpriced_ones_have_no_total():
    stock = {"A": Stock(5, 0, 1999, "EUR"), "B": Stock(5, 0, 1, "EUR")}
    lines = domain.priced([Line("A", 2), Line("B", 3)], stock)
    assert domain.total(lines) == (2 * 1999 + 3 * 1, "EUR")
    assert domain.total([Line("A", 1)]) is None
    assert lines[0] == Line("A", 2)  # a price is not part of what a repeat must match
