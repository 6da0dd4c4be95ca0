"""Scale: the real SerialScale talking 8217 over a pty to a SimulatedScale, decoding, and pricing."""

import inspect
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scale import (
    NEGATIVE_MESSAGE,
    NO_SCALE_MESSAGE,
    OVERLOAD_MESSAGE,
    UNREACHABLE_MESSAGE,
    UNREADABLE_MESSAGE,
    UNSTABLE_MESSAGE,
    ZERO_RANGE_MESSAGE,
    ZERO_REFUSED_MESSAGE,
    NoScale,
    ScaleError,
    SerialScale,
    SimulatedScale,
    WeightReading,
    decode,
    open_scale,
    price_for_weight,
    simulated_scale,
)

FAST = {"answer_timeout_ms": 200, "interval_ms": 10}


@pytest.fixture
def peer():
    with SimulatedScale() as scale:
        yield scale


def connect(peer: SimulatedScale, **timing) -> SerialScale:
    # A pty stays 8 bits wide whatever is asked: 8N1 on it, the bytes are the same as 7E1 ASCII.
    return SerialScale(peer.port, bytesize=8, parity="N", **{**FAST, **timing})


@pytest.fixture
def scale(peer):
    scale = connect(peer)
    yield scale
    scale.close()


def expect_error(scale: SerialScale, message: str, zero: bool = False) -> None:
    with pytest.raises(ScaleError) as raised:
        scale.zero() if zero else scale.read_weight()
    assert raised.value.message == message


# --- weighing over the pty ------------------------------------------------------------------------------


def test_stable_reading(peer, scale):
    peer.set(kg=Decimal("0.345"))
    assert scale.read_weight() == WeightReading(Decimal("0.345"), stable=True)
    peer.set(kg=Decimal("12.005"))
    reading = scale.read_weight()
    assert reading.kg == Decimal("12.005") and str(reading.kg) == "12.005"
    assert peer.commands == [b"W", b"W"]


def test_motion_then_stable_asks_again(peer, scale):
    peer.set(kg=Decimal("1.250"), state="motion-then-stable", motion_answers=3)
    assert scale.read_weight() == WeightReading(Decimal("1.250"), stable=True)
    assert peer.commands == [b"W"] * 4


def test_motion_that_never_settles_is_unstable(peer):
    scale = connect(peer, tries=4)
    peer.set(kg=Decimal("1.250"), state="motion")
    expect_error(scale, UNSTABLE_MESSAGE)
    assert peer.commands == [b"W"] * 4
    scale.close()


def test_motion_timeout_stops_before_the_tries(peer):
    scale = connect(peer, tries=50, interval_ms=40, motion_timeout_ms=150)
    peer.set(state="motion")
    started = time.monotonic()
    expect_error(scale, UNSTABLE_MESSAGE)
    assert time.monotonic() - started < 1
    assert 1 <= len(peer.commands) <= 10  # stopped by the time limit, long before 50 tries
    scale.close()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("overload", "Balance en surcharge : retirez l'article."),
        ("negative", "Poids négatif : remettez la balance à zéro."),
    ],
)
def test_overload_and_negative_are_reported_at_once(peer, scale, state, message):
    peer.set(kg=Decimal("1.000"), state=state)
    expect_error(scale, message)
    assert peer.commands == [b"W"]  # no point asking again


def test_silent_scale_is_unreachable(peer, scale):
    peer.set(state="silent")
    started = time.monotonic()
    expect_error(scale, "Balance injoignable : vérifiez le câble.")
    assert time.monotonic() - started < 1.5
    assert peer.commands == [b"W", b"W"]  # asked twice: a command can be lost on the line
    peer.set(state="stable", kg=Decimal("0.500"))
    assert scale.read_weight().kg == Decimal("0.500")  # and it recovers when the scale answers


def test_commands_are_paced(peer):
    scale = connect(peer, interval_ms=120)
    scale.read_weight()
    started = time.monotonic()
    scale.read_weight()
    assert time.monotonic() - started >= 0.1
    scale.close()


def test_zero(peer, scale):
    peer.set(state="negative")
    expect_error(scale, NEGATIVE_MESSAGE)
    scale.zero()
    assert scale.read_weight().kg == Decimal("0.000")
    peer.set(kg=Decimal("0.120"))
    scale.zero()  # within the zero capture range
    assert scale.read_weight().kg == Decimal("0.000")
    assert peer.commands == [b"W", b"Z", b"W", b"Z", b"W"]


