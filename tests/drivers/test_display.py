"""Customer display: golden bytes, folding and layout, the simulated display, and the serial backend
writing to a real pty."""

import os
import select
import subprocess
import sys
import tty
from pathlib import Path

import pytest

from drivers.display import (
    CLEAR,
    DEFAULT_PROFILE,
    INIT,
    PROFILES,
    UNREACHABLE_MESSAGE,
    DisplayError,
    DisplayProfile,
    NoDisplay,
    SerialDisplay,
    SimulatedDisplay,
    change_lines,
    encode,
    fit,
    fold,
    item_lines,
    open_display,
    show_bytes,
    thanks_lines,
    total_lines,
)

ROW1, ROW2 = b"\x1f$\x01\x01", b"\x1f$\x01\x02"
PC858 = PROFILES["epson-pc858"]


class FakePort:
    """A serial-like object that records what is written and can fail."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.fail = False

    def write(self, data: bytes) -> int:
        if self.fail:
            raise OSError("unplugged")
        self.written += data
        return len(data)


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def read_exactly(fd: int, count: int, timeout_ms: int = 2000) -> bytes:
    data = b""
    while len(data) < count:
        ready, _, _ = select.select([fd], [], [], timeout_ms / 1000)
        if not ready:
            break
        data += os.read(fd, count - len(data))
    return data


# --- bytes ----------------------------------------------------------------------------------------------


def test_golden_show_bytes():
    assert show_bytes("Crème brûlée", "12,50 €") == (
        ROW1 + b"Creme brulee" + b" " * 8
        + ROW2 + b"12,50 EUR" + b" " * 11
    )  # fmt: skip


def test_golden_show_bytes_with_a_euro_code_page():
    assert show_bytes("Café", "2,00 €", PC858) == ROW1 + b"Cafe" + b" " * 16 + ROW2 + b"2,00 \xd5" + b" " * 14
    assert PC858.setup == b"\x1bt\x13"  # ESC t 19: PC858, where the euro sign is 0xD5


def test_serial_display_initializes_then_shows_and_clears():
    port = FakePort()
    display = SerialDisplay(port)
    assert bytes(port.written) == INIT == b"\x1b@"
    display.show("Baguette", "1,20 €")
    display.clear()
    assert bytes(port.written) == INIT + show_bytes("Baguette", "1,20 €") + CLEAR
    assert CLEAR == b"\x0c"
    epson = FakePort()
    SerialDisplay(epson, profile=PC858)
    assert bytes(epson.written) == b"\x1b@\x1bt\x13"


# --- folding and layout ---------------------------------------------------------------------------------


def test_folding_a_french_label():
    assert fold("Crème brûlée 12,50 €") == "Creme brulee 12,50 EUR"
    assert (
        fold("Crème brûlée 12,50 €", PC858) == "Creme brulee 12,50 €"
    )  # accents are folded in every profile
    assert encode("Crème brûlée 12,50 €", PC858) == b"Creme brulee 12,50 \xd5"
    assert fit("Crème brûlée 12,50 €") == "Creme brulee 12,50 E"  # 22 columns: the last two are cut


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Œuf cœur", "OEuf coeur"),
        ("l’été “chaud”", 'l\'ete "chaud"'),
        ("« Noël »", '" Noel "'),
        ("1\u202f234,56\u00a0€", "1 234,56 EUR"),
        ("e\u0301te\u0301", "ete"),  # decomposed accents
        ("ÀÉÈÊËÎÏÔÙÛÜŸÇ", "AEEEEIIOUUUYC"),
        ("a – b — c…", "a - b - c..."),
        ("☕", "?"),
        ("a\x1b@b\tc\nd", "a @b c d"),  # catalogue text cannot inject display commands
        ("zéro\u200blargeur", "zerolargeur"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded
    assert fold(folded) == folded  # idempotent
    assert all(" " <= char <= "~" for char in fold(text))


def test_lines_are_exactly_20_columns():
    long = "Pain de campagne au levain naturel"
    assert fit(long) == "Pain de campagne au "
    assert fit("") == " " * 20
    assert fit("Pain") == "Pain" + " " * 16
    for line in show_bytes(long, long).split(b"\x1f$")[1:]:
        assert len(line) == 2 + 20


def test_layout_helpers():
    assert item_lines("Pain au chocolat aux amandes", "1,20 €") == (
        "Pain au chocolat aux",
        " " * 12 + "1,20 EUR",
    )
    assert total_lines("12,50\u00a0€") == ("Total" + " " * 15, " " * 11 + "12,50 EUR")
    assert change_lines("7,50 €") == ("Rendu" + " " * 15, " " * 12 + "7,50 EUR")
    assert thanks_lines("Épicerie du Marché") == (
        "Merci, a bientot !".center(20),
        "Epicerie du Marche".center(20),
    )
    assert thanks_lines("Épicerie-Boulangerie du Marché")[1] == "Epicerie-Boulangerie"
    assert total_lines("12,50 €", PC858)[1] == " " * 13 + "12,50 €"
    # a helper's output goes through show() unchanged
    assert (
        show_bytes(*item_lines("Crème", "3,00 €"))
        == ROW1 + fit("Creme").encode() + ROW2 + b" " * 12 + b"3,00 EUR"
    )


def test_profile_validation():
    with pytest.raises(ValueError):
        DisplayProfile("tiny", columns=4)
    with pytest.raises(ValueError):
        DisplayProfile("bad-euro", euro=b"E")
    assert DEFAULT_PROFILE.columns == 20 and DEFAULT_PROFILE.euro is None


# --- simulated display ----------------------------------------------------------------------------------


def test_simulated_display_keeps_lines_and_history():
    display = SimulatedDisplay()
    assert display.lines == (" " * 20, " " * 20)
    display.show(*item_lines("Crème brûlée", "4,50 €"))
    display.show(*total_lines("12,50 €"))
    display.clear()
    display.show("Pain de campagne au levain", "")
    assert display.history == [
        ("Creme brulee" + " " * 8, " " * 12 + "4,50 EUR"),
        ("Total" + " " * 15, " " * 11 + "12,50 EUR"),
        (" " * 20, " " * 20),
        ("Pain de campagne au ", " " * 20),
    ]
    assert display.lines == display.history[-1]
    assert display.text == "Pain de campagne au\n"


def test_simulated_display_shows_what_its_profile_would():
    display = SimulatedDisplay(PC858)
    display.show("Total", "12,50 €")
    assert display.lines[1] == "12,50 €" + " " * 13


def test_no_display():
    display = NoDisplay()
    display.show("a", "b")
    display.clear()
    display.close()


# --- the serial backend on a real pty -------------------------------------------------------------------


def test_serial_display_writes_the_bytes_to_the_port(pty_pair):
    master, path = pty_pair
    display = SerialDisplay(path)
    assert display.port_name == path
    display.show("Crème brûlée", "12,50 €")
    display.clear()
    expected = INIT + show_bytes("Crème brûlée", "12,50 €") + CLEAR
    assert read_exactly(master, len(expected)) == expected
    display.close()


def test_serial_display_reopens_and_initializes_again_after_an_error(pty_pair):
    master, path = pty_pair
    display = SerialDisplay(path, baudrate=19200)
    assert read_exactly(master, len(INIT)) == INIT
    display._port.close()  # the adapter went away under pyserial
    with pytest.raises(DisplayError) as raised:
        display.show("perdu", "")
    assert raised.value.message == UNREACHABLE_MESSAGE
    display.show("Total", "3,00 €")
    expected = INIT + show_bytes("Total", "3,00 €")
    assert read_exactly(master, len(expected)) == expected
    display.close()


def test_a_lost_pty_is_unreachable(pty_pair):
    master, path = pty_pair
    display = SerialDisplay(path)
    os.close(master)  # the other end is gone: writes fail with EIO
    with pytest.raises(DisplayError, match="vérifiez le câble"):
        display.show("Total", "3,00 €")
    display.close()


def test_missing_port_is_unreachable(tmp_path):
    with pytest.raises(DisplayError) as raised:
        SerialDisplay(str(tmp_path / "ttyUSB1"))
    assert raised.value.message == (
        "Afficheur client injoignable : vérifiez le câble. La vente continue sans afficheur."
    )
    with pytest.raises(DisplayError, match="La vente continue sans afficheur"):
        open_display({"backend": "serial", "port": str(tmp_path / "ttyUSB1")})


def test_a_failing_caller_port_is_initialized_again():
    port = FakePort()
    display = SerialDisplay(port)
    port.fail = True
    with pytest.raises(DisplayError):
        display.show("a", "b")
    port.fail = False
    display.show("a", "b")
    assert bytes(port.written) == INIT + INIT + show_bytes("a", "b")


# --- configuration --------------------------------------------------------------------------------------


def test_open_display_backends(pty_pair, tmp_path):
    master, path = pty_pair
    assert isinstance(open_display({"backend": "none"}), NoDisplay)
    simulated = open_display({"backend": "simulated", "profile": "epson-pc858"})
    assert isinstance(simulated, SimulatedDisplay) and simulated.profile is PC858
    assert isinstance(open_display({}), SimulatedDisplay)  # auto without a port
    assert isinstance(open_display({"backend": "auto", "port": str(tmp_path / "ttyUSB1")}), SimulatedDisplay)
    real = open_display({"backend": "auto", "port": path, "baudrate": 9600})
    assert isinstance(real, SerialDisplay) and real.port_name == path
    real.close()
    serial_display = open_display({"backend": "serial", "port": path, "profile": "generic"})
    assert isinstance(serial_display, SerialDisplay)
    serial_display.close()


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"backend": "usb"}, "backend"),
        ({"backend": "serial"}, "port"),
        ({"backend": "serial", "port": ""}, "port"),
        ({"backend": "serial", "port": 1}, "port"),
        ({"backend": "serial", "port": "/dev/ttyUSB1", "baudrate": "9600"}, "baudrate"),
        ({"backend": "serial", "port": "/dev/ttyUSB1", "baudrate": 1234}, "baudrate"),
        ({"backend": "simulated", "profile": "epson-99"}, "profile"),
        ({"backend": "simulated", "colour": "green"}, "colour"),
    ],
)
def test_open_display_names_the_bad_key(cfg, key):
    with pytest.raises(DisplayError, match=f"« {key} »"):
        open_display(cfg)


def test_open_display_wants_a_table():
    with pytest.raises(DisplayError, match="table"):
        open_display(["serial"])  # type: ignore[arg-type]


def test_display_and_scale_import_no_ui_nor_domain():
    code = (
        "import sys, drivers.display, drivers.scale; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kiosk', 'fiscal')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.stdout.strip() == "[]"
