"""Concert caisse ↔ TPE protocol: the messages, and whole exchanges with a terminal on a real pty."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable, Iterator

import pytest
import serial

from drivers.concert import (
    ACK,
    ENQ,
    EOT,
    ETX,
    NAK,
    STX,
    ConcertRequest,
    FrameError,
    LrcError,
    Timeouts,
    decode_request,
    encode_answer,
    frame,
    lrc,
    mask_pan,
    parse_answer,
    unframe,
)
from drivers.payment import (
    ConcertTerminal,
    NoTerminal,
    PaymentResult,
    SimulatedTerminal,
    open_terminal,
)

pytestmark = pytest.mark.timeout(20)

FAST = Timeouts(ack=0.5, byte=0.5, answer=0.6, retry_pause=0.01)
KNOWN_VECTOR = bytes.fromhex(
    "02"
    + "3031"
    + "3030303031323530"
    + "31"
    + "31"
    + "30"
    + "393738"
    + "20" * 10
    + "41303130"
    + "42303130"
    + "03"
    + "01"
)
PAN = "4970101234567890"


# --------------------------------------------------------------------------------------------------------
# Messages


def test_known_vector_pos_01_12_50_eur_full_answer_card_debit():
    request = ConcertRequest(1250, pos="01", transaction_type="debit")
    assert request.message() == b"0100001250110978          A010B010"
    assert request.frame() == KNOWN_VECTOR


def test_lrc_is_the_xor_of_everything_after_stx_up_to_etx():
    assert lrc(b"") == 0
    assert lrc(b"\x01\x02\x04") == 0x07
    assert lrc(KNOWN_VECTOR[1:-1]) == 0x01
    assert frame(b"AB") == b"\x02AB\x03" + bytes([ord("A") ^ ord("B") ^ ETX])
    assert unframe(KNOWN_VECTOR) == KNOWN_VECTOR[1:-2]
    with pytest.raises(LrcError):
        unframe(KNOWN_VECTOR[:-1] + b"\x02")
    with pytest.raises(FrameError):
        unframe(b"0100001250")


def test_request_fields_refund_cancel_and_private_data():
    refund = ConcertRequest(99, pos="07", transaction_type="refund", private="T01-42").message()
    assert refund == b"0700000099111978T01-42    A010B010"
    assert ConcertRequest(5, transaction_type="cancel").message()[12:13] == b"2"
    assert decode_request(refund) == ConcertRequest(99, pos="07", transaction_type="refund", private="T01-42")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"amount_cents": 12.5}, TypeError),
        ({"amount_cents": True}, TypeError),
        ({"amount_cents": 0}, ValueError),
        ({"amount_cents": 100_000_000}, ValueError),
        ({"amount_cents": 100, "pos": "1"}, ValueError),
        ({"amount_cents": 100, "private": "x" * 11}, ValueError),
    ],
)
def test_request_rejects_bad_fields(kwargs, error):
    with pytest.raises(error):
        ConcertRequest(**kwargs)


def test_answer_approved_full_masks_the_card_number():
    message = ("01" + "0" + "00001250" + "1" + (PAN + " 2512").ljust(55) + "978" + "ABC".ljust(10)).encode()
    answer = parse_answer(message)
    assert (answer.status, answer.amount_cents, answer.masked_pan) == ("approved", 1250, "497010******7890")
    assert (answer.pos, answer.currency, answer.private, answer.mode) == ("01", "978", "ABC", "1")
    assert PAN.encode() not in answer.raw and b"2512" not in answer.raw
    assert len(answer.raw) == 80


def test_answer_refused_short_and_other_statuses():
    refused = parse_answer(b"01700001250" + b"1" + b"978" + b" " * 10)
    assert (refused.status, refused.amount_cents, refused.masked_pan) == ("refused", 1250, None)
    assert parse_answer(encode_answer("01", "9", 300, card_field=None)).status == "not_verified"
    odd = parse_answer(encode_answer("01", "X", 300, card_field=None))
    assert (odd.status, odd.status_code) == ("unknown", "X")
    with pytest.raises(FrameError):
        parse_answer(b"0100001250")
    with pytest.raises(FrameError):
        parse_answer(b"0100001x50" + b"1" + b"978" + b" " * 11)


@pytest.mark.parametrize(
    ("field", "masked"),
    [
        ("4970101234567890", "497010******7890"),
        ("4970101234567890123", "497010*********0123"),
        ("4970101234567890=2512101", "497010******7890"),
        ("************0674", "************0674"),
        ("497010XXXXXX7890", "497010******7890"),
        ("1234567890", "******7890"),
        ("1234", "1234"),
        ("", None),
        ("   ", None),
        ("NO CARD", None),
    ],
)
def test_mask_pan_keeps_at_most_first_six_and_last_four(field, masked):
    assert mask_pan(field) == masked


# --------------------------------------------------------------------------------------------------------
# Whole exchanges with the simulated terminal (a peer thread on the other end of a pty)


@pytest.fixture
def simulated() -> Iterator[Callable[..., SimulatedTerminal]]:
    made: list[SimulatedTerminal] = []

    def make(mode: str = "ok", **kwargs) -> SimulatedTerminal:
        kwargs.setdefault("timeouts", FAST)
        kwargs.setdefault("think_time", 0.02)
        terminal = SimulatedTerminal(mode, **kwargs)  # type: ignore[arg-type]
        made.append(terminal)
        return terminal

    yield make
    for terminal in made:
        terminal.close()


def assert_unknown_check_the_terminal(result: PaymentResult) -> None:
    assert result.outcome == "unknown"
    assert "peut-être" in result.reason_fr
    assert "regardez l'écran ou le ticket du terminal" in result.reason_fr


def test_ok_debit_is_approved_with_the_masked_card(simulated):
    terminal = simulated("ok")
    result = terminal.debit(1250)
    assert result == PaymentResult("approved", 1250, "497010******7890", "Paiement carte accepté.")
    assert terminal.peer.log.requests == [ConcertRequest(1250)]


def test_refund_and_cancel_send_their_type(simulated):
    terminal = simulated("ok")
    assert terminal.refund(700, pos="02").outcome == "approved"
    assert terminal.cancel(700).outcome == "approved"
    kinds = [(r.transaction_type, r.type_code, r.pos) for r in terminal.peer.log.requests]
    assert kinds == [("refund", "1", "02"), ("cancel", "2", "01")]


def test_refused_debit(simulated):
    result = simulated("refused").debit(4200)
    assert result.outcome == "refused"
    assert result.amount_cents == 4200
    assert "refusé" in result.reason_fr and "rien n'a été débité" in result.reason_fr


def test_fragmented_answer_is_reassembled(simulated):
    terminal = simulated("fragmented", byte_delay=0.003)
    assert terminal.debit(1999).outcome == "approved"


def test_bad_lrc_once_is_nak_ed_and_the_second_copy_accepted(simulated):
    terminal = simulated("bad_lrc_once")
    result = terminal.debit(1250)
    assert result.outcome == "approved"
    assert terminal.peer.log.naks_received == 1
    assert terminal.peer.log.answers_sent == 2


def test_silent_terminal_after_the_request_gives_unknown_within_the_timeout(simulated):
    terminal = simulated("silent")
    start = time.monotonic()
    result = terminal.debit(1250)
    assert time.monotonic() - start < FAST.answer + 1
    assert_unknown_check_the_terminal(result)
    assert "Délai dépassé" in result.reason_fr
    assert terminal.peer.log.requests == [ConcertRequest(1250)]  # the terminal did get it


def test_cable_pulled_while_the_customer_pays_gives_unknown(simulated):
    terminal = simulated("silent", timeouts=Timeouts(ack=0.5, byte=0.5, answer=5, retry_pause=0.01))
    threading.Timer(0.3, terminal.unplug).start()
    result = terminal.debit(1250)
    assert_unknown_check_the_terminal(result)
    assert "coupée" in result.reason_fr


def test_unplugged_terminal_is_an_error_with_nothing_debited(simulated):
    terminal = simulated("ok")
    assert terminal.debit(100).outcome == "approved"  # the port is open
    terminal.unplug()
    for _ in range(2):  # write error, then the port cannot be reopened
        result = terminal.debit(100)
        assert result.outcome == "error"
        assert "injoignable" in result.reason_fr and "vérifiez le câble" in result.reason_fr
        assert "Rien n'a été débité" in result.reason_fr


def test_missing_port_or_closed_port_is_an_error():
    result = ConcertTerminal("/dev/does-not-exist-tpe", timeouts=FAST).debit(100)
    assert (result.outcome, result.masked_pan) == ("error", None)
    assert "injoignable" in result.reason_fr
    master, slave = os.openpty()
    try:
        port = serial.Serial(os.ttyname(slave), timeout=0.1)
        port.close()
        result = ConcertTerminal(port, timeouts=FAST).debit(100)
        assert result.outcome == "error" and "injoignable" in result.reason_fr
    finally:
        os.close(master)
        os.close(slave)


def test_a_second_operation_while_one_runs_is_refused_not_queued(simulated):
    terminal = simulated("silent", timeouts=Timeouts(ack=0.5, byte=0.5, answer=1.0, retry_pause=0.01))
    first: list[PaymentResult] = []
    worker = threading.Thread(target=lambda: first.append(terminal.debit(500)))
    worker.start()
    time.sleep(0.2)
    second = terminal.debit(500)
    worker.join()
    assert second.outcome == "error" and "déjà en cours" in second.reason_fr
    assert first[0].outcome == "unknown"
    assert len(terminal.peer.log.requests) == 1


def test_float_amount_is_a_programming_error_and_bad_amount_an_error(simulated):
    terminal = simulated("ok")
    with pytest.raises(TypeError):
        terminal.debit(12.5)  # type: ignore[arg-type]
    result = terminal.debit(0)
    assert result.outcome == "error" and "Montant impossible" in result.reason_fr
    assert terminal.peer.log.requests == []


# --------------------------------------------------------------------------------------------------------
# Scripted terminals on a raw pty, for the link's corner cases


class ScriptedTerminal:
    """The terminal's end of a pty, driven step by step by a test script in a thread."""

    def __init__(self, script: Callable[[ScriptedTerminal], None]):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = serial.Serial(os.ttyname(self.slave), timeout=0.1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script: Callable[[ScriptedTerminal], None]) -> None:
        try:
            script(self)
        except BaseException as exc:  # reported by close()
            self.error = exc

    def read(self, timeout: float = 2.0) -> int:
        import select

        ready, _, _ = select.select([self.master], [], [], timeout)
        assert ready, "the till sent nothing"
        return os.read(self.master, 1)[0]

    def expect(self, byte: int) -> None:
        got = self.read()
        assert got == byte, f"expected {byte:#04x}, got {got:#04x}"

    def read_frame(self) -> bytes:
        self.expect(STX)
        data = bytearray([STX])
        while data[-1] != ETX:
            data.append(self.read())
        data.append(self.read())
        return unframe(bytes(data))

    def send(self, *chunks: bytes | int) -> None:
        for chunk in chunks:
            os.write(self.master, bytes([chunk]) if isinstance(chunk, int) else chunk)

    def answer(self, message: bytes) -> None:
        self.send(ENQ)
        self.expect(ACK)
        self.send(frame(message))
        self.expect(ACK)
        self.send(EOT)

    def close(self) -> None:
        self.thread.join(timeout=5)
        self.port.close()
        os.close(self.master)
        os.close(self.slave)
        if self.error is not None:
            raise self.error


