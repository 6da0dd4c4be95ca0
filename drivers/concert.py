"""The French « protocole Concert » between a till (caisse) and a card payment terminal (TPE).

Concert is the caisse ↔ TPE protocol of the Association du Paiement, spoken over RS-232 or USB-CDC by
Ingenico (Telium Manager « connexion caisse »), Verifone, PAX and others in France. This module has
three parts:

* the messages: a request (`ConcertRequest`, 34 characters) and the terminal's answer
  (`parse_answer` → `TerminalAnswer`), framed as STX message ETX LRC;
* the till's side of the link (`ConcertLink`): ENQ/ACK, the request, EOT, then the terminal's ENQ,
  its answer and EOT, with the timeouts and retries below;
* the terminal's side (`SimulatedPeer`), a real peer speaking the same bytes on a file descriptor
  (the master end of a pty), for the simulated terminal and the tests.

Request message (Concert V2 as extended by Telium « protocole E+ »; every field is ASCII)::

    offset  len  field
    0       2    pos number ("01".."99")
    2       8    amount in cents, zero-padded ("00001250" = 12,50 €)
    10      1    answer flag: "1" full answer (with the card-number field), "0" short answer
    11      1    mode (issuer): "1" card, "C" cheque, ...
    12      1    type: "0" debit, "1" credit = refund, "2" cancellation (annulation)
    13      3    ISO 4217 numeric currency ("978" = EUR)
    16      10   private data, space-padded (echoed back by the terminal)
    26      4    DELAI as tag "A" + length "01" + value: "A010" answer at the end of the transaction,
                 "A011" immediate answer (without the result)
    30      4    AUTO as tag "B" + length "01" + value: "B010" the terminal decides whether to ask the
                 bank for an authorisation, "B011" authorisation forced

Answer message: pos (2), status (1), amount (8), mode (1), then with the full answer the card-number
field (55, the PAN first, space-padded), then currency (3) and private data (10): 80 or 25 characters.
Status "0" = accepted, "7" = refused / not completed, "9" = not verified (the terminal does not vouch
for the result); anything else is reported as "unknown".

LRC = XOR of every byte after STX up to and including ETX. The request for pos 01, 12,50 €, full
answer, card, debit, EUR is ``02 3031 3030303031323530 31 31 30 393738 20×10 41303130 42303130 03 01``.

Link timeouts (`Timeouts`), all configurable:

* 3 s for every acknowledgement (ENQ → ACK, request → ACK/NAK, answer → EOT): the Telium
  implementations wait up to 3 s for the terminal, as its specification asks;
* 3 s between two bytes of the terminal's answer frame;
* 120 s from our EOT to the terminal's ENQ: the customer inserts the card, types the PIN and the bank
  answers meanwhile;
* 3 tries for the session opening (ENQ, then EOT and a 1 s pause when it is not acknowledged), for the
  request (resent on NAK) and for receiving the answer (NAK on a bad LRC).

Once the request may have reached the terminal, every failure is reported with
``request_sent=True``: the payment may have been made and only the terminal's screen or ticket can tell.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

from drivers.serialport import PORT_ERRORS

log = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
EOT = 0x04
ENQ = 0x05
ACK = 0x06
NAK = 0x15

MAX_TRIES = 3
MAX_MESSAGE = 512  # a Concert frame carries at most 512 data bytes

TransactionType = Literal["debit", "refund", "cancel"]
TYPE_CODES: dict[TransactionType, str] = {"debit": "0", "refund": "1", "cancel": "2"}

ANSWER_FULL = "1"
ANSWER_SHORT = "0"
MODE_CARD = "1"
MODE_CHEQUE = "C"
CURRENCY_EUR = "978"
DELAY_END_OF_TRANSACTION = "A010"
DELAY_IMMEDIATE = "A011"
AUTHORISATION_BY_TERMINAL = "B010"
AUTHORISATION_FORCED = "B011"

REQUEST_LENGTH = 34
ANSWER_FULL_LENGTH = 80
ANSWER_SHORT_LENGTH = 25
CARD_FIELD_LENGTH = 55
PRIVATE_LENGTH = 10
MAX_AMOUNT_CENTS = 99_999_999  # 8 digits: 999 999,99 €

AnswerStatus = Literal["approved", "refused", "not_verified", "unknown"]
STATUS_CODES: dict[str, AnswerStatus] = {"0": "approved", "7": "refused", "9": "not_verified"}

_MODES = frozenset("0123456789ACFOU")  # card, cheque and the private card issuers of Concert V2


class FrameError(ValueError):
    """Bytes that are not a well-formed Concert frame or message."""


class LrcError(FrameError):
    """A frame whose LRC does not match its content."""


# --------------------------------------------------------------------------------------------------------
# Frames


def lrc(data: bytes) -> int:
    """XOR of every byte of `data` (the message followed by ETX)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def frame(message: bytes) -> bytes:
    """STX message ETX LRC."""
    if any(b < 0x20 or b > 0x7E for b in message):
        raise FrameError(f"a Concert message is printable ASCII, not {message!r}")
    body = message + bytes([ETX])
    return bytes([STX]) + body + bytes([lrc(body)])


