"""The uplink in the till's UI: the publisher started with the app, and « Envoi au portail » in the menu."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

if TYPE_CHECKING:
    from kiosk.ui.screens.sale import SaleScreen
    from kiosk.uplink.publisher import Publisher


def start_uplink(app: Any) -> Publisher | None:
    """Start sending to the portal when [uplink] is enabled; the UI never waits on it."""
    till = app.till
    if not till.config.uplink.enabled:
        return None
    from kiosk.uplink.publisher import Publisher

    def warn(text: str) -> None:
        app.call_from_thread(app.notify, text, severity="warning", timeout=30)

    def restart() -> None:
        app.call_from_thread(app.exit, None, 75)  # the supervisor starts the till again

    publisher = Publisher(till, on_warning=warn, restart=restart)
    publisher.start()
    app.set_interval(WATCH_S, lambda: watch_uplink(app, publisher))
    return publisher


WATCH_S = 2


def watch_uplink(app: Any, publisher: Publisher) -> None:
    """« PORTAIL HORS LIGNE : n en attente » in the title bar while sales wait for the network."""
    from kiosk.uplink.outbox import waiting_count

    note = ""
    if not publisher.connected.is_set():
        waiting = waiting_count(app.till.db.connection())
        if waiting:
            note = f"PORTAIL HORS LIGNE : {waiting} en attente"
    if note != app.uplink_note:
        app.uplink_note = note
        app.update_sub_title()


def uplink_lines(app: Any) -> list[str]:
    """What the cashier (or the technician on the phone) needs to know, in French."""
    from kiosk.uplink.outbox import backlog
    from kiosk.uplink.settings import UplinkSettings

    till = app.till
    if not till.config.uplink.enabled:
        return ["Envoi au portail désactivé (uplink.enabled = false dans la configuration)."]
    conn = till.db.connection()
    settings = UplinkSettings.from_config(till.config)
    publisher = getattr(app, "uplink", None)
    connected = publisher is not None and publisher.connected.is_set()
    waiting = backlog(conn)
    lines = [
        f"Serveur : {settings.host}:{settings.port} — {'connecté' if connected else 'NON CONNECTÉ'}",
        f"Événements en attente d'accusé du portail : {waiting.events}",
    ]
    if waiting.oldest:
        oldest = waiting.oldest
        lines.append(
            f"Plus ancien en attente : {oldest[8:10]}/{oldest[5:7]}/{oldest[0:4]} {oldest[11:16]} UTC"
        )
    warning = waiting.warning(settings.budget_bytes)
    if warning:
        lines.append(warning)
    ticket = till.ledger.head(conn, "TICKET")
    if ticket is not None:
        lines.append(f"Dernier ticket : n°{ticket.seq}, signature {ticket.sig[:16]}…")
    if not connected:
        lines.append("Les ventes restent enregistrées sur la caisse et partiront au retour du réseau.")
    return lines


class UplinkDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Fermer", id="uplink.close", tooltip="Fermer")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="uplink"):
            yield Label("Envoi au portail", classes="section-title")
            yield Static("\n".join(uplink_lines(self.app)), id="uplink-state", markup=False)
            yield Button("Fermer", id="uplink-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


def show(screen: SaleScreen) -> None:
    screen.app.push_screen(UplinkDialog())
