"""Card payment terminals: debit, refund and cancel, each ending in a `PaymentResult` for the cashier.

Backends: `ConcertTerminal` (a real terminal speaking the French Concert protocol over a serial line
or USB-CDC, see drivers/concert.py), `SimulatedTerminal` (a simulated terminal speaking the same
bytes on the other end of a pty, so the real protocol code runs) and `NoTerminal`.

Every operation blocks until the terminal answers (up to the answer timeout, 120 s by default, while
the customer pays): callers run it in a worker thread. One operation at a time per terminal: a call
made while another is running returns an "error" result at once instead of queueing a second payment.

Outcomes:

* approved / refused: the terminal's verdict;
* error: the request never reached the terminal (or was refused by the link): nothing was debited;
* unknown: the request may have reached the terminal but no usable answer came back. The payment may
  or may not have been made; only the terminal's screen or ticket can tell, and `reason_fr` tells the
  cashier to look and settle it. It must never be treated as paid nor as unpaid.
"""

from __future__ import annotations

import logging
import os
import threading
import tty
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import serial

from drivers.concert import (
    CURRENCY_EUR,
    MAX_AMOUNT_CENTS,
    MAX_TRIES,
    PEER_MODES,
    TEST_PAN,
    ConcertLink,
    ConcertRequest,
    LinkError,
    PeerMode,
    SerialLike,
    SimulatedPeer,
    TerminalAnswer,
    Timeouts,
    TransactionType,
)
from drivers.serialport import PORT_ERRORS, PortUser
from drivers.settings import Settings

log = logging.getLogger(__name__)

Outcome = Literal["approved", "refused", "unknown", "error"]


@dataclass(frozen=True)
class PaymentResult:
    """The end of one operation. `amount_cents` is what the terminal processed when it answered, else
    what was asked; `masked_pan` keeps at most the first 6 and last 4 digits of the card number."""

    outcome: Outcome
    amount_cents: int
    masked_pan: str | None
    reason_fr: str