def unframe(data: bytes) -> bytes:
    """The message inside STX … ETX LRC, after checking the LRC."""
    if len(data) < 3 or data[0] != STX or data[-2] != ETX:
        raise FrameError(f"not a Concert frame (STX … ETX LRC): {data!r}")
    if lrc(data[1:-1]) != data[-1]:
        raise LrcError(f"bad LRC: {data[-1]:#04x}, expected {lrc(data[1:-1]):#04x}")
    return data[1:-2]


# --------------------------------------------------------------------------------------------------------
# Messages


def _ascii(message: bytes) -> str:
    try:
        return message.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError(f"a Concert message is ASCII: {message!r}") from exc


def _cents(text: str) -> int:
    if len(text) != 8 or not text.isdigit():
        raise FrameError(f"the amount field must be 8 digits, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class ConcertRequest:
    """What the till asks the terminal: one debit, refund or cancellation."""

    amount_cents: int
    pos: str = "01"
    transaction_type: TransactionType = "debit"
    answer_flag: str = ANSWER_FULL
    mode: str = MODE_CARD
    currency: str = CURRENCY_EUR
    private: str = ""
    delay: str = DELAY_END_OF_TRANSACTION
    authorisation: str = AUTHORISATION_BY_TERMINAL

    def __post_init__(self) -> None:
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise TypeError(f"amount_cents must be an int number of cents, not {self.amount_cents!r}")
        if not 1 <= self.amount_cents <= MAX_AMOUNT_CENTS:
            raise ValueError(f"amount_cents must be 1 to {MAX_AMOUNT_CENTS}, not {self.amount_cents}")
        if not (
            isinstance(self.pos, str) and len(self.pos) == 2 and self.pos.isascii() and self.pos.isdigit()
        ):
            raise ValueError(f"pos must be two digits like '01', not {self.pos!r}")
        if self.transaction_type not in TYPE_CODES:
            raise ValueError(
                f"transaction_type must be debit, refund or cancel, not {self.transaction_type!r}"
            )
        if self.answer_flag not in (ANSWER_FULL, ANSWER_SHORT):
            raise ValueError(f"answer_flag must be '1' (full) or '0' (short), not {self.answer_flag!r}")
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one character of {''.join(sorted(_MODES))}, not {self.mode!r}")
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isdigit()):
            raise ValueError(f"currency must be an ISO 4217 numeric code like '978', not {self.currency!r}")
        if len(self.private) > PRIVATE_LENGTH or not all(" " <= c <= "~" for c in self.private):
            raise ValueError(f"private must be at most 10 printable ASCII characters, not {self.private!r}")
        if self.delay not in (DELAY_END_OF_TRANSACTION, DELAY_IMMEDIATE):
            raise ValueError(f"delay must be A010 or A011, not {self.delay!r}")
        if self.authorisation not in (AUTHORISATION_BY_TERMINAL, AUTHORISATION_FORCED):
            raise ValueError(f"authorisation must be B010 or B011, not {self.authorisation!r}")

    @property
    def type_code(self) -> str:
        return TYPE_CODES[self.transaction_type]

    def message(self) -> bytes:
        text = (
            self.pos
            + f"{self.amount_cents:08d}"
            + self.answer_flag
            + self.mode
            + self.type_code
            + self.currency
            + self.private.ljust(PRIVATE_LENGTH)
            + self.delay
            + self.authorisation
        )
        assert len(text) == REQUEST_LENGTH
        return text.encode("ascii")

    def frame(self) -> bytes:
        return frame(self.message())


