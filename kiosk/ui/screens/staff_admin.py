"""Staff at the till: users (a responsible's PIN), « Changer mon code PIN », « Changer d'utilisateur »,
« Mes ventes ». The services check every permission; these screens only ask and show."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from fiscal.journal import FiscalError
from kiosk.common.money import format_eur
from kiosk.sale.history import sales_history
from kiosk.staff.permissions import PermissionDenied, allowed
from kiosk.staff.service import ROLES, LoginError, StaffError, StaffMember
from kiosk.ui.dialogs.basic import ManagerPinDialog
from kiosk.ui.widgets.keys import PinInput

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens.sale import SaleScreen

REFUSALS = (StaffError, LoginError, PermissionDenied, FiscalError)


class UserDialog(ModalScreen[bool]):
    """Create or edit a user: name, role, and (creation only) the first PIN. `submit` raises on refusal."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Annuler", id="user.cancel", tooltip="Ne rien changer")]

    def __init__(
        self, title: str, submit: Callable[[str, str, str], None], name: str = "", role: str = "cashier"
    ):
        super().__init__()
        self.title_text = title
        self.submit = submit
        self.initial_name = name
        self.role = role
        self.creating = not name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="user-dialog"):
            yield Label(Content(self.title_text), classes="section-title")
            yield Input(self.initial_name, placeholder="Nom", id="user-name", max_length=30)
            with Horizontal(classes="dialog-buttons"):
                for role, label in ROLES.items():
                    yield Button(label, id=f"role-{role}", classes="role")
            if self.creating:
                yield PinInput(id="user-pin", placeholder="Code PIN (6 chiffres)")
            yield Static("", id="user-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="user-ok", variant="success")
                yield Button("Annuler", id="user-cancel")

    def on_mount(self) -> None:
        self._select(self.role)
        self.query_one("#user-name", Input).focus()

    def _select(self, role: str) -> None:
        self.role = role
        for button in self.query(".role"):
            button.set_class(button.id == f"role-{role}", "-selected")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "user-name" and self.creating:
            self.query_one("#user-pin", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("role-"):
            self._select(button_id.removeprefix("role-"))
        elif button_id == "user-ok":
            self._submit()
        else:
            self.dismiss(False)

    def _submit(self) -> None:
        pin = self.query_one("#user-pin", Input).value if self.creating else ""
        try:
            self.submit(self.query_one("#user-name", Input).value, self.role, pin)
        except REFUSALS as exc:
            self.query_one("#user-error", Static).update(Content(str(exc)))
            return
        self.dismiss(True)


class PinDialog(ModalScreen[bool]):
    """A new PIN typed twice (and the current one when changing one's own). `submit(old, new)` raises."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Annuler", id="pin.cancel", tooltip="Ne rien changer")]

    def __init__(self, title: str, submit: Callable[[str, str], None], *, ask_old: bool):
        super().__init__()
        self.title_text = title
        self.submit = submit
        self.ask_old = ask_old

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="pin-dialog"):
            yield Label(Content(self.title_text), classes="section-title")
            if self.ask_old:
                yield PinInput(id="pin-old", placeholder="Code actuel")
            yield PinInput(id="pin-new", placeholder="Nouveau code")
            yield PinInput(id="pin-again", placeholder="Nouveau code encore")
            yield Static("", id="pin-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Valider", id="pin-change-ok", variant="success")
                yield Button("Annuler", id="pin-change-cancel")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "pin-change-ok":
            self._submit()
        else:
            self.dismiss(False)

    def _submit(self) -> None:
        error = self.query_one("#pin-error", Static)
        old = self.query_one("#pin-old", Input).value if self.ask_old else ""
        new, again = self.query_one("#pin-new", Input).value, self.query_one("#pin-again", Input).value
        if new != again:
            error.update("Les deux saisies du nouveau code diffèrent : recommencez.")
            self.query_one("#pin-again", Input).value = ""
            return
        try:
            self.submit(old, new)
        except REFUSALS as exc:
            error.update(Content(str(exc)))
            for field in self.query(Input):
                field.value = ""
            self.query(Input).first().focus()
            return
        self.dismiss(True)


class UsersScreen(ModalScreen[None]):
    """« Utilisateurs »: the staff list; add, edit, deactivate or reactivate, set a forgotten PIN."""

    DEFAULT_CSS = "#users { width: 76; } #users-table { height: auto; max-height: 12; }"
    BINDINGS = [
        Binding("f2", "add", "Ajouter", id="users.add", tooltip="Nouvel utilisateur"),
        Binding("f3", "edit", "Modifier", id="users.edit", tooltip="Nom ou rôle"),
        Binding("f4", "reset_pin", "Nouveau PIN", id="users.pin", tooltip="Code oublié"),
        Binding("f8", "toggle_active", "Désactiver/Réactiver", id="users.active", tooltip="Désactiver"),
        Binding("escape", "dismiss(None)", "Fermer", id="users.close", tooltip="Revenir à la vente"),
    ]

    def __init__(self, manager: StaffMember):
        super().__init__()
        self.manager = manager

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="users"):
            yield Label(
                Content(f"Utilisateurs — {self.manager.name} ({self.manager.role_label})"),
                classes="section-title",
            )
            yield DataTable(id="users-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="users-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ajouter (F2)", id="users-add", variant="success")
                yield Button("Modifier (F3)", id="users-edit")
                yield Button("Nouveau PIN (F4)", id="users-pin")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Désactiver / Réactiver (F8)", id="users-active", variant="warning")
                yield Button("Fermer", id="users-close")

    def on_mount(self) -> None:
        table = self.query_one("#users-table", DataTable)
        table.add_columns("Nom", "Rôle", "État")
        self.reload()
        table.focus()

    def reload(self) -> None:
        table = self.query_one("#users-table", DataTable)
        table.clear()
        for member, active in self.kiosk.till.staff.all_users():
            state = "actif" if active else "désactivé"
            table.add_row(Text(member.name), Text(member.role_label), Text(state), key=str(member.id))

    def say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#users-message", Static)
        message.update(Content(text))
        message.set_class(error, "error")

    def selected(self) -> StaffMember | None:
        table = self.query_one("#users-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.kiosk.till.staff.get(int(key or 0))

    def action_add(self) -> None:
        staff = self.kiosk.till.staff

        def submit(name: str, role: str, pin: str) -> None:
            staff.create(name, role, pin, by=self.manager)

        def done(ok: bool | None) -> None:
            if ok:
                self.reload()
                self.say("Utilisateur créé : il choisit son nom et tape son code à la connexion.")

        self.app.push_screen(UserDialog("Nouvel utilisateur", submit), done)

    def action_edit(self) -> None:
        target = self.selected()
        if target is None:
            return
        staff = self.kiosk.till.staff

        def submit(name: str, role: str, _: str) -> None:
            staff.update(self.manager, target.id, name=name, role=role)

        def done(ok: bool | None) -> None:
            if ok:
                self.reload()
                self.say("Modification enregistrée.")

        self.app.push_screen(UserDialog(f"Modifier {target.name}", submit, target.name, target.role), done)

    def action_reset_pin(self) -> None:
        target = self.selected()
        if target is None:
            return
        staff = self.kiosk.till.staff

        def submit(_: str, new: str) -> None:
            staff.reset_pin(self.manager, target.id, new)

        def done(ok: bool | None) -> None:
            if ok:
                self.say(f"Nouveau code de {target.name} enregistré ; son blocage éventuel est levé.")

        self.app.push_screen(PinDialog(f"Nouveau code PIN de {target.name}", submit, ask_old=False), done)

    def action_toggle_active(self) -> None:
        target = self.selected()
        if target is None:
            return
        staff = self.kiosk.till.staff
        active = dict((m.id, a) for m, a in staff.all_users()).get(target.id, False)
        try:
            if active:
                staff.deactivate(self.manager, target.id)
            else:
                staff.reactivate(self.manager, target.id)
        except REFUSALS as exc:
            self.say(str(exc), error=True)
            return
        self.reload()
        self.say(f"{target.name} {'désactivé(e) : ne peut plus se connecter' if active else 'réactivé(e)'}.")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "users-add": self.action_add,
            "users-edit": self.action_edit,
            "users-pin": self.action_reset_pin,
            "users-active": self.action_toggle_active,
        }
        actions.get(event.button.id or "", lambda: self.dismiss(None))()


class HistoryScreen(ModalScreen[None]):
    """« Mes ventes »: today's tickets, the cashier's own only; a responsible sees everyone's."""

    DEFAULT_CSS = "#history { width: 76; } #history-table { height: auto; max-height: 14; }"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Fermer", id="history.close", tooltip="Revenir à la vente")
    ]

    def __init__(self, member: StaffMember):
        super().__init__()
        self.member = member

    def compose(self) -> ComposeResult:
        till = cast("KioskApp", self.app).till
        everyone = allowed(self.member, "all_history")
        title = (
            "Ventes du jour (tous les vendeurs)" if everyone else f"Mes ventes du jour — {self.member.name}"
        )
        entries = sales_history(
            till.db.connection(),
            till.ledger.till,
            self.member,
            till.clock().date(),
            training=till.checkout.training,
        )
        with Vertical(classes="dialog", id="history"):
            yield Label(Content(title), classes="section-title")
            table: DataTable[Text] = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("Ticket", "Heure", "Vendeur", "Montant", "Règlement")
            for entry in entries:
                amount = format_eur(entry.total) + (" (retour)" if entry.kind == "RETURN" else "")
                table.add_row(
                    Text(entry.number),
                    Text(entry.time_text),
                    Text(entry.cashier),
                    Text(amount),
                    Text(entry.tenders),
                )
            yield table
            total = sum(e.total for e in entries)
            summary = f"{len(entries)} ticket(s), total {format_eur(total)}"
            if everyone:  # the seed: a manager sees each user's activity
                per: dict[str, list[int]] = {}
                for entry in entries:
                    per.setdefault(entry.cashier, []).append(entry.total)
                summary += "\n" + " · ".join(
                    f"{name} : {len(totals)} ticket(s), {format_eur(sum(totals))}"
                    for name, totals in sorted(per.items())
                )
            yield Static(Content(summary), id="history-total")
            yield Button("Fermer", id="history-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


# -- menu handlers ---------------------------------------------------------------------------------------
def users(screen: SaleScreen) -> None:
    """« Utilisateurs »: managers and admins only, by their PIN; the service checks each act again."""
    till = cast("KioskApp", screen.app).till
    if allowed(screen.member, "manage_cashiers"):
        screen.app.push_screen(UsersScreen(screen.member))
        return

    def authorised(manager: StaffMember | None) -> None:
        if manager is not None:
            screen.app.push_screen(UsersScreen(manager))

    screen.app.push_screen(ManagerPinDialog(till.staff, "Gérer les utilisateurs"), authorised)


def change_my_pin(screen: SaleScreen) -> None:
    staff = cast("KioskApp", screen.app).till.staff

    def submit(old: str, new: str) -> None:
        staff.change_own_pin(screen.member, old, new)

    def done(ok: bool | None) -> None:
        if ok:
            screen.say("Votre code PIN est changé : utilisez-le à la prochaine connexion.")

    screen.app.push_screen(
        PinDialog(f"Changer mon code PIN — {screen.member.name}", submit, ask_old=True), done
    )


def switch_user(screen: SaleScreen) -> None:
    """A shared till: the sale in progress is parked under the cashier's name (nothing lost, each ticket
    stays attributed to whoever cashes it), then the next cashier logs in."""
    from kiosk.ui.screens.parked import park_current

    kiosk = cast("KioskApp", screen.app)
    if not screen.basket.is_empty:
        parked = park_current(screen, f"{screen.member.name} {kiosk.till.clock():%H:%M}")
        if parked is None:
            return
        kiosk.notify(f"Vente en cours mise en attente sous « {parked.title} ».", timeout=8)
    kiosk.log_out()


def history(screen: SaleScreen) -> None:
    screen.app.push_screen(HistoryScreen(screen.member))
