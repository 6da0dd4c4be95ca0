"""The till, wired from its configuration: store, fiscal ledger, services and devices.

The UI and the CLI both start from `Till.open(...)`, so a sale rung up by `kiosk sim sales` goes through
exactly the services the cashier's screens use.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockPin

from drivers.display import CustomerDisplay, open_display
from drivers.drawer import Drawer, GpioDrawer, open_drawer
from drivers.payment import PaymentTerminal, open_terminal
from drivers.printer import Document, Printer, SimulatedPrinter, open_printer, preview, render
from drivers.scale import Scale, open_scale
from drivers.scanner import Scanner, ScanResult, open_scanners
from fiscal.anchor import Anchor
from fiscal.archive import ArchiveInfo, build_archive
from fiscal.closures import DAY, close_day
from fiscal.journal import ARCHIVE, JET, FiscalLedger, Record, transaction
from fiscal.keys import (
    create_key,
    finish_rotation,
    install_rotated_key,
    load_or_create_key,
    pending_key_path,
)
from fiscal.opening import WriteSession, open_for_write
from fiscal.reports import PeriodReport, x_report, z_report_from_record
from kiosk import __version__
from kiosk.catalogue.articles import Catalogue
from kiosk.catalogue.stock import StockService
from kiosk.config import Config, config_changes, config_snapshot, load_config
from kiosk.loyalty.directory import CustomerDirectory
from kiosk.loyalty.service import LoyaltyService
from kiosk.receipts.print_queue import PrintQueue
from kiosk.sale.cash import CashService
from kiosk.sale.checkout import CheckoutService
from kiosk.sale.parked import ParkedTickets
from kiosk.sale.refunds import RefundService
from kiosk.sale.tenders import LOYALTY
from kiosk.staff.service import StaffService
from kiosk.store import Meta, open_database
from kiosk.store.db import DB_NAME

CLOCK_BEHIND_MESSAGE = (
    "L'horloge de la caisse est antérieure au dernier enregistrement fiscal : vérifiez la date et "
    "l'heure ; si elles sont justes, un responsable doit les confirmer avant toute vente."
)
KEY_FILE = Path("keys") / "fiscal-ed25519.pem"
ANCHOR_FILE = "fiscal-anchor.json"
LOYALTY_SECRET_FILE = Path("keys") / "loyalty-token.key"


@dataclass(frozen=True)
class RenderedReceipt:
    data: bytes
    text: str


def _snapshot(row: Meta | None) -> dict[str, Any] | None:
    try:
        return dict(json.loads(row.value)) if row is not None else None
    except ValueError:
        return None


def loyalty_secret(path: Path) -> bytes:
    """The key of the card tokens (created once, 0600): without it a token cannot be linked to a card."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
    return path.read_bytes()


def system_clock(config: Config) -> Callable[[], datetime]:
    tz = config.timezone
    return lambda: datetime.now(tz)


