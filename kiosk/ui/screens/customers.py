"""Customers at the till: the directory (« Annuaire clients »), the customer form and sheet, the loyalty
programme set-up and its statistics. Reached from the F1 menu, and after payment to attach the sale."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from kiosk.common.money import AmountError, format_eur, parse_amount
from kiosk.loyalty.directory import CustomerError, CustomerView
from kiosk.loyalty.phone import display_phone
from kiosk.loyalty.programmes import KINDS
from kiosk.loyalty.service import LoyaltyError
from kiosk.loyalty.stats import Period, loyalty_stats
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.ui.dialogs.basic import ManagerPinDialog

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen


def _kiosk(screen: Screen[Any]) -> KioskApp:
    return cast("KioskApp", screen.app)


def _label(customer: CustomerView) -> str:
    name = f"{customer.last_name.upper()} {customer.first_name}".strip()
    return f"{name or '(sans nom)'} — {display_phone(customer.phone)}"


class CustomerPickerScreen(ModalScreen[int | None]):
    """Search the directory by name or phone; Entrée or a touch on a customer chooses them.

    `attach=True`: « Souhaitez-vous ajouter la transaction à un des clients de l'annuaire ? »; dismisses
    with the customer chosen or created, None for « Non ». Otherwise the directory: a choice opens the sheet.
    """

    BINDINGS = [
        Binding("escape", "dismiss_none", "Fermer", id="customers.close"),
        Binding("f2", "new_customer", "Nouveau client", id="customers.new"),
    ]

    def __init__(self, attach: bool = False):
        super().__init__()
        self.attach = attach

    def compose(self) -> ComposeResult:
        title = "Ajouter la transaction à un client de l'annuaire ?" if self.attach else "Annuaire clients"
        with Vertical(classes="dialog", id="customers"):
            yield Label(title, classes="section-title")
            yield Input(placeholder="Nom ou téléphone du client", id="customer-search")
            yield OptionList(id="customer-results")
            yield Static("", id="customer-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Nouveau client (F2)", id="customer-new", variant="primary")
                yield Button("Non" if self.attach else "Fermer", id="customer-cancel")

    def on_mount(self) -> None:
        self.refresh_results("")
        self.query_one("#customer-search", Input).focus()

    @on(Input.Changed, "#customer-search")
    def searched(self, event: Input.Changed) -> None:
        self.refresh_results(event.value)

    def refresh_results(self, text: str) -> None:
        results = self.query_one("#customer-results", OptionList)
        results.clear_options()
        found = _kiosk(self).till.customers.search(text, limit=30)
        results.add_options([Option(_label(c), id=str(c.id)) for c in found])
        self.query_one("#customer-error", Static).update(
            "" if found or not text.strip() else "Aucun client trouvé : « Nouveau client » pour l'inscrire."
        )

    @on(Input.Submitted, "#customer-search")
    def first_result(self) -> None:
        results = self.query_one("#customer-results", OptionList)
        if results.option_count:
            results.highlighted = results.highlighted or 0
            results.focus()

    @on(OptionList.OptionSelected, "#customer-results")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        customer_id = int(event.option.id or 0)
        if self.attach:
            self.dismiss(customer_id)
        else:
            self.app.push_screen(CustomerSheetScreen(customer_id), lambda _: self.refresh_results(""))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "customer-new":
            self.action_new_customer()
        else:
            self.dismiss(None)

    def action_new_customer(self) -> None:
        phone = self.query_one("#customer-search", Input).value
        digits = sum(ch.isdigit() for ch in phone)

        def created(customer_id: int | None) -> None:
            if customer_id is None:
                return
            if self.attach:
                self.dismiss(customer_id)
            else:
                self.refresh_results("")

        self.app.push_screen(CustomerFormScreen(phone=phone if digits >= 6 else ""), created)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question (the customer's consent to use their reward...): Entrée or « Oui », Échap « Non »."""

    BINDINGS = [Binding("escape", "answer(False)", "Non", id="confirm.no")]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm"):
            yield Static(Content(self.question), id="confirm-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Oui", id="confirm-yes", variant="success")
                yield Button("Non", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class CustomerFormScreen(ModalScreen[int | None]):
    """Create (only the mobile number is mandatory, consent asked) or rectify a customer."""

    BINDINGS = [Binding("escape", "dismiss_none", "Annuler", id="customer-form.cancel")]

    def __init__(self, customer_id: int | None = None, phone: str = ""):
        super().__init__()
        self.customer_id = customer_id
        self.phone = phone

    def compose(self) -> ComposeResult:
        current = _kiosk(self).till.customers.get(self.customer_id) if self.customer_id else None
        birth = (
            datetime.fromisoformat(current.birth_date).strftime("%d/%m/%Y")
            if current and current.birth_date
            else ""
        )
        with VerticalScroll(classes="dialog", id="customer-form"):
            yield Label("Fiche client" if current else "Nouveau client", classes="section-title")
            yield Input(
                display_phone(current.phone) if current else self.phone,
                placeholder="Téléphone mobile (obligatoire)",
                id="form-phone",
            )
            yield Input(current.first_name if current else "", placeholder="Prénom", id="form-first")
            yield Input(current.last_name if current else "", placeholder="Nom", id="form-last")
            yield Input(current.email if current else "", placeholder="E-mail", id="form-email")
            yield Input(birth, placeholder="Date de naissance (jj/mm/aaaa)", id="form-birth")
            yield Input(current.address if current else "", placeholder="Adresse", id="form-address")
            if current is None:
                yield Checkbox(
                    "Le client a pris connaissance de la notice et accepte le programme", id="form-consent"
                )
            yield Static("", id="form-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Enregistrer", id="form-ok", variant="success")
                yield Button("Annuler", id="form-cancel")

    def on_mount(self) -> None:
        self.query_one("#form-phone", Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "form-address":  # Entrée on the last field saves
            self.save()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-ok":
            self.save()
        else:
            self.dismiss(None)

    def save(self) -> None:
        customers = _kiosk(self).till.customers
        fields = {
            "first_name": self._value("form-first"),
            "last_name": self._value("form-last"),
            "email": self._value("form-email"),
            "birth_date": self._value("form-birth"),
            "address": self._value("form-address"),
        }
        try:
            if self.customer_id is None:
                consent = self.query_one("#form-consent", Checkbox).value
                customer = customers.create(self._value("form-phone"), consent=consent, **fields)
            else:
                customer = customers.edit(self.customer_id, phone=self._value("form-phone"), **fields)
        except CustomerError as exc:
            self.query_one("#form-error", Static).update(Content(str(exc)))
            self.app.bell()
            return
        self.dismiss(customer.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def sheet_text(sheet: dict[str, object], kitty_label: str = "Cagnotte") -> str:
    customer = cast(CustomerView, sheet["customer"])
    last = sheet.get("last_visit_utc")
    lines = [
        customer.display_name,
        f"Téléphone : {display_phone(customer.phone) or '-'}    E-mail : {customer.email or '-'}",
        f"Dernière visite : {str(last)[8:10]}/{str(last)[5:7]}/{str(last)[:4]}" if last else "Aucune visite",
        f"Visites : {sheet['visits']}    Panier moyen : {format_eur(cast(int, sheet['average_basket_cents']))}",
        f"{kitty_label} : {format_eur(cast(int, sheet['kitty_cents']))}    Tampons : {sheet['stamps']}",
        f"Récompenses : {sheet['rewards_count']} pour {format_eur(cast(int, sheet['rewards_cents']))}",
        f"Cartes : {', '.join(cast(list[str], sheet['cards'])) or 'aucune'}",
        "",
        "Derniers achats :",
    ]
    for sale in cast(list[dict[str, object]], sheet["history"]):
        utc = str(sale["utc"])
        lines.append(
            f"  {utc[8:10]}/{utc[5:7]}/{utc[:4]}  {sale['ticket']}  {format_eur(cast(int, sale['total_cents']))}"
        )
    return "\n".join(lines)


class CustomerSheetScreen(ModalScreen[None]):
    """« Fiche client »: visits, average basket, kitty, rewards, history; rectify, export or erase (RGPD)."""

    BINDINGS = [Binding("escape", "close", "Fermer", id="sheet.close")]

    def __init__(self, customer_id: int):
        super().__init__()
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="customer-sheet"):
            yield Label("Fiche client", classes="section-title")
            with VerticalScroll(id="sheet-scroll"):
                yield Static("", id="sheet-text")
            yield Static("", id="sheet-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Modifier", id="sheet-edit", variant="primary")
                yield Button("Exporter (RGPD)", id="sheet-export")
                yield Button("Effacer (RGPD)", id="sheet-erase", variant="error")
                yield Button("Fermer", id="sheet-close")

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        sheet = _kiosk(self).till.customers.sheet(self.customer_id)
        self.query_one("#sheet-text", Static).update(Content(sheet_text(sheet)))
        erased = cast(CustomerView, sheet["customer"]).erased
        for button_id in ("#sheet-edit", "#sheet-export", "#sheet-erase"):
            self.query_one(button_id, Button).disabled = erased

    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#sheet-message", Static)
        message.update(Content(text))
        message.set_class(error, "error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id
        if button_id == "sheet-edit":
            self.app.push_screen(CustomerFormScreen(self.customer_id), lambda _: self.show())
        elif button_id == "sheet-export":
            self._with_manager("Exporter les données du client", self.export)
        elif button_id == "sheet-erase":
            self._with_manager("Effacer le client (droit à l'effacement)", self.erase)
        else:
            self.dismiss(None)

    def _with_manager(self, action: str, then: Callable[[StaffMember], None]) -> None:
        def authorised(manager: StaffMember | None) -> None:
            if manager is not None:
                then(manager)

        self.app.push_screen(ManagerPinDialog(_kiosk(self).till.staff, action), authorised)

    def export(self, manager: StaffMember) -> None:
        till = _kiosk(self).till
        data, text = till.customers.export(self.customer_id, by=manager.name)
        out = till.data_dir / "exports"
        out.mkdir(parents=True, exist_ok=True)
        base = out / f"client-{self.customer_id}"
        base.with_suffix(".json").write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
        base.with_suffix(".txt").write_text(text, "utf-8")
        self.say(f"Données exportées dans {base}.json et .txt (à remettre au client).")

    def erase(self, manager: StaffMember) -> None:
        from kiosk.staff.permissions import require

        try:
            require(manager, "customers_rgpd")
        except PermissionDenied as exc:
            self.say(str(exc), error=True)
            return
        _kiosk(self).till.customers.erase(self.customer_id, by=manager.name)
        self.show()
        self.say("Client effacé : ses données personnelles sont supprimées, les tickets restent intacts.")

    def action_close(self) -> None:
        self.dismiss(None)


class ProgrammeScreen(ModalScreen[None]):
    """The loyalty programme (manager): create one of the three, suspend, resume or delete it."""

    BINDINGS = [Binding("escape", "close", "Fermer", id="programme.close")]

    def __init__(self, manager: StaffMember):
        super().__init__()
        self.manager = manager
        self.kind = "percent"

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="programme"):
            yield Label("Programme de fidélité", classes="section-title")
            yield Static("", id="programme-current")
            with Vertical(id="programme-new"):
                with Horizontal(classes="dialog-buttons"):
                    for kind, label in KINDS.items():
                        yield Button(label, id=f"kind-{kind}", classes="kind")
                yield Input(placeholder="Nom du programme (imprimé sur les tickets)", id="prog-name")
                yield Input(placeholder="", id="prog-a")
                yield Input(placeholder="", id="prog-b")
                yield Input(placeholder="Cagnotte pleine à (€, vide : jamais)", id="prog-full")
                yield Input(placeholder="Valable du (jj/mm/aaaa, vide : dès maintenant)", id="prog-from")
                yield Input(placeholder="Valable jusqu'au (jj/mm/aaaa, vide : sans fin)", id="prog-to")
                yield Button("Valider", id="prog-ok", variant="success")
            with Horizontal(classes="dialog-buttons", id="programme-actions"):
                yield Button("Suspendre", id="prog-suspend")
                yield Button("Reprendre", id="prog-resume")
                yield Button("Supprimer", id="prog-delete", variant="error")
            yield Static("", id="prog-error", classes="error")
            yield Button("Fermer", id="prog-close")

    def on_mount(self) -> None:
        self.choose_kind("percent")
        self.show()

    def show(self) -> None:
        loyalty = _kiosk(self).till.loyalty
        programme = loyalty.programme()
        current = self.query_one("#programme-current", Static)
        self.query_one("#programme-new").display = programme is None
        self.query_one("#programme-actions").display = programme is not None
        if programme is None:
            current.update("Aucun programme : choisissez-en un des trois.")
            return
        state = {"active": "actif", "suspended": "suspendu"}.get(programme.state, programme.state)
        params = json.loads(programme.params)
        detail = {
            "stamps": f"1 article offert pour {params.get('buy')} achetés",
            "band": f"{format_eur(params.get('credit_cents', 0))} par tranche de "
            f"{format_eur(params.get('per_cents', 0))}",
            "percent": f"{format_eur(params.get('rate_bp', 0), symbol=False)} % des achats",
        }[programme.kind]
        current.update(Content(f"« {programme.name} » ({state}) : {detail}"))
        self.query_one("#prog-suspend", Button).display = programme.state == "active"
        self.query_one("#prog-resume", Button).display = programme.state == "suspended"

    def choose_kind(self, kind: str) -> None:
        self.kind = kind
        for button in self.query(".kind"):
            button.set_class(button.id == f"kind-{kind}", "-selected")
        first, second = self.query_one("#prog-a", Input), self.query_one("#prog-b", Input)
        second.display = kind == "band"
        self.query_one("#prog-full", Input).display = kind != "stamps"
        first.placeholder = {
            "stamps": "Nombre d'articles achetés pour un offert",
            "band": "Tranche d'achat (€), par exemple 10",
            "percent": "Pourcentage des achats, par exemple 5 ou 2,5",
        }[kind]
        second.placeholder = "Montant crédité par tranche (€), par exemple 1"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        loyalty = _kiosk(self).till.loyalty
        try:
            if button_id.startswith("kind-"):
                self.choose_kind(button_id.removeprefix("kind-"))
            elif button_id == "prog-ok":
                self.create()
            elif button_id in ("prog-suspend", "prog-resume", "prog-delete"):
                state = {"prog-suspend": "suspended", "prog-resume": "active", "prog-delete": "deleted"}
                loyalty.set_state(self.manager, state[button_id])
                self.show()
            elif button_id == "prog-close":
                self.dismiss(None)
        except (LoyaltyError, PermissionDenied, AmountError, ValueError) as exc:
            self.query_one("#prog-error", Static).update(Content(str(exc)))
            self.app.bell()

    def _date(self, widget_id: str) -> date | None:
        text = self.query_one(widget_id, Input).value.strip()
        if not text:
            return None
        try:
            return datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            raise LoyaltyError(f"Date « {text} » : saisissez-la comme 01/01/2027.") from None

    def create(self) -> None:
        value = self.query_one("#prog-a", Input).value.strip()
        params: dict[str, object]
        if self.kind == "stamps":
            if not value.isdigit():
                raise LoyaltyError("Nombre d'articles achetés : un nombre entier, par exemple 10.")
            params = {"buy": int(value)}
        elif self.kind == "band":
            params = {
                "per_cents": parse_amount(value, allow_zero=False),
                "credit_cents": parse_amount(self.query_one("#prog-b", Input).value, allow_zero=False),
            }
        else:
            params = {"rate_bp": parse_amount(value, allow_zero=False)}  # 2,5 (%) -> 250 basis points
        full = self.query_one("#prog-full", Input).value.strip()
        if self.kind != "stamps":
            params["full_at_cents"] = parse_amount(full) if full else 0
        name = self.query_one("#prog-name", Input).value
        _kiosk(self).till.loyalty.set_up(
            self.manager, self.kind, name, params, self._date("#prog-from"), self._date("#prog-to")
        )
        self.query_one("#prog-error", Static).update("")
        self.show()

    def action_close(self) -> None:
        self.dismiss(None)


class LoyaltyStatsScreen(ModalScreen[None]):
    """« Analyse fidélité » of the current month (manager)."""

    BINDINGS = [Binding("escape", "close", "Fermer", id="stats.close")]

    def compose(self) -> ComposeResult:
        till = _kiosk(self).till
        now = till.clock()
        period = Period(now.date().replace(day=1), now.date())
        stats = loyalty_stats(
            till.db,
            till.config.till_id,
            period,
            till.config.timezone,
            now,
            till.config.customers.inactive_days,
        )
        names = {c.id: c.display_name for c in till.customers.search("", limit=10_000)}
        lines = [
            f"Du {period.start:%d/%m/%Y} au {period.end:%d/%m/%Y}",
            f"Ventes : {stats['sales_count']} pour {format_eur(stats['sales_cents'])}",
            f"Inscriptions : {stats['enrolments']}    Membres : {stats['members']}",
            f"Achats des membres : {stats['member_purchases']} pour {format_eur(stats['member_cents'])} "
            f"({format_eur(stats['member_share_bp'], symbol=False)} % du CA)",
            f"Fréquence : {format_eur(stats['visits_per_member_x100'], symbol=False)} visites par membre actif",
            f"Récompenses : {stats['rewards_count']} pour {format_eur(stats['rewards_cents'])}",
            "Meilleurs clients :",
            *(
                f"  {names.get(b['customer'], b['customer'])} : {b['visits']} visite(s), "
                f"{format_eur(b['spent_cents'])}"
                for b in stats["best"]
            ),
            f"Clients inactifs : {len(stats['inactive'])}",
        ]
        with Vertical(classes="dialog", id="loyalty-stats"):
            yield Label("Analyse fidélité", classes="section-title")
            yield Static(Content("\n".join(lines)), id="stats-text")
            yield Button("Fermer", id="stats-close")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


# -- F1 menu entries --------------------------------------------------------------------------------------


def open_directory(screen: SaleScreen) -> None:
    screen.app.push_screen(CustomerPickerScreen())


def open_programme(screen: SaleScreen) -> None:
    def authorised(manager: StaffMember | None) -> None:
        if manager is not None:
            screen.app.push_screen(ProgrammeScreen(manager))

    screen.app.push_screen(ManagerPinDialog(screen.kiosk.till.staff, "Programme de fidélité"), authorised)


def open_stats(screen: SaleScreen) -> None:
    def authorised(manager: StaffMember | None) -> None:
        if manager is not None:
            screen.app.push_screen(LoyaltyStatsScreen())

    screen.app.push_screen(ManagerPinDialog(screen.kiosk.till.staff, "Analyse fidélité"), authorised)