@pytest.mark.parametrize(
    ("kg", "state", "message"),
    [
        ("2.000", "stable", ZERO_REFUSED_MESSAGE),  # an article on the platter
        ("0.100", "motion", ZERO_REFUSED_MESSAGE),
        ("0.100", "overload", OVERLOAD_MESSAGE),
        ("0.100", "silent", UNREACHABLE_MESSAGE),
    ],
)
def test_zero_refused(peer, scale, kg, state, message):
    peer.set(kg=Decimal(kg), state=state)
    expect_error(scale, message, zero=True)


def test_reopens_after_a_port_error(peer, scale):
    scale._port.close()  # the USB adapter went away under pyserial
    expect_error(scale, UNREACHABLE_MESSAGE)
    peer.set(kg=Decimal("0.750"))
    assert scale.read_weight().kg == Decimal("0.750")


def test_missing_port_is_unreachable(tmp_path):
    with pytest.raises(ScaleError) as raised:
        SerialScale(str(tmp_path / "ttyUSB0"))
    assert raised.value.message == UNREACHABLE_MESSAGE


def test_8217_line_defaults():
    defaults = {
        name: p.default
        for name, p in inspect.signature(SerialScale).parameters.items()
        if p.default is not p.empty
    }
    assert (defaults["baudrate"], defaults["bytesize"], defaults["parity"], defaults["stopbits"]) == (
        9600,
        7,
        "E",
        1,
    )
    assert defaults["interval_ms"] == 200  # the 8217 wants 200 ms between commands


# --- decoding -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        (b"01.234", Decimal("1.234")),
        (b"00.000", Decimal("0.000")),
        (b"12.50", Decimal("12.500")),
        (b"01.2345", Decimal("1.235")),  # high resolution, rounded half up to the gram
        (b"00.350N", Decimal("0.350")),  # net weight
        (b"01234", Decimal("1.234")),  # five digits: grams
        (b"?@", 0),
        (b"?A", 0x01),
        (b"?B", 0x02),
        (b"?D", 0x04),
        (b"?X", 0x18),
    ],
)
def test_decode(answer, value):
    decoded = decode(answer)
    assert decoded == value and type(decoded) is type(value)


@pytest.mark.parametrize("answer", [b"", b"abc", b"-0.500", b"1234", b"?", b"?AB", b"1.2.3"])
def test_decode_refuses_garbage(answer):
    with pytest.raises(ScaleError) as raised:
        decode(answer)
    assert raised.value.message == UNREADABLE_MESSAGE


class ScriptedPort:
    """A serial-like object answering each command with the next scripted bytes."""

    def __init__(self, *answers: bytes):
        self.answers = list(answers)
        self.sent: list[bytes] = []
        self.timeout = None

    def write(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reset_input_buffer(self) -> None:
        pass


def test_parity_bit_is_masked_and_noise_before_stx_skipped():
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in b"\x0201.234\r")  # 7E1 seen as 8N1
    port = ScriptedPort(b"\x00" + with_parity)
    scale = SerialScale(port, interval_ms=0)
    assert port.timeout == 0.5  # pyserial's timeout, in seconds
    assert scale.read_weight().kg == Decimal("1.234")


@pytest.mark.parametrize("answer", [b"\x0201.2", b"01.234\r", b"\x02??\r"])
def test_partial_or_garbled_answer_is_unreadable(answer):
    expect_error(SerialScale(ScriptedPort(answer), interval_ms=0), UNREADABLE_MESSAGE)


def test_other_status_bits():
    expect_error(SerialScale(ScriptedPort(b"\x02?H\r"), interval_ms=0), ZERO_RANGE_MESSAGE)
    expect_error(SerialScale(ScriptedPort(b"\x02?F\r"), interval_ms=0), OVERLOAD_MESSAGE)  # over beats under
    with pytest.raises(ScaleError, match="0x50"):
        SerialScale(ScriptedPort(b"\x02?P\r"), interval_ms=0).read_weight()  # centre of zero but no weight


def test_port_errors_are_unreachable():
    expect_error(SerialScale(ScriptedPort(OSError("EIO")), interval_ms=0), UNREACHABLE_MESSAGE)