def run_scripted(script: Callable[[ScriptedTerminal], None], amount: int = 1250) -> PaymentResult:
    peer = ScriptedTerminal(script)
    try:
        return ConcertTerminal(peer.port, timeouts=FAST).debit(amount)
    finally:
        peer.close()


def take_request(peer: ScriptedTerminal, reply: int = ACK) -> ConcertRequest:
    request = decode_request(peer.read_frame())
    peer.send(reply)
    return request


def test_request_nak_ed_once_is_sent_again():
    def script(peer: ScriptedTerminal) -> None:
        peer.expect(ENQ)
        peer.send(ACK)
        assert peer.read_frame() == KNOWN_VECTOR[1:-2]
        peer.send(NAK)
        request = take_request(peer)
        peer.expect(EOT)
        peer.answer(encode_answer(request.pos, "0", request.amount_cents, card_field=PAN))

    assert run_scripted(script).outcome == "approved"


def test_request_nak_ed_three_times_is_an_error_nothing_debited():
    def script(peer: ScriptedTerminal) -> None:
        peer.expect(ENQ)
        peer.send(ACK)
        for _ in range(3):
            take_request(peer, NAK)
        peer.expect(EOT)

    result = run_scripted(script)
    assert result.outcome == "error" and "Rien n'a été débité" in result.reason_fr


