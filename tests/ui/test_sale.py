"""The first sale, driven through the real Textual UI with Pilot: keyboard only, then clicks only."""

from __future__ import annotations

from textual.widgets import Digits, OptionList, Static

from kiosk.common.money import format_eur
from kiosk.receipts.render import vat_code
from kiosk.till import Till
from kiosk.ui.app import KioskApp
from kiosk.ui.dialogs.basic import UnknownCodeDialog
from kiosk.ui.screens.login import LoginScreen
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.screens.sale import SaleScreen
from tests.support.ui import basket_rows, drawer_pulses, scannable, tickets


async def test_whole_sale_with_the_keyboard_only(till: Till) -> None:
    bread = scannable(till, 550)
    wine = scannable(till, 2000)
    paper = scannable(till, 210)
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        assert isinstance(app.screen, SaleScreen)
        for article in (bread, wine, paper, bread):
            await pilot.press(*str(article.barcode), "enter")
        rows = basket_rows(app)
        assert [r[0] for r in rows] == [bread.name, wine.name, paper.name]
        assert rows[0][1] == "2"
        # quantity of the wine line to 3, then delete the newspaper line
        await pilot.press("f3", "down")  # the merged bread line was the last touched
        await pilot.press("f4", "3", "enter")
        await pilot.press("down", "f8")
        rows = basket_rows(app)
        assert [(r[0], r[1]) for r in rows] == [(bread.name, "2"), (wine.name, "3")]
        total = 2 * bread.price_cents + 3 * wine.price_cents
        assert app.screen.query_one("#total", Static).render().plain == f"TOTAL {format_eur(total)}"  # type: ignore[union-attr]
        vat_text = str(app.screen.query_one("#vat-table", Static).render())
        assert "A  5,5 %" in vat_text and "C   20 %" in vat_text

        given = max(2000, -(-total // 1000) * 1000)
        await pilot.press("f12")
        assert isinstance(app.screen, PaymentScreen)
        await pilot.press(*str(given // 100), "enter")
        change = app.screen.query_one("#change", Digits).value
        assert change == format_eur(given - total)
        await app.workers.wait_for_complete()
        assert drawer_pulses(till) == 1

        await pilot.press("f9")
        assert isinstance(app.screen, ReceiptScreen)
        await app.workers.wait_for_complete()
        printed = till.printer.last_bytes  # type: ignore[attr-defined]
        assert bread.name.encode("cp858") in printed
        assert f"{format_eur(total)}".replace("€", "").encode() + b"\xd5" in printed
        assert b"A 5,5 %" in printed and b"C 20 %" in printed
        assert b"Rendu" in printed and b"Esp\x8aces" in printed
        preview = str(app.screen.query_one("#receipt-text", Static).render())
        assert "TOTAL TTC" in preview and "SIRET 823 456 785 00018" in preview
        await pilot.press("enter")
        assert isinstance(app.screen, SaleScreen)
        assert basket_rows(app) == []

    [ticket] = tickets(till)
    assert ticket["total"] == total
    assert [(line["label"], line["qty"]) for line in ticket["lines"]] == [(bread.name, "2"), (wine.name, "3")]
    assert ticket["tenders"] == [{"type": "cash", "amount": given}] and ticket["change"] == given - total
    assert ticket["cashier"]["name"] == "Camille"


async def test_whole_sale_with_clicks_only(till: Till) -> None:
    app = KioskApp(till)
    camille = next(m for m in till.staff.members() if m.name == "Camille")
    favourites = till.catalogue.favourites()
    first_tab = next(c.key for c in till.catalogue.categories() if c.key in favourites)
    first, second = favourites[first_tab][:2]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click(f"#user-{camille.id}")
        for digit in "333333":
            await pilot.click(f"#pin-{digit}")
        await pilot.click("#pin-ok")
        assert isinstance(app.screen, SaleScreen)
        await pilot.click(f"#fav-{first.id}")
        await pilot.click(f"#fav-{second.id}")
        await pilot.click(f"#fav-{second.id}")
        await pilot.click("#basket", offset=(3, 1))  # first row, under the header
        await pilot.click("#qty-plus")
        await pilot.click("#basket", offset=(3, 2))
        await pilot.click("#line-delete")
        rows = basket_rows(app)
        assert [(r[0], r[1]) for r in rows] == [(first.name, "2")]
        await pilot.click("#pay")
        assert isinstance(app.screen, PaymentScreen)
        await pilot.click("#cash-2000")
        await pilot.click("#pay-ok")
        total = 2 * first.price_cents
        assert app.screen.query_one("#change", Digits).value == format_eur(2000 - total)
        await pilot.click("#ticket-print")
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, ReceiptScreen)
        await pilot.click("#receipt-done")
        assert basket_rows(app) == []
    assert drawer_pulses(till) == 1
    assert till.printer.jobs == 1  # type: ignore[attr-defined]
    [ticket] = tickets(till)
    assert ticket["total"] == total and ticket["lines"][0]["vat"] == first.vat_bp
    assert vat_code(first.vat_bp) == "A"


async def test_unknown_barcode_offers_search_or_free_amount(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*"3000000000007", "enter")  # valid EAN-13, not in the catalogue
        assert isinstance(app.screen, UnknownCodeDialog)
        assert "« 3000000000007 » ne correspond à aucun article" in str(
            app.screen.query_one("#unknown-message").render()
        )
        await pilot.click("#unknown-free")
        await pilot.press(*"Bouquet", "enter", *"12,50", "enter")
        rows = basket_rows(app)
        assert rows == [["Bouquet", "1", "12,50 €", "12,50 €", "C"]]
        await pilot.press(*"3000000000008", "enter")  # wrong check digit
        message = str(app.screen.query_one("#message", Static).render())
        assert "clé de contrôle fausse" in message
        assert len(basket_rows(app)) == 1


async def test_wrong_pin_is_refused_and_journaled(till: Till) -> None:
    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "tab", "enter", *"999999", "enter")
        assert isinstance(app.screen, LoginScreen)
        error = str(app.screen.query_one("#login-error", Static).render())
        assert error == "Code PIN incorrect. Encore 4 essai(s) avant blocage."
        await pilot.press(*"333333", "enter")
        assert isinstance(app.screen, SaleScreen)
    events = [r[0] for r in till.db.execute_sql("SELECT rtype FROM fiscal_record WHERE journal = 'JET'")]
    assert events[-2:] == ["LOGIN_FAILED", "LOGIN"]


def test_search_finds_accentless_prefixes(till: Till) -> None:
    names = [a.name for a in till.catalogue.search("creme")]
    assert names and all("crème" in n.lower() or "creme" in n.lower() for n in names)


async def test_scanner_adds_articles_and_a_wrong_layout_is_reported(till: Till) -> None:
    """The simulated scanner types through the real evdev decoder, in its own thread."""
    bread = scannable(till, 550)
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        app.scanners.scan(str(bread.barcode))  # type: ignore[attr-defined]
        for _ in range(50):
            await pilot.pause(0.02)
            if basket_rows(app):
                break
        assert [r[0] for r in basket_rows(app)] == [bread.name]
        app.scanners.scan(str(bread.barcode), layout="us")  # type: ignore[attr-defined]
        for _ in range(50):
            await pilot.pause(0.02)
            if app._notifications:
                break
        messages = [n.message for n in app._notifications]
        assert any("devices.scanner.layout" in m for m in messages)
        assert basket_rows(app)[0][1] == "1"  # nothing added by the garbled scan


async def test_article_names_are_text_not_markup(till: Till) -> None:
    """« Pack [x6] » is a name, not Textual markup: shown as typed in the basket, message and receipt."""
    from kiosk.store import Article

    article = Article.select().where(Article.reference == "BOUL-001").get()
    Article.update(name="Pack [x6] [b]Évian[/b]").where(Article.id == article.id).execute()
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press(*"BOUL-001", "enter")
        assert basket_rows(app)[0][0] == "Pack [x6] [b]Évian[/b]"
        assert "Pack [x6] [b]Évian[/b]" in str(app.screen.query_one("#message", Static).render())
        await pilot.press("f12", "enter", "f9")
        assert "Pack [x6] [b]Évian[/b]" in str(app.screen.query_one("#receipt-text", Static).render())


async def test_menu_reaches_the_actions_without_a_function_key(till: Till) -> None:
    """F1 (or the Menu key) lists the other actions; picking one runs it (here: training, manager PIN)."""
    from kiosk.ui.dialogs.basic import ManagerPinDialog
    from kiosk.ui.screens.menu import MenuScreen

    app = KioskApp(till)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "tab", "enter", *"333333", "enter")
        await pilot.press("f1")
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, SaleScreen)
        await pilot.click("#menu")
        assert isinstance(app.screen, MenuScreen)
        options = app.screen.query_one("#menu-options", OptionList)
        options.highlighted = options.get_option_index("training")
        await pilot.press("enter")
        assert isinstance(app.screen, ManagerPinDialog)
        marc = next(m for m in till.staff.members() if m.name == "Marc")
        await pilot.click(f"#manager-{marc.id}")
        await pilot.press(*"222222", "enter")
        await pilot.pause()
        assert till.checkout.training
        assert "FORMATION" in str(app.screen.query_one("#message", Static).render())


async def test_the_screen_keeps_painting_while_a_pin_is_checked(till: Till, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """scrypt on a Pi takes a while: the check runs off the UI thread, the screen goes on refreshing."""
    import time

    from kiosk.staff import service

    real = service.pin_matches

    def slow(pin: str, stored: str) -> bool:
        time.sleep(0.8)
        return real(pin, stored)

    monkeypatch.setattr(service, "pin_matches", slow)
    app = KioskApp(till)
    async with app.run_test(size=(100, 30)) as pilot:
        ticks: list[float] = []
        app.set_interval(0.05, lambda: ticks.append(time.monotonic()))
        await pilot.click("#user-1")
        for digit in "111111":
            await pilot.click(f"#pin-{digit}")
        app.screen.query_one("#pin-ok").press()
        await pilot.pause(0.3)
        assert "Vérification du code" in str(app.screen.query_one("#login-error").render())
        during = len(ticks)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert during >= 3  # the event loop ran while scrypt did
        assert app.member is not None and app.member.name == "Alice"
