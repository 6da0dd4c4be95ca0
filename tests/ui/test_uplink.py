"""The cashier's view of the uplink: a sale rung up on screen reaches the portal; the menu shows the state."""

from __future__ import annotations

import threading
from pathlib import Path

from textual.widgets import Static

from kiosk.ui.app import KioskApp
from kiosk.ui.menu import MENU
from kiosk.ui.screens.menu import MenuScreen
from kiosk.ui.screens.uplink import UplinkDialog
from kiosk.uplink import outbox
from kiosk.uplink.ingest import Ingest, open_store
from kiosk.uplink.settings import UplinkSettings
from tests.support.broker import Broker, broker, open_uplink_till, wait_until

__all__ = ["broker"]

# « Envoi au portail » in the F1 menu, wherever other features put their entries
UPLINK_ENTRY = ["home", *["down"] * [entry.id for entry in MENU].index("uplink")]


async def test_a_sale_on_screen_reaches_the_portal(tmp_path: Path, broker: Broker) -> None:
    till = open_uplink_till(tmp_path / "t", broker.port)
    store = open_store(f"sqlite:{tmp_path / 'portal.sqlite'}")
    ingest = Ingest(UplinkSettings(shop="S001", till="-", host="127.0.0.1", port=broker.port), store, "S001")
    thread = threading.Thread(target=ingest.run, daemon=True)
    thread.start()
    app = KioskApp(till)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("tab", "tab", "enter", *"333333", "enter")
            await pilot.press(*"BOUL-001", "enter")
            await pilot.press("f12", "enter", "f9")
            await pilot.pause()
            conn = till.db.connection()
            wait_until(lambda: outbox.backlog(conn).events == 0, what="the sale acknowledged by the portal")
            sales = store.conn.execute("SELECT payload FROM uplink_event WHERE type = 'sale'").fetchall()  # type: ignore[attr-defined]
            assert len(sales) == 1 and '"number":"T01-000001"' in sales[0][0]
            await pilot.press("enter")  # next sale
            await pilot.press("f1")
            assert isinstance(app.screen, MenuScreen)
            await pilot.press(*UPLINK_ENTRY, "enter")
            assert isinstance(app.screen, UplinkDialog)
            text = str(app.screen.query_one("#uplink-state", Static).render())
            assert "connecté" in text and "NON CONNECTÉ" not in text
            assert "en attente d'accusé du portail : 0" in text
            await pilot.click("#uplink-close")
            assert not isinstance(app.screen, UplinkDialog)
    finally:
        ingest.stop()
        thread.join(10)
        store.close()
        till.db.close()


async def test_the_title_bar_says_when_sales_wait_for_the_network(tmp_path: Path) -> None:
    from tests.support.broker import free_port

    till = open_uplink_till(tmp_path / "t", free_port())  # no broker there
    app = KioskApp(till)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("tab", "tab", "enter", *"333333", "enter")
            await pilot.press(*"BOUL-001", "enter")
            await pilot.press("f12", "enter", "f9")  # the sale goes through without the network
            await pilot.press("enter")
            for _ in range(200):
                if "PORTAIL HORS LIGNE" in app.sub_title:
                    break
                await pilot.pause(0.05)
            assert "PORTAIL HORS LIGNE : " in app.sub_title and "en attente" in app.sub_title
            await pilot.press("f1", *UPLINK_ENTRY, "enter")
            text = str(app.screen.query_one("#uplink-state", Static).render())
            assert "NON CONNECTÉ" in text and "partiront au retour du réseau" in text
    finally:
        till.db.close()


async def test_a_fleet_restart_ends_the_app_for_its_supervisor(tmp_path: Path, broker: Broker) -> None:
    import asyncio

    from kiosk.uplink.fleet import keygen, load_private_key, send_command

    public = keygen(tmp_path / "fleet.pem")
    till = open_uplink_till(tmp_path / "t", broker.port, extra=f'fleet_public_key = "{public}"\n')
    app = KioskApp(till)
    fleet = UplinkSettings(shop="S001", till="fleet", host="127.0.0.1", port=broker.port)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("tab", "tab", "enter", *"333333", "enter")
            assert app.uplink is not None
            for _ in range(200):
                if app.uplink.connected.is_set():
                    break
                await pilot.pause(0.05)
            result = await asyncio.to_thread(
                send_command, fleet, load_private_key(tmp_path / "fleet.pem"), "S001", "T01", "restart"
            )
            assert result is not None and result["ok"] is True
            for _ in range(200):
                if app.return_code is not None:
                    break
                await pilot.pause(0.05)
        assert app.return_code == 75  # systemd's Restart= starts the till again
    finally:
        till.db.close()
