"""Scale: a shop scale on a serial line speaking the Mettler-Toledo "8217" cash-register protocol.

The 8217 protocol (Mettler-Toledo's weight-only cash-register protocol, offered as a setting by many
retail scales and scanner-scales; see the 8217 host-communication pages of their service manuals) is
a question and an answer:

* the till sends `W` (0x57); a scale with a stable, in-range weight answers STX, the weight, CR:
  "WW.WWW" in kg (`02 30 31 2E 32 33 34 0D` is 1.234 kg; a net weight ends with "N"). Some scales send
  five digits without the point, the weight in grams ("01234"): both are read here. Weights are kg,
  3 decimals: pound scales are not supported;
* otherwise (in motion, over capacity, under zero...) the scale answers STX "?" status CR, the status
  byte being bits: 0 in motion, 1 over capacity, 2 under zero, 3 outside the zero capture range,
  4 at centre of zero, 5 net weight, 6 always 1 (so "@" is an all-clear status, "A" is in motion);
* `Z` (0x5A) asks the scale to capture zero (when stable and in the capture range); it answers with a
  status.

The line is 7 data bits, even parity, 1 stop bit, at 9600 baud by default (the scale can be set to
1200, 2400, 9600 or 19200); the scale wants at least 200 ms between two commands. Answers are read
7-bit (a parity bit seen through an 8N1 adapter is masked off).

While the scale is in motion, `read_weight` asks again, up to `tries` times and `motion_timeout_ms`;
a scale that does not answer twice in a row is unreachable. All times are integer milliseconds.

`SimulatedScale` is a scale at the other end of a pty that answers like the real thing, so the tests
and the demo run the real `SerialScale` code. It is never chosen by "auto": a till must not ring up
invented weights.
"""

from __future__ import annotations

import logging
import os
import re
import select
import threading
import time
import tty
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, Protocol

import serial

from drivers.errors import DeviceError
from drivers.serialport import PORT_ERRORS, PortUser
from drivers.settings import Settings

log = logging.getLogger(__name__)

STX, CR = b"\x02", b"\r"
WEIGH, ZERO = b"W", b"Z"

# Status byte bits
MOTION = 0x01
OVER_CAPACITY = 0x02
UNDER_ZERO = 0x04
OUTSIDE_ZERO_RANGE = 0x08
CENTER_OF_ZERO = 0x10
NET = 0x20
STATUS_BASE = 0x40  # bit 6, always set: the status byte is a printable character

GRAM = Decimal("0.001")
MAX_KG = Decimal("99.999")  # "WW.WWW"

UNREACHABLE_MESSAGE = "Balance injoignable : vérifiez le câble."
UNSTABLE_MESSAGE = "Poids instable : attendez que la balance se stabilise."
OVERLOAD_MESSAGE = "Balance en surcharge : retirez l'article."
NEGATIVE_MESSAGE = "Poids négatif : remettez la balance à zéro."
ZERO_RANGE_MESSAGE = "Balance hors de sa plage de zéro : videz le plateau, puis remettez-la à zéro."
ZERO_REFUSED_MESSAGE = (
    "Remise à zéro impossible : videz le plateau, attendez qu'il soit immobile, puis réessayez."
)
UNREADABLE_MESSAGE = (
    "Réponse de la balance illisible : vérifiez sa vitesse, sa parité et son protocole (8217) "
    "dans la configuration."
)
NO_SCALE_MESSAGE = "Aucune balance n'est configurée : saisissez le poids à la main."

_SILENCES = 2  # unanswered commands in a row before the scale is declared unreachable
_WRITE_TIMEOUT_S = 1
_MAX_ANSWER = 32
_WEIGHT_RE = re.compile(rb"^ *(?:(?P<kg>\d{1,3}\.\d{1,4})|(?P<grams>\d{5})) *(?P<net>N)? *(?:KG|kg)? *$")


class ScaleError(DeviceError):
    """A weighing failure, with a message for the cashier saying what to do."""

    def __init__(self, message: str = UNREACHABLE_MESSAGE):
        super().__init__(message)


@dataclass(frozen=True)
class WeightReading:
    """A weight in kg with 3 decimals. An 8217 scale only gives stable weights (`stable` is always
    True from SerialScale); the field is for protocols that also report moving weights."""

    kg: Decimal
    stable: bool


