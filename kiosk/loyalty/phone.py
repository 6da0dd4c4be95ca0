"""Phone numbers: French or international mobiles, normalised to E.164 (phonenumbers)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class PhoneError(ValueError):
    """A number the till cannot use; the message says what to type (French)."""


def normalise_mobile(text: str, region: str = "FR") -> str:
    """'06 12 34 56 78' -> '+33612345678'; a landline, a short or malformed number is refused."""
    cleaned = text.strip()
    if not cleaned:
        raise PhoneError("Le numéro de téléphone mobile est obligatoire.")
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException:
        raise PhoneError(
            f"« {cleaned} » n'est pas un numéro de téléphone : saisissez par exemple 06 12 34 56 78 "
            "ou +32 470 12 34 56."
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"« {cleaned} » n'est pas un numéro valide : vérifiez les chiffres.")
    kind = phonenumbers.number_type(number)
    if kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise PhoneError(
            f"« {cleaned} » n'est pas un numéro de mobile : le programme de fidélité s'appuie sur un mobile."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str | None) -> str:
    """'+33612345678' -> '06 12 34 56 78' (international numbers keep their prefix)."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