def test_enq_never_acknowledged_is_an_error_terminal_not_answering():
    def script(peer: ScriptedTerminal) -> None:
        for _ in range(3):
            peer.expect(ENQ)
            peer.expect(EOT)

    result = run_scripted(script)
    assert result.outcome == "error"
    assert "ne répond pas" in result.reason_fr and "Rien n'a été débité" in result.reason_fr


def test_no_ack_after_the_request_is_unknown():
    def script(peer: ScriptedTerminal) -> None:
        peer.expect(ENQ)
        peer.send(ACK)
        peer.read_frame()  # and keeps quiet
        peer.expect(EOT)

    assert_unknown_check_the_terminal(run_scripted(script))


def test_approved_for_another_amount_is_unknown():
    def script(peer: ScriptedTerminal) -> None:
        peer.expect(ENQ)
        peer.send(ACK)
        request = take_request(peer)
        peer.expect(EOT)
        peer.answer(encode_answer(request.pos, "0", 1200, card_field=PAN))

    result = run_scripted(script)
    assert_unknown_check_the_terminal(result)
    assert "12,00" in result.reason_fr and "12,50" in result.reason_fr


def test_answer_always_bad_lrc_is_unknown():
    def script(peer: ScriptedTerminal) -> None:
        peer.expect(ENQ)
        peer.send(ACK)
        request = take_request(peer)
        peer.expect(EOT)
        peer.send(ENQ)
        peer.expect(ACK)
        good = frame(encode_answer(request.pos, "0", request.amount_cents, card_field=PAN))
        for _ in range(3):
            peer.send(good[:-1] + bytes([good[-1] ^ 1]))
            peer.expect(NAK)
        peer.send(EOT)

    result = run_scripted(script)
    assert_unknown_check_the_terminal(result)
    assert "illisible" in result.reason_fr


