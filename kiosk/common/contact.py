"""A customer's e-mail address or mobile number, checked and normalised (receipts by e-mail or SMS, the
customer directory)."""

from __future__ import annotations

import re

import phonenumbers

# A practical check (RFC 5321 lengths, one @, a dotted domain), not the full RFC 5322 grammar: what a
# cashier types from a customer's dictation, with clear refusals for the usual slips.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class RecipientError(ValueError):
    """A malformed address or number; the message tells the cashier what to fix (French)."""


def normalise_email(text: str) -> str:
    """The address, trimmed, with its domain in lower case; raises RecipientError."""
    address = text.strip()
    if not address:
        raise RecipientError("Saisissez l'adresse e-mail du client, par exemple prenom.nom@exemple.fr.")
    if " " in address:
        raise RecipientError(f"Adresse e-mail invalide « {address} » : elle ne doit pas contenir d'espace.")
    if address.count("@") != 1:
        raise RecipientError(
            f"Adresse e-mail invalide « {address} » : il faut un seul @, par exemple prenom.nom@exemple.fr."
        )
    local, domain = address.split("@")
    labels = domain.split(".")
    if not local or len(local) > 64 or not _LOCAL.fullmatch(local):
        raise RecipientError(
            f"Adresse e-mail invalide « {address} » : vérifiez la partie avant le @ (lettres, chiffres, . - _)."
        )
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not labels[-1].isalpha()
    ):
        raise RecipientError(
            f"Adresse e-mail invalide « {address} » : vérifiez le domaine après le @, par exemple exemple.fr."
        )
    if len(address) > 254:
        raise RecipientError("Adresse e-mail trop longue : vérifiez la saisie.")
    return f"{local}@{domain.lower()}"


def normalise_mobile(text: str, region: str = "FR") -> str:
    """The mobile number in international form (+33612345678); raises RecipientError.

    Numbers without a country code are read as French; a landline cannot receive an SMS and is refused.
    """
    raw = text.strip()
    if not raw:
        raise RecipientError("Saisissez le numéro de portable du client, par exemple 06 12 34 56 78.")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise RecipientError(
            f"Numéro invalide « {raw} » : tapez un numéro de portable, par exemple 06 12 34 56 78 "
            "ou +32 470 12 34 56."
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise RecipientError(
            f"Numéro invalide « {raw} » : vérifiez le nombre de chiffres (10 chiffres en France, 06 ou 07…)."
        )
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise RecipientError(
            f"Le numéro « {raw} » n'est pas un portable : un SMS ne peut être envoyé qu'à un portable."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(recipient: str) -> str:
    """What may be shown or logged of a recipient: enough to recognise it, not to reuse it."""
    if "@" in recipient:
        local, domain = recipient.split("@", 1)
        return f"{local[:1]}…@{domain}"
    return f"{recipient[:3]}…{recipient[-2:]}"