def decode_request(message: bytes) -> ConcertRequest:
    """The request inside a message (the terminal's side)."""
    text = _ascii(message)
    if len(text) != REQUEST_LENGTH:
        raise FrameError(f"a request message is {REQUEST_LENGTH} characters, not {len(text)}")
    types = {code: name for name, code in TYPE_CODES.items()}
    if text[12] not in types:
        raise FrameError(f"unknown transaction type {text[12]!r}")
    try:
        return ConcertRequest(
            amount_cents=_cents(text[2:10]),
            pos=text[0:2],
            transaction_type=types[text[12]],
            answer_flag=text[10],
            mode=text[11],
            currency=text[13:16],
            private=text[16:26].rstrip(" "),
            delay=text[26:30],
            authorisation=text[30:34],
        )
    except (TypeError, ValueError) as exc:
        raise FrameError(f"bad request message {text!r}: {exc}") from exc


_MASK_CHARS = frozenset("*Xx#")


def mask_pan(field_text: str) -> str | None:
    """The card number at the start of the card-number field, masked: at most its first 6 and last 4
    digits are kept, every other character becomes "*". None when there is no card number.

    The field may hold the PAN alone, a PAN the terminal already masked, or the PAN followed by other
    data (a space, "=" and the expiry date of an ISO 2 track): only the leading run of digits and mask
    characters is kept.
    """
    text = field_text.strip()
    end = 0
    while end < len(text) and (text[end].isdigit() or text[end] in _MASK_CHARS):
        end += 1
    token = text[:end]
    if not token:
        return None
    n = len(token)
    keep_first = 6 if n > 10 else 0
    keep_last = min(4, n)
    return "".join(
        c if c.isdigit() and (i < keep_first or i >= n - keep_last) else "*" for i, c in enumerate(token)
    )


@dataclass(frozen=True)
class TerminalAnswer:
    """The terminal's answer to one request. `raw` is the answer message with the card-number field
    masked: the full card number is never kept."""

    status: AnswerStatus
    amount_cents: int
    masked_pan: str | None
    raw: bytes
    pos: str = "01"
    status_code: str = "0"
    mode: str = MODE_CARD
    currency: str = CURRENCY_EUR
    private: str = ""


def parse_answer(message: bytes) -> TerminalAnswer:
    """Decode the terminal's answer message (between STX and ETX), full (80) or short (25 characters)."""
    text = _ascii(message)
    if len(text) == ANSWER_FULL_LENGTH:
        card_field = text[12 : 12 + CARD_FIELD_LENGTH]
        tail = text[12 + CARD_FIELD_LENGTH :]
    elif len(text) == ANSWER_SHORT_LENGTH:
        card_field = None
        tail = text[12:]
    else:
        raise FrameError(
            f"an answer message is {ANSWER_FULL_LENGTH} or {ANSWER_SHORT_LENGTH} characters, not {len(text)}"
        )
    pos, status_code, amount, mode = text[0:2], text[2], _cents(text[3:11]), text[11]
    currency, private = tail[0:3], tail[3:13]
    if not pos.isdigit():
        raise FrameError(f"bad pos number {pos!r} in the answer")
    masked = mask_pan(card_field) if card_field is not None else None
    raw = text
    if card_field is not None:
        raw = text[:12] + (masked or "").ljust(CARD_FIELD_LENGTH) + tail
    return TerminalAnswer(
        status=STATUS_CODES.get(status_code, "unknown"),
        amount_cents=amount,
        masked_pan=masked,
        raw=raw.encode("ascii"),
        pos=pos,
        status_code=status_code,
        mode=mode,
        currency=currency,
        private=private.rstrip(" "),
    )