def price_for_weight(unit_price_cents_per_kg: int, kg: Decimal) -> int:
    """The price in cents of `kg` at `unit_price_cents_per_kg`, rounded half up to the cent."""
    if isinstance(unit_price_cents_per_kg, bool) or not isinstance(unit_price_cents_per_kg, int):
        raise TypeError(f"unit price must be integer cents per kg, not {unit_price_cents_per_kg!r}")
    if not isinstance(kg, Decimal) or not kg.is_finite():
        raise TypeError(f"weight must be a finite Decimal in kg, not {kg!r}")
    if unit_price_cents_per_kg < 0 or kg < 0:
        raise ValueError(f"unit price and weight must not be negative: {unit_price_cents_per_kg}, {kg}")
    return int((unit_price_cents_per_kg * kg).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------------------------
# The protocol


def decode(answer: bytes) -> Decimal | int:
    """An 8217 answer (between STX and CR, 7-bit) → the weight in kg, or the status byte's bits (an int)."""
    if answer[:1] == b"?" and len(answer) == 2 and answer[1] & STATUS_BASE:
        return answer[1] & 0x3F
    match = _WEIGHT_RE.match(answer)
    if match is None:
        raise ScaleError(UNREADABLE_MESSAGE)
    if match["grams"] is not None:
        return (Decimal(int(match["grams"])) / 1000).quantize(GRAM)
    return Decimal(match["kg"].decode("ascii")).quantize(GRAM, rounding=ROUND_HALF_UP)


def status_error(status: int) -> ScaleError | None:
    """The error a status answer to W means; None when the scale is only in motion (ask again)."""
    if status & OVER_CAPACITY:
        return ScaleError(OVERLOAD_MESSAGE)
    if status & UNDER_ZERO:
        return ScaleError(NEGATIVE_MESSAGE)
    if status & OUTSIDE_ZERO_RANGE:
        return ScaleError(ZERO_RANGE_MESSAGE)
    if status & MOTION:
        return None
    return ScaleError(
        f"La balance ne donne pas de poids (état {STATUS_BASE | status:#04x}) : réessayez ; "
        "si cela se répète, vérifiez son réglage (protocole 8217)."
    )


class Scale(Protocol):
    def read_weight(self) -> WeightReading:
        """The stable weight on the scale; ScaleError with the cashier's message otherwise."""
        ...

    def zero(self) -> None:
        """Capture zero (empty platter); ScaleError if the scale refuses."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


class SerialLike(Protocol):
    """What SerialScale needs from a port: a pyserial `Serial` or anything with these members;
    `timeout` is in seconds, `read_until` returns what came before the timeout."""

    timeout: Any

    def write(self, data: bytes, /) -> int | None: ...

    def read_until(self, expected: bytes = ..., size: int | None = ...) -> bytes: ...

    def reset_input_buffer(self) -> None: ...


def _check_ms(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high} (ms), not {value!r}")


class SerialScale(PortUser[SerialLike]):
    """An 8217 scale on a serial port.

    `port` is a device path, opened here with pyserial (ScaleError if it cannot be), or an open
    serial-like object. The line defaults to 9600 baud 7E1, the 8217 factory settings. After a port
    error the connection is dropped and the next call reopens the path (an unplugged USB adapter comes
    back on its own). One exchange at a time: callers may use it from several threads.

    answer_timeout_ms: how long to wait for each answer; tries / motion_timeout_ms: how many times and
    for how long to ask again while the scale is in motion; interval_ms: the least time between two
    commands (the 8217 needs 200 ms).
    """

    def __init__(
        self,
        port: str | SerialLike,
        baudrate: int = 9600,
        bytesize: int = 7,
        parity: str = "E",
        stopbits: int = 1,
        *,
        answer_timeout_ms: int = 500,
        tries: int = 10,
        motion_timeout_ms: int = 3000,
        interval_ms: int = 200,
    ):
        if bytesize not in (7, 8) or parity not in ("E", "O", "N") or stopbits not in (1, 2):
            raise ValueError(f"unsupported line settings {bytesize}{parity}{stopbits}")
        _check_ms("answer_timeout_ms", answer_timeout_ms, 10, 10_000)
        _check_ms("motion_timeout_ms", motion_timeout_ms, 0, 60_000)
        _check_ms("interval_ms", interval_ms, 0, 5000)
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ValueError(f"tries must be at least 1, not {tries!r}")
        self.baudrate = baudrate
        self.bytesize = bytesize
        self.parity = parity
        self.stopbits = stopbits
        self.answer_timeout_ms = answer_timeout_ms
        self.tries = tries
        self.motion_timeout_ms = motion_timeout_ms
        self.interval_ms = interval_ms
        self.peer: SimulatedScale | None = None  # set by simulated_scale(), closed with this scale
        self._lock = threading.Lock()
        self._last_command_ns: int | None = None
        super().__init__(port)
        if isinstance(port, str):
            with self._lock:
                self._open()
        else:
            port.timeout = self._timeout_s()

    def read_weight(self) -> WeightReading:
        with self._lock:
            deadline = time.monotonic_ns() + self.motion_timeout_ms * 1_000_000
            silences = 0
            for attempt in range(1, self.tries + 1):
                answer = self._ask(WEIGH)
                if answer is None:
                    silences += 1
                    if silences >= _SILENCES:
                        break
                else:
                    silences = 0
                    value = decode(answer)
                    if isinstance(value, Decimal):
                        return WeightReading(value, stable=True)
                    error = status_error(value)
                    if error is not None:
                        raise error
                if attempt < self.tries and time.monotonic_ns() >= deadline:
                    break
            raise ScaleError(UNREACHABLE_MESSAGE if silences else UNSTABLE_MESSAGE)

    def zero(self) -> None:
        with self._lock:
            answer = self._ask(ZERO)
            if answer is None:
                answer = self._ask(ZERO)
            if answer is None:
                raise ScaleError(UNREACHABLE_MESSAGE)
            value = decode(answer)
            if isinstance(value, Decimal):
                raise ScaleError(UNREADABLE_MESSAGE)
            if value & OVER_CAPACITY:
                raise ScaleError(OVERLOAD_MESSAGE)
            if value & (MOTION | OUTSIDE_ZERO_RANGE):
                raise ScaleError(ZERO_REFUSED_MESSAGE)

    def close(self) -> None:
        with self._lock:
            self._drop_port()
        if self.peer is not None:
            self.peer.close()

    # -- the exchange

    def _timeout_s(self) -> Any:
        # pyserial wants seconds and cannot add a Decimal to its clock: the one place a ms count is divided.
        return self.answer_timeout_ms / 1000

    def _open(self) -> SerialLike:
        if self._port is None:
            assert self._path is not None  # a caller's port is kept, never dropped
            try:
                self._port = serial.Serial(
                    port=self._path,
                    baudrate=self.baudrate,
                    bytesize=self.bytesize,
                    parity=self.parity,
                    stopbits=self.stopbits,
                    timeout=self._timeout_s(),
                    write_timeout=_WRITE_TIMEOUT_S,
                    exclusive=True,
                )
            except PORT_ERRORS as exc:
                log.warning("scale %s: %s", self._path, exc)
                raise ScaleError(UNREACHABLE_MESSAGE) from exc
        return self._port

    def _pace(self) -> None:
        """Leave `interval_ms` between two commands."""
        if self._last_command_ns is None:
            return
        wait_ns = self._last_command_ns + self.interval_ms * 1_000_000 - time.monotonic_ns()
        if wait_ns > 0:
            time.sleep(wait_ns / 1_000_000_000)

    def _ask(self, command: bytes) -> bytes | None:
        """Send one command; its answer between STX and CR, or None when the scale said nothing."""
        port = self._open()
        self._pace()
        try:
            port.reset_input_buffer()  # a late answer to an earlier command is not this one's
            port.write(command)
            self._last_command_ns = time.monotonic_ns()
            raw = port.read_until(CR, _MAX_ANSWER)
        except PORT_ERRORS as exc:
            log.warning("scale %s: %s", self._path or "port", exc)
            self._drop_port()
            raise ScaleError(UNREACHABLE_MESSAGE) from exc
        if not raw:
            return None
        frame = bytes(byte & 0x7F for byte in raw)
        if not frame.endswith(CR) or STX not in frame:
            log.warning("scale %s: unreadable answer %r", self._path or "port", raw)
            raise ScaleError(UNREADABLE_MESSAGE)
        return frame[frame.rindex(STX) + 1 : -1]


class NoScale:
    """No scale: weighing asks the cashier to type the weight."""

    def read_weight(self) -> WeightReading:
        raise ScaleError(NO_SCALE_MESSAGE)

    def zero(self) -> None:
        raise ScaleError(NO_SCALE_MESSAGE)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------------------
# Simulated scale

PeerState = Literal["stable", "motion", "motion-then-stable", "overload", "negative", "silent"]
PEER_STATES: tuple[PeerState, ...] = (
    "stable",
    "motion",
    "motion-then-stable",
    "overload",
    "negative",
    "silent",
)
ZERO_RANGE_KG = Decimal("0.300")  # what Z may cancel (2 % of a 15 kg scale)


def _check_kg(kg: Decimal) -> Decimal:
    if not isinstance(kg, Decimal) or not kg.is_finite() or not 0 <= kg <= MAX_KG:
        raise ValueError(f"kg must be a Decimal from 0 to {MAX_KG}, not {kg!r}")
    return kg.quantize(GRAM, rounding=ROUND_HALF_UP)


class SimulatedScale:
    """An 8217 scale on the master end of a pty, answering in a background thread; open `port` (the
    slave end) with SerialScale. Use 8N1 there: Linux keeps a pty at 8 bits, the bytes are the same.

    states: "stable" (answers `kg`), "motion" (always in motion), "motion-then-stable" (in motion for
    `motion_answers` answers, then stable), "overload", "negative", "silent" (answers nothing). `Z`
    captures zero when stable or negative and within 0,300 kg. `commands` lists what the till sent.
    """

    def __init__(
        self, kg: Decimal = Decimal("0.000"), state: PeerState = "stable", *, motion_answers: int = 2
    ):
        self._lock = threading.Lock()
        self.kg = _check_kg(kg)
        self.state: PeerState = "stable"
        self.motion_answers = 0
        self.set(state=state, motion_answers=motion_answers)
        self.commands: list[bytes] = []
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master = master
        self._slave = slave  # held open so the pty lives while the till's side closes and reopens
        self.port = os.ttyname(slave)
        self._wake_read, self._wake_write = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="simulated-scale", daemon=True)
        self._thread.start()

    def set(
        self, kg: Decimal | None = None, state: PeerState | None = None, *, motion_answers: int | None = None
    ) -> None:
        """Change what is on the scale (thread-safe)."""
        if state is not None and state not in PEER_STATES:
            raise ValueError(f"state must be one of {', '.join(PEER_STATES)}, not {state!r}")
        if motion_answers is not None and (isinstance(motion_answers, bool) or motion_answers < 0):
            raise ValueError(f"motion_answers must not be negative, not {motion_answers!r}")
        with self._lock:
            if kg is not None:
                self.kg = _check_kg(kg)
            if state is not None:
                self.state = state
            if motion_answers is not None:
                self.motion_answers = motion_answers

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.write(self._wake_write, b"x")
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._wake_read, self._wake_write):
            os.close(fd)

    def __enter__(self) -> SimulatedScale:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the peer

    def _run(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._master, self._wake_read], [], [])
                if self._wake_read in ready:
                    return
                for byte in os.read(self._master, 64):
                    answer = self._answer(bytes([byte & 0x7F]))
                    if answer:
                        os.write(self._master, answer)
        except OSError as exc:
            if not self._closed:
                log.info("simulated scale stops: %s", exc)

    def _answer(self, command: bytes) -> bytes:
        if command in (b"\r", b"\n"):
            return b""
        with self._lock:
            self.commands.append(command)
            if self.state == "silent" or command not in (WEIGH, ZERO):
                return b""
            if self.state == "motion-then-stable":
                if self.motion_answers > 0:
                    self.motion_answers -= 1
                    return self._status(MOTION)
                self.state = "stable"
            if self.state == "motion":
                return self._status(MOTION)
            if self.state == "overload":
                return self._status(OVER_CAPACITY | OUTSIDE_ZERO_RANGE)
            if command == ZERO:
                if self.state == "negative" or self.kg <= ZERO_RANGE_KG:
                    self.state, self.kg = "stable", Decimal("0.000")
                    return self._status(CENTER_OF_ZERO)
                return self._status(OUTSIDE_ZERO_RANGE)
            if self.state == "negative":
                return self._status(UNDER_ZERO)
            return STX + format(self.kg, "06.3f").encode("ascii") + CR

    @staticmethod
    def _status(bits: int) -> bytes:
        return STX + b"?" + bytes([STATUS_BASE | bits]) + CR


def simulated_scale(
    kg: Decimal = Decimal("0.000"),
    state: PeerState = "stable",
    *,
    motion_answers: int = 2,
    answer_timeout_ms: int = 500,
    tries: int = 10,
    motion_timeout_ms: int = 3000,
    interval_ms: int = 200,
) -> SerialScale:
    """A SerialScale talking to its own SimulatedScale (`scale.peer`, closed with the scale)."""
    peer = SimulatedScale(kg, state, motion_answers=motion_answers)
    try:
        scale = SerialScale(
            peer.port,
            bytesize=8,
            parity="N",
            answer_timeout_ms=answer_timeout_ms,
            tries=tries,
            motion_timeout_ms=motion_timeout_ms,
            interval_ms=interval_ms,
        )
    except BaseException:
        peer.close()
        raise
    scale.peer = peer
    return scale


# --------------------------------------------------------------------------------------------------------
# Configuration

_BACKENDS = ("auto", "serial", "simulated", "none")
_KEYS = {
    "backend",
    "port",
    "baudrate",
    "bytesize",
    "parity",
    "stopbits",
    "answer_timeout_ms",
    "tries",
    "motion_timeout_ms",
    "interval_ms",
    "simulated_kg",
}
_BAUDRATES = (1200, 2400, 4800, 9600, 19200)
_PORT_EXPECTED = "un port série comme /dev/ttyUSB0"


def _simulated_kg(settings: Settings) -> Decimal:
    value = settings.cfg.get("simulated_kg", "0.350")
    expected = 'un poids en kg entre guillemets, de "0.000" à "99.999"'
    if not isinstance(value, str):
        raise settings.bad("simulated_kg", value, expected)
    try:
        kg = Decimal(value.strip())
    except InvalidOperation:
        raise settings.bad("simulated_kg", value, expected) from None
    if not kg.is_finite() or not 0 <= kg <= MAX_KG or kg != kg.quantize(GRAM):
        raise settings.bad("simulated_kg", value, expected)
    return kg.quantize(GRAM)


def open_scale(cfg: Mapping[str, Any]) -> Scale:
    """Build the scale described by `cfg` (the devices.scale section).

    backend: "serial" opens `port` (ScaleError if it cannot be opened); "auto" is "serial" when a port
    is configured and "none" otherwise (never a simulated scale: a till must not invent weights);
    "simulated" is a SimulatedScale showing `simulated_kg` behind a real SerialScale; "none" asks the
    cashier to type weights. Raises ScaleError naming the wrong key.
    """
    settings = Settings("de la balance", cfg, _KEYS, ScaleError)
    backend = settings.choice("backend", "auto", _BACKENDS)
    port = settings.optional_text("port", _PORT_EXPECTED)
    baudrate = settings.choice("baudrate", 9600, _BAUDRATES)
    bytesize = settings.choice("bytesize", 7, (7, 8))
    parity = settings.choice("parity", "E", ("E", "O", "N"))
    stopbits = settings.choice("stopbits", 1, (1, 2))
    answer_timeout_ms = settings.integer("answer_timeout_ms", 500, 50, 5000, "une durée en ms de 50 à 5000")
    tries = settings.integer("tries", 10, 1, 50, "un nombre d'essais de 1 à 50")
    motion_timeout_ms = settings.integer("motion_timeout_ms", 3000, 0, 30000, "une durée en ms de 0 à 30000")
    interval_ms = settings.integer("interval_ms", 200, 0, 2000, "une durée en ms de 0 à 2000")
    simulated_kg = _simulated_kg(settings)

    if backend == "none" or (backend == "auto" and port is None):
        return NoScale()
    if backend == "simulated":
        return simulated_scale(
            simulated_kg,
            answer_timeout_ms=answer_timeout_ms,
            tries=tries,
            motion_timeout_ms=motion_timeout_ms,
            interval_ms=interval_ms,
        )
    if port is None:
        raise settings.bad("port", port, _PORT_EXPECTED)
    return SerialScale(
        port,
        baudrate,
        bytesize,
        parity,
        stopbits,
        answer_timeout_ms=answer_timeout_ms,
        tries=tries,
        motion_timeout_ms=motion_timeout_ms,
        interval_ms=interval_ms,
    )
