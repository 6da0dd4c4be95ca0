"""A simulated Caisse-AP terminal: a real TCP server (threads, a free port on 127.0.0.1) speaking the same
bytes as drivers/caisse_ap.py, and `SimulatedCaisseApTerminal`, the till's real client wired to it.

Scenarios are deterministic. With mode "by_amount" (the default, for the demo) the last two digits of the
amount in cents decide:

    ..51  refused by the bank (AE 01, AF 04)       ..52  abandoned on the terminal (AE 01, AF 11)
    ..97  no answer (the request is taken, nothing comes back)
    ..98  slow answer (accepted after `slow_time` seconds)
    ..99  malformed answer                         anything else: accepted

A fixed mode applies one scenario to every request: "ok", "refused", "abandoned", "silent", "slow",
"malformed", "hangup" (the connection is closed right after the request) or "fragmented" (accepted, the
answer written in small pieces, one cut exactly between two fields).
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Literal

from drivers.caisse_ap import (
    CURRENCY_EUR,
    KIND_CODES,
    PROTOCOL_ID,
    STATUS_DONE,
    STATUS_NOT_DONE,
    VERSION,
    CaisseApRequest,
    CaisseApResult,
    CaisseApTerminal,
    FrameError,
    Timeouts,
    decode_fields,
    decode_request,
    encode_answer,
    is_complete,
    ticket_field,
)
from drivers.concert import TEST_PAN, TransactionType

log = logging.getLogger(__name__)

SimMode = Literal[
    "by_amount", "ok", "refused", "abandoned", "silent", "slow", "malformed", "hangup", "fragmented"
]
SIM_MODES: tuple[SimMode, ...] = (
    "by_amount",
    "ok",
    "refused",
    "abandoned",
    "silent",
    "slow",
    "malformed",
    "hangup",
    "fragmented",
)
Scenario = Literal["ok", "refused", "abandoned", "silent", "slow", "malformed", "hangup", "fragmented"]
BY_AMOUNT: dict[int, Scenario] = {51: "refused", 52: "abandoned", 97: "silent", 98: "slow", 99: "malformed"}
MALFORMED = b"CZ0040300AE0X210CB00"  # a length that is not three digits
_READ_SLICE = 0.1


def scenario_for(mode: SimMode, amount_cents: int) -> Scenario:
    if mode == "by_amount":
        return BY_AMOUNT.get(amount_cents % 100, "ok")
    return mode


@dataclass
class ServerLog:
    """What the simulated terminal saw, for the tests."""

    requests: list[CaisseApRequest] = field(default_factory=list)
    raw_requests: list[bytes] = field(default_factory=list)
    answers_sent: int = 0


class CaisseApServer:
    """The simulated terminal: listens on `host`:`port` (0: a free port, see `port` once started), one
    thread per connection, one request per connection."""

    def __init__(
        self,
        mode: SimMode = "by_amount",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        think_time: float = 0.05,
        slow_time: float = 2,
        pan: str = TEST_PAN,
        read_timeout: float = 5,
    ):
        if mode not in SIM_MODES:
            raise ValueError(f"mode must be one of {', '.join(SIM_MODES)}, not {mode!r}")
        self.mode: SimMode = mode
        self.think_time = think_time
        self.slow_time = slow_time
        self.pan = pan
        self.read_timeout = read_timeout
        self.log = ServerLog()
        self._sequence = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._clients: list[socket.socket] = []
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept, name=f"caisse-ap-sim-{mode}", daemon=True)

    def start(self) -> CaisseApServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection: the terminal is unplugged."""
        self._stop.set()
        for sock in [self._listener, *self._clients]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # -- connections

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            with self._lock:
                self._clients.append(conn)
            threading.Thread(target=self._serve, args=(conn,), name="caisse-ap-sim-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                data = self._read_request(conn)
                if data is None:
                    return
                self.log.raw_requests.append(data)
                answer, scenario = self._answer(data)
                if scenario == "hangup":
                    return
                if scenario == "silent":
                    self._hold(conn)  # the request is kept, nothing comes back
                    return
                if self._stop.wait(self.slow_time if scenario == "slow" else self.think_time):
                    return
                if scenario == "fragmented":
                    cut = answer.index(b"CB")  # between two fields, then inside one
                    for piece in (answer[:cut], answer[cut : cut + 3], answer[cut + 3 :]):
                        conn.sendall(piece)
                        if self._stop.wait(0.05):
                            return
                else:
                    conn.sendall(answer)
                self.log.answers_sent += 1
        except OSError as exc:
            if not self._stop.is_set():
                log.info("simulated caisse-ap terminal: %s", exc)
        finally:
            with self._lock:
                if conn in self._clients:
                    self._clients.remove(conn)

    def _hold(self, conn: socket.socket) -> None:
        """Until the till gives up (closes its end) or the terminal is stopped."""
        conn.settimeout(_READ_SLICE)
        while not self._stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue

    def _read_request(self, conn: socket.socket) -> bytes | None:
        data = b""
        conn.settimeout(_READ_SLICE)
        waited = 0.0
        while waited < self.read_timeout and not self._stop.is_set():
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                waited += _READ_SLICE
                continue
            if not chunk:
                return data or None
            data += chunk
            try:
                if is_complete(data, "CE") and is_complete(data, "CD") and is_complete(data, "CB"):
                    return data
            except FrameError:
                return data
        return data or None

    # -- answers

    def _answer(self, data: bytes) -> tuple[bytes, Scenario]:
        try:
            request = decode_request(data)
        except FrameError as exc:
            log.warning("simulated caisse-ap terminal: bad request %r: %s", data, exc)
            return self._not_done(data, "09"), "ok"
        self.log.requests.append(request)
        scenario = scenario_for(self.mode, request.amount_cents)
        echo = [
            ("CZ", request.version),
            ("CJ", request.protocol_id),
            ("CA", request.pos),
            ("CB", f"{request.amount_cents:02d}"),
            ("CD", KIND_CODES[request.kind]),
            ("CE", request.currency),
        ]
        if request.currency != CURRENCY_EUR:
            return encode_answer([*echo, ("AE", STATUS_NOT_DONE), ("AF", "13")]), "ok"
        if scenario == "malformed":
            return MALFORMED, scenario
        if scenario in ("refused", "abandoned"):
            detail = "04" if scenario == "refused" else "11"
            return encode_answer([*echo, ("AE", STATUS_NOT_DONE), ("AF", detail)]), scenario
        with self._lock:
            self._sequence += 1
            authorisation = f"{(self._sequence * 7919 + request.amount_cents) % 1_000_000:06d}"
        masked = self.pan[:6] + "#" * (len(self.pan) - 10) + self.pan[-4:]
        fields = [
            *echo,
            ("AE", STATUS_DONE),
            ("AA", masked),
            ("AC", authorisation),
            ("CI", "1"),
            ("CC", "001"),
        ]
        if request.ticket:
            fields.append(("ZT", ticket_field(self._ticket(request, authorisation))))
        return encode_answer(fields), scenario

    def _not_done(self, data: bytes, detail: str) -> bytes:
        try:
            fields = [(t, v) for t, v in decode_fields(data) if t in ("CZ", "CJ", "CA", "CB", "CD", "CE")]
        except FrameError:
            fields = [("CZ", VERSION), ("CJ", PROTOCOL_ID)]
        return encode_answer([*fields, ("AE", STATUS_NOT_DONE), ("AF", detail)])

    def _ticket(self, request: CaisseApRequest, authorisation: str) -> str:
        whole, cents = divmod(request.amount_cents, 100)
        label = {"debit": "DEBIT", "refund": "CREDIT", "cancel": "ANNULATION"}[request.kind]
        return "\n".join(
            [
                "TERMINAL SIMULE - TEST",
                "CARTE BANCAIRE",
                f"************{self.pan[-4:]}",
                label,
                f"MONTANT {whole},{cents:02d} EUR",
                f"NUM AUTO {authorisation}",
                "TICKET CLIENT A CONSERVER",
            ]
        )


class SimulatedCaisseApTerminal:
    """The till's `CaisseApTerminal` talking over TCP to a `CaisseApServer` of its own (a PaymentTerminal).

    `unplug()` stops the server, as when the network cable is pulled: the next operation finds the
    terminal unreachable.
    """

    def __init__(
        self,
        mode: SimMode = "by_amount",
        *,
        timeouts: Timeouts | None = None,
        think_time: float = 0.5,
        slow_time: float = 2,
        pos: str = "01",
        ticket: bool = False,
    ):
        self.mode = mode
        self.server = CaisseApServer(mode, think_time=think_time, slow_time=slow_time).start()
        self.terminal = CaisseApTerminal(
            self.server.host, self.server.port, pos=pos, timeouts=timeouts, ticket=ticket
        )

    @property
    def address(self) -> str:
        return self.terminal.address

    def debit(self, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.terminal.debit(amount_cents, pos)

    def refund(self, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.terminal.refund(amount_cents, pos)

    def cancel(self, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.terminal.cancel(amount_cents, pos)

    def run(self, kind: TransactionType, amount_cents: int, pos: str | None = None) -> CaisseApResult:
        return self.terminal.run(kind, amount_cents, pos)

    def reachable(self) -> str | None:
        return self.terminal.reachable()

    def unplug(self) -> None:
        self.server.stop()

    def close(self) -> None:
        self.terminal.close()
        self.server.stop()
