"""Phone numbers of the directory: mobiles normalised to E.164 by kiosk.contact, shown the French way."""

from __future__ import annotations

import phonenumbers

from kiosk.common.contact import RecipientError as PhoneError
from kiosk.common.contact import normalise_mobile

__all__ = ["PhoneError", "display_phone", "normalise_mobile"]


def display_phone(e164: str | None) -> str:
    """'+33612345678' -> '06 12 34 56 78' (international numbers keep their prefix)."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
