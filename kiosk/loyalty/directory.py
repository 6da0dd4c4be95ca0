"""The customer directory (« Annuaire clients »): create, edit, search, the customer sheet, card tokens,
and the RGPD rights (export, rectify, erase, retention)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from peewee import SqliteDatabase

from fiscal.journal import FiscalLedger
from fiscal.timeutil import stamp
from kiosk.common.contact import RecipientError, normalise_email
from kiosk.common.money import format_eur
from kiosk.common.text import fold
from kiosk.loyalty.phone import PhoneError, display_phone, normalise_mobile
from kiosk.store.loyalty_models import CardToken, Customer, CustomerSale, LoyaltyEntry

CONSENT_TEXT = "notice-fidelite-v1"


class CustomerError(ValueError):
    """A directory operation refused; the message says what to do (French)."""


@dataclass(frozen=True)
class CustomerView:
    id: int
    phone: str
    first_name: str
    last_name: str
    email: str
    birth_date: str
    address: str
    erased: bool

    @property
    def display_name(self) -> str:
        if self.erased:
            return f"Client n°{self.id} (effacé)"
        name = f"{self.first_name} {self.last_name}".strip()
        return name or display_phone(self.phone)


def _view(customer: Customer) -> CustomerView:
    return CustomerView(
        id=customer.id,
        phone=customer.phone or "",
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        birth_date=customer.birth_date,
        address=customer.address,
        erased=customer.erased_utc is not None,
    )


def parse_birth_date(text: str) -> str:
    """'14/07/1980' -> '1980-07-14'; '' stays ''."""
    text = text.strip()
    if not text:
        return ""
    try:
        day = datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise CustomerError(f"Date de naissance « {text} » : saisissez-la comme 14/07/1980.") from None
    if not date(1900, 1, 1) <= day <= date.today():
        raise CustomerError(f"Date de naissance « {text} » improbable : vérifiez l'année.")
    return day.isoformat()


def check_email(text: str) -> str:
    """'' (no e-mail) or the address checked as for receipts."""
    if not text.strip():
        return ""
    try:
        return normalise_email(text)
    except RecipientError as exc:
        raise CustomerError(str(exc)) from None


def card_token(secret: bytes, masked_pan: str, expiry: str = "") -> str:
    """A non-reversible token of a card from what the terminal returns (masked PAN, expiry): keyed, so
    that a stolen database does not tell which card is which; the full PAN is never seen."""
    digits = re.sub(r"[^0-9*Xx]", "", masked_pan).upper().replace("*", "X")
    if len(digits) < 10 or not digits[-4:].isdigit():
        raise CustomerError("Carte non reconnue : le terminal n'a pas donné de numéro masqué.")
    return hmac.new(secret, f"{digits}|{expiry}".encode(), hashlib.sha256).hexdigest()[:40]


class CustomerDirectory:
    def __init__(
        self,
        db: SqliteDatabase,
        ledger: FiscalLedger,
        clock: Callable[[], datetime],
        token_secret: bytes,
        region: str = "FR",
    ):
        self.db = db
        self.ledger = ledger
        self.clock = clock
        self.token_secret = token_secret
        self.region = region

    def _now(self) -> str:
        return stamp(self.clock())[0]

    # -- create, edit, find -------------------------------------------------------------------
    def create(
        self,
        phone: str,
        *,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
        birth_date: str = "",
        address: str = "",
        consent: bool,
    ) -> CustomerView:
        """Enrol a customer; consent to the programme's notice is required and dated (RGPD)."""
        if not consent:
            raise CustomerError(
                "Le client doit accepter les conditions du programme (notice d'information) avant "
                "l'inscription."
            )
        try:
            e164 = normalise_mobile(phone, self.region)
        except PhoneError as exc:
            raise CustomerError(str(exc)) from None
        fields = self._fields(first_name, last_name, email, birth_date, address)
        with self.db.atomic():
            if Customer.get_or_none(Customer.phone == e164) is not None:
                raise CustomerError(
                    f"Le {display_phone(e164)} est déjà dans l'annuaire : recherchez ce client."
                )
            now = self._now()
            customer = Customer.create(
                phone=e164, consent_utc=now, consent_text=CONSENT_TEXT, created_utc=now, **fields
            )
        return _view(customer)

    def _fields(
        self, first_name: str, last_name: str, email: str, birth: str, address: str
    ) -> dict[str, str]:
        return {
            "first_name": first_name.strip()[:60],
            "last_name": last_name.strip()[:60],
            "email": check_email(email),
            "birth_date": parse_birth_date(birth),
            "address": address.strip()[:200],
        }

    def edit(self, customer_id: int, **changes: str) -> CustomerView:
        """Rectify (RGPD): any of phone, first_name, last_name, email, birth_date (dd/mm/yyyy), address."""
        customer = self._live(customer_id)
        current = _view(customer)
        values = {
            "first_name": changes.get("first_name", current.first_name),
            "last_name": changes.get("last_name", current.last_name),
            "email": changes.get("email", current.email),
            "birth": changes.get(
                "birth_date",
                datetime.fromisoformat(current.birth_date).strftime("%d/%m/%Y") if current.birth_date else "",
            ),
            "address": changes.get("address", current.address),
        }
        fields: dict[str, Any] = self._fields(
            values["first_name"], values["last_name"], values["email"], values["birth"], values["address"]
        )
        same_phone = re.sub(r"\D", "", changes.get("phone", "")) in (
            re.sub(r"\D", "", display_phone(current.phone)),
            re.sub(r"\D", "", current.phone),
        )
        if "phone" in changes and not same_phone:
            try:
                fields["phone"] = normalise_mobile(changes["phone"], self.region)
            except PhoneError as exc:
                raise CustomerError(str(exc)) from None
            other = Customer.get_or_none(Customer.phone == fields["phone"])
            if other is not None and other.id != customer_id:
                raise CustomerError("Ce numéro appartient déjà à un autre client de l'annuaire.")
        with self.db.atomic():
            Customer.update(**fields).where(Customer.id == customer_id).execute()
        return self.get(customer_id)

    def _live(self, customer_id: int) -> Customer:
        customer = Customer.get_or_none(Customer.id == customer_id)
        if customer is None:
            raise CustomerError("Client introuvable dans l'annuaire.")
        if customer.erased_utc is not None:
            raise CustomerError(
                "Ce client a été effacé à sa demande : créez une nouvelle fiche s'il revient."
            )
        return customer

    def get(self, customer_id: int) -> CustomerView:
        customer = Customer.get_or_none(Customer.id == customer_id)
        if customer is None:
            raise CustomerError("Client introuvable dans l'annuaire.")
        return _view(customer)

    def by_phone(self, phone: str) -> CustomerView | None:
        try:
            e164 = normalise_mobile(phone, self.region)
        except PhoneError:
            return None
        customer = Customer.get_or_none(Customer.phone == e164)
        return _view(customer) if customer else None

    def search(self, text: str, limit: int = 50) -> list[CustomerView]:
        """By name (start of first or last name, accents and case ignored by SQLite's LIKE for ASCII)
        or by phone digits (06 12…, +33 6 12…)."""
        text = text.strip()
        query = Customer.select().where(Customer.erased_utc.is_null())
        digits = re.sub(r"\D", "", text)
        if digits and len(digits) >= 2 and not re.search(r"[A-Za-zÀ-ÿ]", text):
            national = digits[1:] if digits.startswith("0") else digits.removeprefix("33")
            query = query.where(Customer.phone.contains(national))
        elif text:
            wanted = fold(text)
            found = [
                c
                for c in query.order_by(Customer.last_name, Customer.first_name)
                if any(
                    fold(name).startswith(wanted)
                    for name in (
                        c.last_name,
                        c.first_name,
                        f"{c.first_name} {c.last_name}",
                        f"{c.last_name} {c.first_name}",
                    )
                )
            ]
            return [_view(c) for c in found[:limit]]
        return [_view(c) for c in query.order_by(Customer.last_name, Customer.first_name).limit(limit)]

    # -- cards ----------------------------------------------------------------------------------
    def link_card(self, customer_id: int, masked_pan: str, expiry: str = "") -> None:
        """Link a payment card to the customer (several cards may share one account)."""
        self._live(customer_id)
        token = card_token(self.token_secret, masked_pan, expiry)
        with self.db.atomic():
            existing = CardToken.get_or_none(CardToken.token == token)
            if existing is not None and existing.customer.id != customer_id:
                raise CustomerError("Cette carte est déjà liée à un autre client.")
            if existing is None:
                CardToken.create(
                    token=token, customer=customer_id, masked_tail=masked_pan[-4:], created_utc=self._now()
                )

    def by_card(self, masked_pan: str | None, expiry: str = "") -> CustomerView | None:
        """The customer a card belongs to, if it was linked; None otherwise (or without a PAN)."""
        if not masked_pan:
            return None
        try:
            token = card_token(self.token_secret, masked_pan, expiry)
        except CustomerError:
            return None
        found = CardToken.get_or_none(CardToken.token == token)
        return self.get(found.customer.id) if found is not None else None

    # -- the customer sheet -----------------------------------------------------------------------
    def sheet(self, customer_id: int, history: int = 20) -> dict[str, Any]:
        """What the « fiche client » shows: visits, last visit, average basket, kitty, stamps, rewards,
        purchase history."""
        customer = Customer.get_or_none(Customer.id == customer_id)
        if customer is None:
            raise CustomerError("Client introuvable dans l'annuaire.")
        sales = list(CustomerSale.select().where(CustomerSale.customer == customer_id))
        visits = [s for s in sales if s.total_cents > 0]
        spent = sum(s.total_cents for s in sales)
        entries = list(LoyaltyEntry.select().where(LoyaltyEntry.customer == customer_id))
        rewards = [e for e in entries if e.kind == "redeem"]
        return {
            "customer": _view(customer),
            "visits": len(visits),
            "last_visit_utc": customer.last_visit_utc,
            "spent_cents": spent,
            "average_basket_cents": spent // len(visits) if visits else 0,
            "kitty_cents": sum(e.kitty_cents for e in entries),
            "stamps": sum(e.stamps for e in entries),
            "rewards_count": len(rewards),
            "rewards_cents": sum(e.reward_cents for e in rewards),
            "cards": [
                f"•••• {c.masked_tail}" for c in CardToken.select().where(CardToken.customer == customer_id)
            ],
            "history": [
                {"ticket": s.ticket, "total_cents": s.total_cents, "utc": s.created_utc}
                for s in sorted(sales, key=lambda s: s.created_utc, reverse=True)[:history]
            ],
        }

    # -- RGPD -------------------------------------------------------------------------------------
    def export(self, customer_id: int, by: str) -> tuple[dict[str, Any], str]:
        """Everything held on a customer: (JSON-able data, readable French text) — the right of access;
        who asked is journaled (JET CUSTOMER_EXPORTED)."""
        self.ledger.record_event(
            self.db.connection(), "CUSTOMER_EXPORTED", {"customer": customer_id, "by": by}
        )
        sheet = self.sheet(customer_id, history=10_000)
        customer: CustomerView = sheet["customer"]
        row = Customer.get_by_id(customer_id)
        entries = [
            {
                "id": e.id,
                "kind": e.kind,
                "kitty_cents": e.kitty_cents,
                "stamps": e.stamps,
                "ticket": e.ticket,
                "utc": e.created_utc,
            }
            for e in LoyaltyEntry.select()
            .where(LoyaltyEntry.customer == customer_id)
            .order_by(LoyaltyEntry.created_utc)
        ]
        data = {
            "customer": {
                "id": customer.id,
                "phone": customer.phone,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "email": customer.email,
                "birth_date": customer.birth_date,
                "address": customer.address,
                "consent_utc": row.consent_utc,
                "consent_text": row.consent_text,
                "created_utc": row.created_utc,
                "last_visit_utc": row.last_visit_utc,
            },
            "cards": sheet["cards"],
            "purchases": sheet["history"],
            "loyalty_ledger": entries,
        }
        lines = [
            f"Données détenues sur le client n°{customer.id}",
            f"Téléphone : {display_phone(customer.phone) or '-'}",
            f"Nom : {customer.first_name} {customer.last_name}".rstrip(),
            f"E-mail : {customer.email or '-'}",
            f"Date de naissance : {_fr(customer.birth_date) or '-'}",
            f"Adresse : {customer.address or '-'}",
            f"Consentement : {row.consent_utc or '-'} ({row.consent_text})",
            f"Cartes liées : {', '.join(sheet['cards']) or 'aucune'}",
            f"Achats : {sheet['visits']} pour {format_eur(sheet['spent_cents'])}",
            f"Cagnotte : {format_eur(sheet['kitty_cents'])} ; tampons : {sheet['stamps']}",
        ]
        lines += [
            f"  {p['utc'][:10]} ticket {p['ticket']} {format_eur(p['total_cents'])}" for p in sheet["history"]
        ]
        return data, "\n".join(lines) + "\n"

    def erase(self, customer_id: int, by: str) -> None:
        """The right to erasure: personal fields and card tokens removed; the id, the loyalty ledger and
        the links to fiscal tickets stay (they hold no personal data), so every journal stays verifiable."""
        customer = Customer.get_or_none(Customer.id == customer_id)
        if customer is None:
            raise CustomerError("Client introuvable dans l'annuaire.")
        if customer.erased_utc is not None:
            return
        with self.db.atomic():
            Customer.update(
                phone=None,
                first_name="",
                last_name="",
                email="",
                birth_date="",
                address="",
                erased_utc=self._now(),
            ).where(Customer.id == customer_id).execute()
            CardToken.delete().where(CardToken.customer == customer_id).execute()
            self.ledger.record_event(
                self.db.connection(), "CUSTOMER_ERASED", {"customer": customer_id, "by": by}
            )

    def purge_inactive(self, months: int, by: str) -> list[int]:
        """Erase the customers with no visit (nor enrolment) for `months` months (retention period)."""
        limit = stamp(self.clock() - timedelta(days=months * 30))[0]
        stale = [
            c.id
            for c in Customer.select().where(Customer.erased_utc.is_null())
            if (c.last_visit_utc or c.created_utc) < limit
        ]
        for customer_id in stale:
            self.erase(customer_id, by)
        return stale


def _fr(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