class Till:
    def __init__(
        self,
        data_dir: Path,
        config: Config,
        clock: Callable[[], datetime] | None = None,
        *,
        process: str = "till",
    ):
        self.data_dir = data_dir
        self.config = config
        self.clock = clock or system_clock(config)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = open_database(data_dir / DB_NAME)
        signed_before = (
            self.db.execute_sql(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'fiscal_key')"
            ).fetchone()[0]
            and self.db.execute_sql("SELECT EXISTS (SELECT 1 FROM fiscal_key)").fetchone()[0]
        )
        if signed_before:
            registered = {row[0] for row in self.db.execute_sql("SELECT key_id FROM fiscal_key")}
            finish_rotation(data_dir / KEY_FILE, registered)
        key, self.key_created = load_or_create_key(data_dir / KEY_FILE, may_create=not signed_before)
        self.ledger = FiscalLedger(config.till_id, key, self.clock, Anchor(data_dir / ANCHOR_FILE))
        new_key = self.ledger.setup(self.db.connection())
        if new_key:
            self.ledger.record_event(self.db.connection(), "KEY_CREATED", {"key_id": key.key_id})
        self.catalogue = Catalogue(self.db, config.barcodes.scale_labels)
        self.staff = StaffService(
            self.db,
            self.ledger,
            self.clock,
            max_failed=config.staff.max_failed_logins,
            lockout_seconds=config.staff.lockout_seconds,
        )
        self.checkout = CheckoutService(
            self.db,
            self.ledger,
            self.clock,
            training=config.till.training,
            first_month=config.fiscal.first_month,
        )
        self.checkout.configure(config)
        self.refunds = RefundService(self.checkout)
        self.stock = StockService(self.db, self.clock, config.till_id)
        self.checkout.listeners.append(self.stock.on_checkout)  # stock moves with the ticket
        self.print_queue = PrintQueue(self.db, lambda: self.printer)
        self.customers = CustomerDirectory(
            self.db, self.ledger, self.clock, loyalty_secret(data_dir / LOYALTY_SECRET_FILE)
        )
        self.loyalty = LoyaltyService(
            self.db,
            self.ledger,
            self.clock,
            self.customers,
            config.till_id,
            alcohol_earns=config.loyalty.alcohol_earns,
        )
        self.checkout.listeners.append(
            lambda conn, sale: self.loyalty.on_ticket(conn, sale.number, sale.body, sale.when)
        )
        self.checkout.tender_handlers[LOYALTY] = self.loyalty.redeem_tender
        self.cash = CashService(self.db, self.ledger, self.clock)
        self.parked = ParkedTickets(self.db, self.ledger, self.clock, self.catalogue)
        # what takes SMS receipts away once queued (the uplink, to the portal's SMS gateway)
        self.sms_handovers: list[Callable[[], object]] = []
        if config.uplink.enabled:  # last: every service it listens to exists
            from kiosk.uplink.wiring import install

            install(self)  # sales, closures, JET events, stock and loyalty lines go to the outbox too
        # Last, so that the uplink hears it: the tail checked against its anchor (a mismatch journaled),
        # START journaled (fiscal.opening) — for every process, whatever it goes on to do.
        self.session: WriteSession = open_for_write(
            self.ledger, self.db.connection(), process=process, version=__version__
        )
        self.clock_behind: str | None = self.session.clock_behind
        self._stopped = False

    @classmethod
    def open(
        cls,
        data_dir: Path,
        config_file: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        process: str = "till",
    ) -> Till:
        """The till on `data_dir`, its journals opened for writing by `process` (« ui », « cli:sim
        sales », …): checked against their anchor, START journaled."""
        return cls(data_dir, load_config(config_file, data_dir), clock, process=process)

    @property
    def ledger_alert(self) -> str | None:
        """A fiscal anomaly waiting for a manager (French banner), else None."""
        return self.session.alert

    def acknowledge_gap(self, by: str, reason: str) -> Record:
        """A manager acknowledges the detected gaps (JET GAP_ACKNOWLEDGED); raises FiscalError (French)."""
        return self.session.acknowledge(by, reason)

    # -- data directory ---------------------------------------------------------------------------
    @property
    def is_demo(self) -> bool:
        row = Meta.get_or_none(Meta.key == "demo")
        return row is not None and row.value == "1"

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> list[str]:
        """The UI's start (the journals were opened for writing with the till): software update,
        configuration changes, days left open, receipts cut short. Returns warnings (French)."""
        conn = self.db.connection()
        warnings = []
        if self.ledger_alert:
            warnings.append(self.ledger_alert)
        if self.clock_behind is None:
            self._journal_start(conn)
        else:  # nothing can be signed before a manager confirms the time (UI: at start or login)
            warnings.append(CLOCK_BEHIND_MESSAGE)
        for _, label in self.print_queue.recover():
            warnings.append(
                f"{label} était en cours d'impression à l'arrêt de la caisse : regardez l'imprimante, "
                "puis F7 pour le réimprimer ou l'abandonner."
            )
        return warnings

    def _journal_start(self, conn: sqlite3.Connection) -> None:
        """The start's JET entries after START: software update, configuration changes."""
        previous = Meta.get_or_none(Meta.key == "software_version")
        if previous is not None and previous.value != __version__:
            self.ledger.record_event(conn, "SOFTWARE_UPDATE", {"from": previous.value, "to": __version__})
        changes = config_changes(_snapshot(Meta.get_or_none(Meta.key == "config")), self.config)
        if changes:
            self.ledger.record_event(conn, "CONFIG_CHANGED", {"changes": changes})
        self.checkout.close_previous_days(self.clock().date())  # a till idle for days closes them now
        with self.db.atomic():
            Meta.replace(key="software_version", value=__version__).execute()
            Meta.replace(
                key="config", value=json.dumps(config_snapshot(self.config), sort_keys=True)
            ).execute()
        self.ledger.anchor_heads(conn)

    def confirm_clock(self, manager: str) -> None:
        """A manager confirmed the time although it is earlier than the journals: journal it, then start."""
        conn = self.db.connection()
        self.ledger.confirm_clock_back(conn, manager)
        self.session.begin()  # what the opening found, then START
        if self.clock_behind is not None:
            self._journal_start(conn)
        self.clock_behind = None

    def archive(self, period: str, out: Path) -> ArchiveInfo:
        """The signed archive of `period` (YYYY-MM-DD, YYYY-MM or YYYY), recorded with its hash in the
        ARCHIVE journal and the JET. Raises ArchiveError, FiscalError or ValueError (French)."""
        conn = self.db.connection()
        info = build_archive(
            conn,
            self.ledger.key,
            self.ledger.till,
            period,
            out,
            siren=self.config.shop.siret[:9],
            fec_config=self.config.fec_accounts(),
            when=self.clock(),
        )
        with transaction(conn):
            self.ledger.append(conn, ARCHIVE, "ARCHIVE", info.body())
            self.ledger.append(conn, JET, "ARCHIVE", {"event": "ARCHIVE", "details": info.body()})
        self.ledger.anchor_heads(conn)
        return info

    def cash_section(self, report: PeriodReport) -> str:
        """« Contrôle des espèces » printed under a day's X or Z report (the signed closure is unchanged)."""
        if report.kind != DAY:
            return ""
        return self.cash.report_section(date.fromisoformat(report.start), live=report.report == "X")

    def x_report(self) -> PeriodReport:
        """Today's X report (any time, nothing signed)."""
        return x_report(self.ledger, self.db.connection(), self.clock().date())

    def close_today(self, by: str) -> PeriodReport:
        """Today's Z: the signed DAY closure and who closed it (JET DAY_CLOSED_BY), in one transaction."""
        conn = self.db.connection()
        with transaction(conn):
            record = close_day(self.ledger, conn, self.clock().date(), force_today=True)
            self.ledger.record_event(conn, "DAY_CLOSED_BY", {"user": by})
        self.ledger.anchor_heads(conn)
        return z_report_from_record(record)

    @property
    def archive_dir(self) -> Path:
        configured = self.config.fiscal.archive_dir
        return Path(configured) if configured else self.data_dir / "archives"

    def rotate_key(self, by: str) -> str:
        """Replace the till's signing key (journaled under the old one); returns the new key id."""
        path = self.data_dir / KEY_FILE
        pending = pending_key_path(path)
        if pending.exists():
            pending.unlink()  # a rotation that never reached the journals
        new_key = create_key(pending)
        old_id = self.ledger.key.key_id
        self.ledger.rotate_key(self.db.connection(), new_key, by)
        install_rotated_key(path, old_id)
        new_key.path = path
        return new_key.key_id

    def device_notes(self) -> list[str]:
        """What the cashier should know about the devices at start (French)."""
        notes = []
        if isinstance(self.printer, SimulatedPrinter):
            notes.append(f"Imprimante simulée : les tickets sont enregistrés dans {self.printer.out_dir}.")
        if isinstance(self.drawer, GpioDrawer) and isinstance(self.drawer.pin, MockPin):
            notes.append("Tiroir-caisse simulé (aucune broche GPIO réelle).")
        return notes

    def stop(self) -> None:
        """JET STOP (fiscal.opening), the anchor closed, the database closed; once."""
        if self._stopped:
            return
        self._stopped = True
        self.session.stop()
        if self.ledger.anchor is not None:
            self.ledger.anchor.close()
        self.db.close()

    # -- devices ---------------------------------------------------------------------------------
    @cached_property
    def printer(self) -> Printer:
        return open_printer(self.config.devices.printer, self.data_dir)

    @cached_property
    def drawer(self) -> Drawer:
        return open_drawer(self.config.devices.drawer, self.printer)

    def drawer_open(self) -> bool | None:
        """The drawer sensor, once the drawer is set up (None: no sensor, or not opened yet)."""
        drawer = self.__dict__.get("drawer")
        return drawer.is_open() if drawer is not None else None

    @cached_property
    def display(self) -> CustomerDisplay:
        return open_display(self.config.devices.display)

    @cached_property
    def scale(self) -> Scale:
        return open_scale(self.config.devices.scale)

    @cached_property
    def terminal(self) -> PaymentTerminal:
        return open_terminal(self.config.devices.payment)

    def open_scanners(self, on_scan: Callable[[ScanResult], None]) -> Scanner:
        """Start reading the barcode scanners; `on_scan` is called from the reader thread."""
        return open_scanners(self.config.devices.scanner, on_scan)

    def render(self, doc: Document) -> RenderedReceipt:
        """Render once: the same document gives the printer's bytes and the on-screen preview."""
        profile = self.printer.profile
        return RenderedReceipt(render(doc, profile), preview(doc, profile))