class PaymentTerminal(Protocol):
    def debit(self, amount_cents: int, pos: str = "01") -> PaymentResult: ...

    def refund(self, amount_cents: int, pos: str = "01") -> PaymentResult: ...

    def cancel(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        """Cancel (« annulation ») the last transaction of `amount_cents` on the terminal."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


# --------------------------------------------------------------------------------------------------------
# Messages for the cashier

_APPROVED: dict[TransactionType, str] = {
    "debit": "Paiement carte accepté.",
    "refund": "Remboursement sur la carte accepté.",
    "cancel": "Annulation acceptée par le terminal.",
}
_REFUSED: dict[TransactionType, str] = {
    "debit": "Paiement refusé (refus de la banque, carte retirée trop tôt ou abandon sur le terminal) : "
    "rien n'a été débité. Proposez de réessayer ou un autre moyen de paiement.",
    "refund": "Remboursement refusé par le terminal : rien n'a été crédité. "
    "Vérifiez la carte et réessayez, ou remboursez autrement.",
    "cancel": "Annulation refusée par le terminal : la transaction d'origine reste valable. "
    "Regardez le ticket du terminal.",
}
_NOTHING_DONE: dict[TransactionType, str] = {
    "debit": "Rien n'a été débité.",
    "refund": "Rien n'a été remboursé.",
    "cancel": "Rien n'a été annulé.",
}
_CHECK_TERMINAL: dict[TransactionType, str] = {
    "debit": "Le paiement a peut-être été accepté : regardez l'écran ou le ticket du terminal. "
    "S'il indique « accepté », validez le paiement carte ; "
    "sinon, relancez le paiement ou encaissez autrement.",
    "refund": "Le remboursement a peut-être été fait : regardez l'écran ou le ticket du terminal. "
    "S'il indique « accepté », validez le remboursement ; sinon, relancez-le.",
    "cancel": "L'annulation a peut-être été faite : regardez l'écran ou le ticket du terminal. "
    "S'il indique « accepté », validez l'annulation ; sinon, relancez-la.",
}

UNREACHABLE = (
    "Terminal de paiement injoignable — vérifiez le câble (USB ou série) et que le terminal est allumé, "
    "puis réessayez."
)
NOT_READY = (
    "Le terminal de paiement ne répond pas : vérifiez qu'il est allumé, sur son écran d'accueil et en "
    "connexion caisse, puis réessayez."
)
TRANSMISSION = (
    "Le terminal n'a pas pu lire la demande (erreurs de transmission) : vérifiez le câble, puis réessayez."
)
TIMEOUT = "Délai dépassé : le terminal n'a pas donné de réponse après avoir reçu la demande."
LINK_LOST = "Liaison avec le terminal coupée après l'envoi de la demande."
UNREADABLE = "Réponse du terminal illisible."
NOT_VERIFIED = "Le terminal n'a pas confirmé le résultat."
BUSY = "Une opération est déjà en cours sur le terminal de paiement : attendez qu'elle se termine."
NO_TERMINAL = (
    "Aucun terminal de paiement n'est relié à la caisse : choisissez un autre moyen de paiement "
    "ou faites configurer le terminal."
)


def euros(cents: int) -> str:
    """12,50 € (French notation, integer arithmetic)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"


def _checked_amount(amount_cents: int) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise TypeError(f"amount_cents must be an int number of cents, not {amount_cents!r}")


def _bad_amount(kind: TransactionType, amount_cents: int) -> PaymentResult:
    reason = (
        f"Montant impossible pour le terminal ({euros(amount_cents)}) : il doit être entre "
        f"{euros(1)} et {euros(MAX_AMOUNT_CENTS)}. {_NOTHING_DONE[kind]}"
    )
    return PaymentResult("error", amount_cents, None, reason)


def result_from_answer(
    kind: TransactionType, request: ConcertRequest, answer: TerminalAnswer
) -> PaymentResult:
    """What the terminal's answer means for the cashier."""
    asked = request.amount_cents
    check = _CHECK_TERMINAL[kind]
    if answer.pos != request.pos:
        reason = f"Le terminal a répondu pour la caisse {answer.pos} au lieu de {request.pos}. {check}"
        return PaymentResult("unknown", asked, answer.masked_pan, reason)
    if answer.status == "refused":
        return PaymentResult("refused", asked, answer.masked_pan, _REFUSED[kind])
    if answer.status == "approved":
        if answer.amount_cents != asked:
            reason = (
                f"Le terminal a répondu pour {euros(answer.amount_cents)} au lieu de {euros(asked)}. {check}"
            )
            return PaymentResult("unknown", answer.amount_cents, answer.masked_pan, reason)
        return PaymentResult("approved", answer.amount_cents, answer.masked_pan, _APPROVED[kind])
    if answer.status == "not_verified":
        return PaymentResult("unknown", asked, answer.masked_pan, f"{NOT_VERIFIED} {check}")
    reason = f"Réponse inattendue du terminal (statut « {answer.status_code} »). {check}"
    return PaymentResult("unknown", asked, answer.masked_pan, reason)


def result_from_link_error(kind: TransactionType, amount_cents: int, exc: LinkError) -> PaymentResult:
    """A failed exchange: "unknown" once the terminal may hold the request, "error" before."""
    if exc.request_sent:
        first = {"port": LINK_LOST, "bad_answer": UNREADABLE}.get(exc.kind, TIMEOUT)
        return PaymentResult("unknown", amount_cents, None, f"{first} {_CHECK_TERMINAL[kind]}")
    first = {"not_ready": NOT_READY, "rejected": TRANSMISSION}.get(exc.kind, UNREACHABLE)
    return PaymentResult("error", amount_cents, None, f"{first} {_NOTHING_DONE[kind]}")


# --------------------------------------------------------------------------------------------------------
# Backends


class ConcertTerminal(PortUser[SerialLike]):
    """A terminal speaking Concert on `port`: a device path (opened with pyserial when first needed,
    reopened after a failure, e.g. the USB cable pulled and plugged back) or an open port object with
    read/write/timeout (left to its owner by `close`).

    The RS-232 line of Concert is 7 data bits, even parity, 1 stop bit; USB-CDC terminals ignore these.
    """

    def __init__(
        self,
        port: str | SerialLike,
        *,
        baudrate: int = 9600,
        bytesize: int = 7,
        parity: str = "E",
        timeouts: Timeouts | None = None,
        max_tries: int = MAX_TRIES,
    ):
        super().__init__(port)
        self.timeouts = timeouts or Timeouts()
        self.max_tries = max_tries
        self.baudrate = baudrate
        self.bytesize = bytesize
        self.parity = parity
        self._lock = threading.Lock()

    def debit(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self.run("debit", amount_cents, pos)

    def refund(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self.run("refund", amount_cents, pos)

    def cancel(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self.run("cancel", amount_cents, pos)

    def run(self, kind: TransactionType, amount_cents: int, pos: str = "01") -> PaymentResult:
        _checked_amount(amount_cents)
        if not 1 <= amount_cents <= MAX_AMOUNT_CENTS:
            return _bad_amount(kind, amount_cents)
        request = ConcertRequest(amount_cents, pos=pos, transaction_type=kind, currency=CURRENCY_EUR)
        if not self._lock.acquire(blocking=False):
            return PaymentResult("error", amount_cents, None, f"{BUSY} {_NOTHING_DONE[kind]}")
        try:
            try:
                port = self._open()
            except PORT_ERRORS as exc:
                log.warning("payment terminal port %s: %s", self._path, exc)
                return PaymentResult("error", amount_cents, None, f"{UNREACHABLE} {_NOTHING_DONE[kind]}")
            try:
                answer = ConcertLink(port, self.timeouts, self.max_tries).transact(request)
            except LinkError as exc:
                log.warning("payment terminal %s (%s %d): %s", self._path, kind, amount_cents, exc)
                if exc.kind == "port":
                    self._drop_port()
                return result_from_link_error(kind, amount_cents, exc)
            result = result_from_answer(kind, request, answer)
            log.info("payment terminal %s %d: %s", kind, amount_cents, result.outcome)
            return result
        finally:
            self._lock.release()

    def _open(self) -> SerialLike:
        if self._port is None:
            assert self._path is not None
            self._port = serial.Serial(
                port=self._path,
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=serial.STOPBITS_ONE,
                timeout=self.timeouts.ack,
                write_timeout=self.timeouts.ack,
                exclusive=True,
            )
        return self._port

    def close(self) -> None:
        with self._lock:
            self._drop_port()


class SimulatedTerminal:
    """A simulated terminal: a `SimulatedPeer` in a background thread on the master end of a pty,
    and a `ConcertTerminal` on its slave end (opened with pyserial like a real terminal's port).

    modes: "ok", "refused", "silent" (never answers after the request), "fragmented" (answer sent byte by
    byte), "bad_lrc_once" (first copy of each answer with a wrong LRC). `unplug()` closes the terminal's
    end, as when the cable is pulled.
    """

    def __init__(
        self,
        mode: PeerMode = "ok",
        *,
        timeouts: Timeouts | None = None,
        think_time: float = 0.5,
        byte_delay: float = 0.004,
        pan: str = TEST_PAN,
    ):
        if mode not in PEER_MODES:
            raise ValueError(f"mode must be one of {', '.join(PEER_MODES)}, not {mode!r}")
        self.mode = mode
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master: int | None = master
        self._slave: int | None = slave  # held open so the pty lives while the till's side reopens
        self.peer = SimulatedPeer(master, mode, pan=pan, think_time=think_time, byte_delay=byte_delay)
        self.peer.start()
        # A pty has no line framing and Linux refuses 7E1 on it: 8N1, the bytes are the same (ASCII).
        self.terminal = ConcertTerminal(os.ttyname(slave), bytesize=8, parity="N", timeouts=timeouts)

    @property
    def port_name(self) -> str | None:
        return self.terminal.port_name

    def debit(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self.terminal.debit(amount_cents, pos)

    def refund(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self.terminal.refund(amount_cents, pos)

    def cancel(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self.terminal.cancel(amount_cents, pos)

    def unplug(self) -> None:
        """Pull the cable: the terminal's end of the pty goes away."""
        self.peer.stop()
        # Taken before closing: the till's side sees the hang-up at once and may unplug again meanwhile.
        master, self._master = self._master, None
        if master is not None:
            os.close(master)

    def close(self) -> None:
        self.terminal.close()
        self.unplug()
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None


class NoTerminal:
    """No terminal connected to the till: every operation is an error the cashier can act on."""

    def debit(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self._none("debit", amount_cents)

    def refund(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self._none("refund", amount_cents)

    def cancel(self, amount_cents: int, pos: str = "01") -> PaymentResult:
        return self._none("cancel", amount_cents)

    def _none(self, kind: TransactionType, amount_cents: int) -> PaymentResult:
        _checked_amount(amount_cents)
        return PaymentResult("error", amount_cents, None, f"{NO_TERMINAL} {_NOTHING_DONE[kind]}")

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------------------
# Configuration

PROTOCOLS = ("concert", "caisse-ap")
_BACKENDS = ("none", "simulated", "terminal", "concert")  # "concert": older files, a Concert terminal
_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_KEYS = frozenset(
    {
        "backend",
        "protocol",
        "port",
        "baudrate",
        "bytesize",
        "parity",
        "mode",
        "ack_timeout",
        "byte_timeout",
        "answer_timeout",
        "retry_pause",
        "think_time",
        # Caisse-AP over IP
        "host",
        "connect_timeout",
        "pos",
        "version",
        "protocol_id",
        "ticket",
    }
)


def _seconds(settings: Settings, key: str, default: float, low: float, high: float) -> float:
    value = settings.cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise settings.bad(key, value, f"une durée en secondes de {low:g} à {high:g}")
    return float(value)


def _digits(settings: Settings, key: str, default: str, size: int, example: str) -> str:
    value = settings.cfg.get(key, default)
    if not (isinstance(value, str) and len(value) == size and value.isascii() and value.isdigit()):
        raise settings.bad(key, value, f'{size} chiffres entre guillemets, comme "{example}"')
    return value


def open_terminal(cfg: Mapping[str, Any]) -> PaymentTerminal:
    """Build the terminal described by `cfg` (the payment terminal's configuration section):

    protocol "concert" (the default: serial or USB) or "caisse-ap" (TCP/IP); backend "terminal" (a real
    one; "concert" is the older spelling of a Concert terminal), "simulated" or "none" (the default).

    Concert: port "/dev/ttyACM0", baudrate 9600, bytesize 7, parity "E"; simulated mode ok | refused |
    silent | fragmented | bad_lrc_once, think_time; ack_timeout (3 s), byte_timeout (3 s), answer_timeout
    (120 s) and retry_pause (1 s) tune the link.

    Caisse-AP (drivers/caisse_ap.py): host (required for a real terminal), port (8888), pos (the till's
    number on the terminal, "01"), connect_timeout (5 s), answer_timeout (120 s), byte_timeout (3 s),
    version ("0300"), protocol_id (12 digits), ticket (false: the terminal prints its own ticket; true:
    it sends the customer ticket to the till); simulated mode by_amount | ok | refused | abandoned |
    silent | slow | malformed | hangup | fragmented (drivers/caisse_ap_sim.py), think_time.

    Raises ValueError naming the wrong key. Opening does not touch the port nor the network: an unplugged
    terminal shows up as an "error" result at the first operation, not as a till that does not start.
    """
    settings = Settings("du terminal de paiement", cfg, _KEYS, ValueError)
    protocol = settings.choice("protocol", "concert", PROTOCOLS)
    if protocol == "caisse-ap":
        return _open_caisse_ap(settings)
    backend = settings.choice("backend", "none", _BACKENDS)
    port = settings.text("port", "le chemin du port, comme /dev/ttyACM0", "/dev/ttyACM0")
    baudrate = settings.choice("baudrate", 9600, _BAUDRATES)
    bytesize = settings.choice("bytesize", 7, (7, 8), "7 ou 8")
    parity = settings.choice("parity", "E", ("E", "N", "O"), "E (paire), N (aucune) ou O (impaire)")
    mode = settings.choice("mode", "ok", PEER_MODES)
    timeouts = Timeouts(
        ack=_seconds(settings, "ack_timeout", 3.0, 0.05, 30),
        byte=_seconds(settings, "byte_timeout", 3.0, 0.05, 30),
        answer=_seconds(settings, "answer_timeout", 120.0, 0.1, 600),
        retry_pause=_seconds(settings, "retry_pause", 1.0, 0, 10),
    )
    think_time = _seconds(settings, "think_time", 0.5, 0, 60)

    if backend == "none":
        return NoTerminal()
    if backend == "simulated":
        return SimulatedTerminal(mode, timeouts=timeouts, think_time=think_time)
    return ConcertTerminal(port, baudrate=baudrate, bytesize=bytesize, parity=parity, timeouts=timeouts)


def _open_caisse_ap(settings: Settings) -> PaymentTerminal:
    # Imported here: drivers.caisse_ap builds on this module's PaymentResult and messages.
    from drivers import caisse_ap, caisse_ap_sim

    backend = settings.choice(
        "backend",
        "none",
        ("none", "simulated", "terminal"),
        'terminal, simulated ou none (protocol = "caisse-ap")',
    )
    port = settings.integer("port", caisse_ap.DEFAULT_PORT, 1, 65535, "un port TCP de 1 à 65535, comme 8888")
    pos = _digits(settings, "pos", "01", 2, "01")
    version = _digits(settings, "version", caisse_ap.VERSION, 4, caisse_ap.VERSION)
    protocol_id = _digits(settings, "protocol_id", caisse_ap.PROTOCOL_ID, 12, caisse_ap.PROTOCOL_ID)
    ticket = settings.flag("ticket", False)
    mode = settings.choice("mode", "by_amount", caisse_ap_sim.SIM_MODES)
    timeouts = caisse_ap.Timeouts(
        connect=_seconds(settings, "connect_timeout", 5.0, 0.1, 60),
        answer=_seconds(settings, "answer_timeout", 120.0, 0.1, 600),
        byte=_seconds(settings, "byte_timeout", 3.0, 0.05, 30),
    )
    think_time = _seconds(settings, "think_time", 0.5, 0, 60)
    if backend == "none":
        return NoTerminal()
    if backend == "simulated":
        return caisse_ap_sim.SimulatedCaisseApTerminal(
            mode, timeouts=timeouts, think_time=think_time, pos=pos, ticket=ticket
        )
    host = settings.text("host", "l'adresse IP ou le nom du terminal sur le réseau, comme 192.168.1.50")
    return caisse_ap.CaisseApTerminal(
        host.strip(),
        port,
        pos=pos,
        timeouts=timeouts,
        version=version,
        protocol_id=protocol_id,
        ticket=ticket,
    )
