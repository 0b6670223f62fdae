"""Money as both services keep it: a whole number of minor units and an ISO 4217 currency.

No floats anywhere: a price is ``1999`` and ``"EUR"``, never ``19.99``. Which codes exist, and
how many minor units each has (two for EUR, none for JPY, three for KWD), come from the
Unicode CLDR data Babel ships, not from a list kept here; only the currencies some country
uses as legal tender today are accepted.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, get_territory_currencies

# Products created before prices existed were given this currency and a price of 0.
DEFAULT_CURRENCY = "EUR"
# A price or a total: far inside PostgreSQL's BIGINT, and more than any order needs.
MAX_MINOR_UNITS = 10**15


@functools.cache
def currencies() -> frozenset[str]:
    """ISO 4217 codes that are legal tender somewhere today."""
    found: set[str] = set()
    for territory in Locale("en").territories:
        found.update(get_territory_currencies(str(territory), date.today(), tender=True))
    return frozenset(found)


def shown(minor_units: int, currency: str) -> str:
    """For people: ``shown(1999, "EUR")`` is ``€19.99``, ``shown(500, "JPY")`` is ``¥500``."""
    amount = Decimal(minor_units).scaleb(-get_currency_precision(currency))
    return str(format_currency(amount, currency, locale="en"))