def encode_answer(
    pos: str,
    status_code: str,
    amount_cents: int,
    *,
    mode: str = MODE_CARD,
    card_field: str | None = "",
    currency: str = CURRENCY_EUR,
    private: str = "",
) -> bytes:
    """An answer message as a terminal sends it; `card_field=None` gives the short answer."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise TypeError(f"amount_cents must be an int number of cents, not {amount_cents!r}")
    text = pos + status_code + f"{amount_cents:08d}" + mode
    if card_field is not None:
        text += card_field[:CARD_FIELD_LENGTH].ljust(CARD_FIELD_LENGTH)
    text += currency + private[:PRIVATE_LENGTH].ljust(PRIVATE_LENGTH)
    return text.encode("ascii")


# --------------------------------------------------------------------------------------------------------
# The till's side of the link


class SerialLike(Protocol):
    """What the link needs from a port: a pyserial `Serial`, or anything with the same three members.
    `timeout` is the read timeout in seconds; `read` returns fewer bytes than asked on timeout."""

    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...


@dataclass(frozen=True)
class Timeouts:
    """Link timeouts, in seconds (see the module docstring for where the defaults come from)."""

    ack: float = 3.0  # ENQ → ACK, request → ACK/NAK, answer → EOT
    byte: float = 3.0  # between two bytes of the terminal's answer frame
    answer: float = 120.0  # from our EOT to the terminal's ENQ: the customer pays meanwhile
    retry_pause: float = 1.0  # after an ENQ that was not acknowledged, before the next one

    def __post_init__(self) -> None:
        for name in ("ack", "byte", "answer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"timeout {name} must be a positive number of seconds, not {value!r}")
        if isinstance(self.retry_pause, bool) or not isinstance(self.retry_pause, int | float):
            raise ValueError(f"retry_pause must be a number of seconds, not {self.retry_pause!r}")
        if self.retry_pause < 0:
            raise ValueError(f"retry_pause must not be negative, not {self.retry_pause!r}")


LinkFailure = Literal["port", "not_ready", "rejected", "no_answer", "bad_answer"]


class LinkError(Exception):
    """The exchange failed. `kind`:

    * port: the port could not be opened, read or written (cable, terminal off);
    * not_ready: the terminal never acknowledged our ENQ;
    * rejected: the terminal answered NAK to every copy of the request;
    * no_answer: nothing (or no complete frame) came back in time;
    * bad_answer: the answer frame kept failing its LRC, or is not a Concert answer.

    `request_sent` tells whether the terminal may hold the request: then the payment may have been made.
    """

    def __init__(self, kind: LinkFailure, detail: str, *, request_sent: bool):
        super().__init__(f"{kind}: {detail}")
        self.kind: LinkFailure = kind
        self.detail = detail
        self.request_sent = request_sent


_LONG_WAIT_SLICE = 1.0


class ConcertLink:
    """One till ↔ terminal exchange at a time over an open port."""

    def __init__(self, port: SerialLike, timeouts: Timeouts | None = None, max_tries: int = MAX_TRIES):
        if max_tries < 1:
            raise ValueError(f"max_tries must be at least 1, not {max_tries}")
        self.port = port
        self.timeouts = timeouts or Timeouts()
        self.max_tries = max_tries
        self._sent = False
        self._timeout_set: float | None = None

    def transact(self, request: ConcertRequest) -> TerminalAnswer:
        """Send `request` and return the terminal's answer; raise LinkError."""
        self._sent = False
        self._timeout_set = None
        self._discard_input()
        self._open_session()
        self._send_request(request.frame())
        self._write(bytes([EOT]))
        message = self._receive_answer()
        try:
            answer = parse_answer(message)
        except FrameError as exc:
            raise LinkError("bad_answer", str(exc), request_sent=True) from exc
        log.info("terminal answer %r", answer.raw)
        return answer

    # -- the two halves of the exchange

    def _open_session(self) -> None:
        for attempt in range(1, self.max_tries + 1):
            self._write(bytes([ENQ]))
            reply = self._read_byte(self.timeouts.ack)
            if reply == ACK:
                return
            log.warning("terminal did not acknowledge ENQ (try %d, got %r)", attempt, reply)
            self._write(bytes([EOT]))
            if attempt < self.max_tries:
                time.sleep(self.timeouts.retry_pause)
        raise LinkError("not_ready", f"no ACK to {self.max_tries} ENQ", request_sent=False)

    def _send_request(self, data: bytes) -> None:
        log.info("request %r", data[1:-2])
        for attempt in range(1, self.max_tries + 1):
            self._sent = True  # from the first byte written, the terminal may act on the request
            self._write(data)
            reply = self._read_byte(self.timeouts.ack)
            if reply == ACK:
                return
            if reply != NAK:
                # No verdict: the terminal may have the request and be waiting for the card.
                self._write_quietly(bytes([EOT]))
                raise LinkError("no_answer", f"no ACK to the request (got {reply!r})", request_sent=True)
            log.warning("terminal refused the request frame (NAK, try %d)", attempt)
        self._write_quietly(bytes([EOT]))
        # Every copy was refused: the terminal has not accepted the request.
        raise LinkError("rejected", f"NAK to {self.max_tries} copies of the request", request_sent=False)

    def _receive_answer(self) -> bytes:
        deadline = time.monotonic() + self.timeouts.answer
        while True:
            byte = self._read_byte_until(deadline)
            if byte is None:
                raise LinkError(
                    "no_answer",
                    f"no ENQ from the terminal within {self.timeouts.answer} s",
                    request_sent=True,
                )
            if byte == ENQ:
                break
            log.debug("ignored %#04x while waiting for the terminal's ENQ", byte)
        self._write(bytes([ACK]))
        failure: LinkFailure = "no_answer"
        detail = ""
        for attempt in range(1, self.max_tries + 1):
            message, problem = self._read_frame()
            if problem is None:
                assert message is not None
                self._write_quietly(bytes([ACK]))
                self._await_eot()
                return message
            failure, detail = ("bad_answer", problem) if message is not None else ("no_answer", problem)
            log.warning("answer frame try %d: %s", attempt, problem)
            self._write(bytes([NAK]))
        raise LinkError(failure, detail, request_sent=True)

    def _read_frame(self) -> tuple[bytes | None, str | None]:
        """(message, None) for a good frame, (bytes, problem) for a bad one, (None, problem) for none."""
        while True:
            byte = self._read_byte(self.timeouts.byte)
            if byte is None:
                return None, "no answer frame"
            if byte == STX:
                break
            if byte == ENQ:  # the terminal did not get our ACK: acknowledge again
                self._write(bytes([ACK]))
            elif byte == EOT:
                raise LinkError(
                    "no_answer", "the terminal ended the session without an answer", request_sent=True
                )
        body = bytearray()
        while True:
            byte = self._read_byte(self.timeouts.byte)
            if byte is None:
                return bytes(body), "answer frame cut short"
            if byte == ETX:
                break
            body.append(byte)
            if len(body) > MAX_MESSAGE:
                return bytes(body), "answer frame too long"
        check = self._read_byte(self.timeouts.byte)
        if check is None:
            return bytes(body), "answer frame without LRC"
        if lrc(bytes(body) + bytes([ETX])) != check:
            return bytes(body), "bad LRC on the answer frame"
        return bytes(body), None

    def _await_eot(self) -> None:
        try:
            byte = self._read_byte(self.timeouts.ack)
        except LinkError:
            byte = None
        if byte != EOT:
            log.warning("terminal did not end the session with EOT (got %r); its answer is kept", byte)

    # -- port access

    def _discard_input(self) -> None:
        reset = getattr(self.port, "reset_input_buffer", None)
        if reset is None:
            return
        try:
            reset()
        except PORT_ERRORS as exc:
            raise LinkError("port", str(exc), request_sent=False) from exc

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            flush = getattr(self.port, "flush", None)
            if flush is not None:
                flush()
        except PORT_ERRORS as exc:
            raise LinkError("port", f"write failed: {exc}", request_sent=self._sent) from exc

    def _write_quietly(self, data: bytes) -> None:
        try:
            self._write(data)
        except LinkError as exc:
            log.warning("%s", exc)

    def _set_timeout(self, seconds: float) -> None:
        if seconds != self._timeout_set:  # pyserial reconfigures the port on every assignment
            self.port.timeout = seconds
            self._timeout_set = seconds

    def _read_byte(self, timeout: float) -> int | None:
        return self._read_byte_until(time.monotonic() + timeout)

    def _read_byte_until(self, deadline: float) -> int | None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                self._set_timeout(remaining if remaining < _LONG_WAIT_SLICE else _LONG_WAIT_SLICE)
                data = self.port.read(1)
            except PORT_ERRORS as exc:
                raise LinkError("port", f"read failed: {exc}", request_sent=self._sent) from exc
            if data:
                return data[0]