def test_invalid_settings():
    with pytest.raises(ValueError):
        SerialScale(ScriptedPort(), parity="X")
    with pytest.raises(ValueError):
        SerialScale(ScriptedPort(), tries=0)
    with pytest.raises(ValueError):
        SerialScale(ScriptedPort(), answer_timeout_ms=500.0)  # type: ignore[arg-type]


# --- price ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "kg", "cents"),
    [
        (1299, "0.345", 448),  # 448.155
        (1250, "0.347", 434),  # 433.75
        (1012, "0.125", 127),  # 126.5: half up, not half even
        (1004, "0.125", 126),  # 125.5
        (2000, "1.000", 2000),
        (0, "2.500", 0),
        (1500, "0.000", 0),
    ],
)
def test_price_for_weight(unit, kg, cents):
    assert price_for_weight(unit, Decimal(kg)) == cents


@given(st.integers(0, 1_000_000), st.integers(0, 99_999))
def test_price_for_weight_is_integer_half_up(unit, grams):
    assert price_for_weight(unit, Decimal(grams) / 1000) == (unit * grams * 2 + 1000) // 2000


def test_price_for_weight_refuses_floats_and_negatives():
    with pytest.raises(TypeError):
        price_for_weight(1299, 0.345)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        price_for_weight(12.99, Decimal("0.345"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        price_for_weight(True, Decimal("1"))
    with pytest.raises(ValueError):
        price_for_weight(1299, Decimal("-0.100"))


# --- the simulated peer and configuration ---------------------------------------------------------------


def test_simulated_peer_validation():
    with SimulatedScale() as peer:
        with pytest.raises(ValueError):
            peer.set(state="flying")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            peer.set(kg=Decimal("-1"))


def test_simulated_scale_factory():
    scale = simulated_scale(Decimal("2.000"), "motion-then-stable", motion_answers=1, **FAST)
    assert scale.read_weight().kg == Decimal("2.000")
    assert scale.peer.commands == [b"W", b"W"]
    peer = scale.peer
    scale.close()
    assert peer._closed


def test_open_scale_backends(peer, tmp_path):
    assert isinstance(open_scale({"backend": "none"}), NoScale)
    nothing = open_scale({})  # auto without a port: no scale, never a simulated one
    assert isinstance(nothing, NoScale)
    with pytest.raises(ScaleError) as raised:
        nothing.read_weight()
    assert raised.value.message == NO_SCALE_MESSAGE

    simulated = open_scale({"backend": "simulated", "simulated_kg": "1.230", "interval_ms": 0})
    assert isinstance(simulated, SerialScale) and simulated.peer is not None
    assert simulated.read_weight().kg == Decimal("1.230")
    simulated.close()

    real = open_scale({"backend": "auto", "port": peer.port, "bytesize": 8, "parity": "N", **FAST})
    assert isinstance(real, SerialScale) and real.port_name == peer.port
    peer.set(kg=Decimal("0.042"))
    assert real.read_weight().kg == Decimal("0.042")
    real.close()

    with pytest.raises(ScaleError, match="injoignable"):
        open_scale({"backend": "serial", "port": str(tmp_path / "ttyUSB0")})
    with pytest.raises(ScaleError, match="injoignable"):
        open_scale({"backend": "auto", "port": str(tmp_path / "ttyUSB0")})


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"backend": "usb"}, "backend"),
        ({"backend": "serial"}, "port"),
        ({"backend": "serial", "port": ""}, "port"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "baudrate": 115200}, "baudrate"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "bytesize": 6}, "bytesize"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "parity": "e"}, "parity"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "stopbits": True}, "stopbits"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "answer_timeout_ms": 0.5}, "answer_timeout_ms"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "tries": 0}, "tries"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "motion_timeout_ms": -1}, "motion_timeout_ms"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "interval_ms": "200"}, "interval_ms"),
        ({"backend": "simulated", "simulated_kg": 0.35}, "simulated_kg"),
        ({"backend": "simulated", "simulated_kg": "0.3456"}, "simulated_kg"),
        ({"backend": "simulated", "simulated_kg": "lourd"}, "simulated_kg"),
        ({"backend": "none", "unit": "lb"}, "unit"),
    ],
)
def test_open_scale_names_the_bad_key(cfg, key):
    with pytest.raises(ScaleError, match=f"« {key} »"):
        open_scale(cfg)