# --------------------------------------------------------------------------------------------------------
# Configuration


def test_open_terminal_backends():
    none = open_terminal({"backend": "none"})
    assert isinstance(none, NoTerminal)
    assert none.debit(100).outcome == "error"
    assert isinstance(open_terminal({}), NoTerminal)
    real = open_terminal({"backend": "concert", "port": "/dev/does-not-exist-tpe", "ack_timeout": 0.2})
    assert isinstance(real, ConcertTerminal) and real.timeouts.ack == 0.2
    assert real.debit(100).outcome == "error"
    simulated = open_terminal(
        {"backend": "simulated", "mode": "refused", "think_time": 0, "answer_timeout": 2}
    )
    try:
        assert simulated.debit(100).outcome == "refused"
    finally:
        simulated.close()


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"backend": "ingenico"}, "backend"),
        ({"backend": "concert", "baudrate": 9601}, "baudrate"),
        ({"backend": "concert", "port": ""}, "port"),
        ({"backend": "concert", "parity": "X"}, "parity"),
        ({"backend": "concert", "bytesize": 6}, "bytesize"),
        ({"backend": "simulated", "mode": "broken"}, "mode"),
        ({"backend": "concert", "answer_timeout": -1}, "answer_timeout"),
        ({"backend": "concert", "ack_timeout": True}, "ack_timeout"),
        ({"backend": "concert", "speed": 9600}, "speed"),
    ],
)
def test_bad_configuration_names_the_key(cfg, key):
    with pytest.raises(ValueError, match=f"« {key} »"):
        open_terminal(cfg)