# --------------------------------------------------------------------------------------------------------
# The terminal's side, for the simulated terminal

PeerMode = Literal["ok", "refused", "silent", "fragmented", "bad_lrc_once"]
PEER_MODES: tuple[PeerMode, ...] = ("ok", "refused", "silent", "fragmented", "bad_lrc_once")
TEST_PAN = "4970101234567890"  # a test card number (CB test range), never a real card


@dataclass
class PeerLog:
    """What the simulated terminal saw, for the tests."""

    requests: list[ConcertRequest] = field(default_factory=list)
    naks_received: int = 0
    answers_sent: int = 0


class SimulatedPeer:
    """A payment terminal speaking Concert on a file descriptor, in a background thread.

    modes: ok (accepted), refused (status 7), silent (takes the request, never answers), fragmented
    (accepted, the answer sent byte by byte with small delays), bad_lrc_once (accepted, the first copy
    of each answer with a wrong LRC).
    """

    def __init__(
        self,
        fd: int,
        mode: PeerMode = "ok",
        *,
        pan: str = TEST_PAN,
        think_time: float = 0.05,
        byte_delay: float = 0.004,
        ack_timeout: float = 3.0,
    ):
        if mode not in PEER_MODES:
            raise ValueError(f"mode must be one of {', '.join(PEER_MODES)}, not {mode!r}")
        self.fd = fd
        self.mode: PeerMode = mode
        self.pan = pan
        self.think_time = think_time
        self.byte_delay = byte_delay
        self.ack_timeout = ack_timeout
        self.log = PeerLog()
        self._buffer = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"concert-peer-{mode}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # -- byte I/O on the descriptor

    def _read(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while not self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stop.is_set():
                return None
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.05))
            if ready:
                data = os.read(self.fd, 256)
                if not data:
                    raise OSError("the other end is closed")
                self._buffer.extend(data)
        byte = self._buffer[0]
        del self._buffer[0]
        return byte

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    # -- the protocol

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._read(0.1) == ENQ:
                    self._serve()
        except OSError as exc:
            if not self._stop.is_set():
                log.info("simulated terminal stops: %s", exc)

    def _serve(self) -> None:
        self._write(bytes([ACK]))
        message = self._receive_request()
        if message is None:
            return
        self._write(bytes([ACK]))
        if self._read(self.ack_timeout) != EOT:
            log.warning("simulated terminal: no EOT after the request")
        try:
            request = decode_request(message)
        except FrameError as exc:
            log.warning("simulated terminal: %s", exc)
            return
        self.log.requests.append(request)
        if self.mode == "silent" or self._stop.wait(self.think_time):
            return
        status = "7" if self.mode == "refused" else "0"
        answer = encode_answer(
            request.pos,
            status,
            request.amount_cents,
            mode=request.mode,
            card_field=self.pan if request.answer_flag == ANSWER_FULL else None,
            currency=request.currency,
            private=request.private,
        )
        self._send_answer(answer)

    def _receive_request(self) -> bytes | None:
        for _ in range(MAX_TRIES):
            byte = self._read(self.ack_timeout)
            while byte is not None and byte != STX:
                byte = self._read(self.ack_timeout)
            if byte is None:
                return None
            body = bytearray()
            byte = self._read(self.ack_timeout)
            while byte is not None and byte != ETX and len(body) <= MAX_MESSAGE:
                body.append(byte)
                byte = self._read(self.ack_timeout)
            check = self._read(self.ack_timeout) if byte == ETX else None
            if check is not None and check == lrc(bytes(body) + bytes([ETX])):
                return bytes(body)
            self._write(bytes([NAK]))
        return None

    def _send_answer(self, message: bytes) -> None:
        for _ in range(MAX_TRIES):
            self._write(bytes([ENQ]))
            if self._read(self.ack_timeout) == ACK:
                break
            self._write(bytes([EOT]))
        else:
            return
        corrupt = self.mode == "bad_lrc_once"
        for _ in range(MAX_TRIES):
            data = frame(message)
            if corrupt:
                data = data[:-1] + bytes([data[-1] ^ 0x5A])
                corrupt = False
            if self.mode == "fragmented":
                for byte in data:
                    self._write(bytes([byte]))
                    if self._stop.wait(self.byte_delay):
                        return
            else:
                self._write(data)
            self.log.answers_sent += 1
            reply = self._read(self.ack_timeout)
            if reply == ACK:
                break
            if reply == NAK:
                self.log.naks_received += 1
        self._write(bytes([EOT]))
