"""Receipt rendering (golden ESC/POS bytes), preview, and the printer backends."""

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from escpos.escpos import Escpos
from escpos.printer import Dummy
from PIL import Image

from drivers.printer import (
    DEFAULT_PROFILE,
    MODELS,
    PROFILES,
    TRANSPORTS,
    Barcode,
    Columns,
    EscposPrinter,
    Feed,
    Logo,
    PaperOut,
    PrinterOffline,
    PrinterProfile,
    QRCode,
    Rule,
    SimulatedPrinter,
    Text,
    fold,
    kick_bytes,
    open_printer,
    preview,
    render,
)
from drivers.printer.transports import Transport, transport

ESC, GS, DLE, EOT = b"\x1b", b"\x1d", b"\x10", b"\x04"
CP858_SELECT = ESC + b"t\x13"  # ESC t 19: CP858 in the python-escpos "default" and Epson profiles
CUT = ESC + b"d\x06" + GS + b"V\x00"
KICK_PIN2 = ESC + b"p\x00\x32\x32"
NARROW = PROFILES["generic-58mm"]
WIDE = PROFILES["generic-80mm"]


# --- rendering ------------------------------------------------------------------------------------------


def test_golden_bytes():
    doc = [Text("Crème brûlée 12,50 €", bold=True), Columns("Café", "2,00 €"), Text("Merci", align="center")]
    assert render(doc, WIDE) == (
        ESC + b"@"
        + CP858_SELECT
        + ESC + b"E\x01" + b"Cr\x8ame br\x96l\x82e 12,50 \xd5\n"
        + ESC + b"E\x00" + b"Caf\x82" + b" " * 32 + b"2,00 \xd5\n"
        + ESC + b"a\x01" + b"Merci\n"
        + CUT
    )  # fmt: skip


@pytest.mark.parametrize(
    ("char", "byte"),
    [("€", 0xD5), ("é", 0x82), ("à", 0x85), ("ç", 0x87), ("è", 0x8A), ("ê", 0x88), ("ô", 0x93), ("û", 0x96)]
    + [("î", 0x8C), ("É", 0x90), ("«", 0xAE), ("»", 0xAF)],
)
def test_cp858_bytes(char, byte):
    out = render([Text(f"<{char}>")])
    assert b"<" + bytes([byte]) + b">" in out


def test_one_code_page_for_the_whole_receipt():
    doc = [
        Text("ÉPICERIE DU MARCHÉ", align="center", bold=True, double=True),
        Text("Œufs frais « plein air » – 3,20 €"),
        Columns("Pâté de campagne", "12,50 €"),
        Text("Ελληνικά Ω ☕ 😀 – ça marche"),  # nothing here should make python-escpos switch code page
        Rule("="),
        Barcode("T01-000042"),
        QRCode("https://example.fr/t/T01-000042"),
    ]
    out = render(doc, PROFILES["epson-80mm"])
    assert out.count(ESC + b"t") == 1
    assert out.startswith(ESC + b"@" + CP858_SELECT)
    assert out.endswith(GS + b"V\x00")


def test_bold_and_double_sequences():
    out = render([Text("TOTAL", bold=True, double=True), Text("fin")])
    normal = ESC + b"!\x00"
    assert out == (
        ESC + b"@" + CP858_SELECT
        + normal * 2 + ESC + b"!0"  # python-escpos: ESC ! 0, then ESC ! 0x30 (double width and height)
        + ESC + b"E\x01"  # after ESC !, which clears bold
        + b"TOTAL\n"
        + normal * 3  # back to normal size, which also ends bold
        + b"fin\n"
        + CUT
    )  # fmt: skip


def test_bold_off_after_bold_block():
    out = render([Text("gras", bold=True), Text("normal")])
    assert out.index(ESC + b"E\x01") < out.index(b"gras") < out.index(ESC + b"E\x00") < out.index(b"normal")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Œuf cœur", "OEuf coeur"),
        ("l’été “chaud”", 'l\'été "chaud"'),
        ("1\u202f234,56\u00a0€", "1 234,56 €"),
        ("a – b — c…", "a - b - c..."),
        ("e\u0301te\u0301", "été"),  # decomposed accents, as typed on some keyboards
        ("ŷ Ÿ ™", "y Y TM"),
        ("☕", "?"),
        ("a\x1b@b\tc", "a @b c"),  # no command injection from catalogue text
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_control_characters_cannot_inject_commands():
    out = render([Text("Produit\x1b@\x1dV\x00")])
    assert out.count(ESC + b"@") == 1
    assert out.count(GS + b"V") == 1


def test_unencodable_text_never_becomes_garbage():
    out = render([Text("l’œuf\u202f: 1\u00a0€")])
    assert b"l'oeuf : 1 \xd5\n" in out


def test_wrapping_to_32_and_42_columns():
    text = "Pain de campagne au levain naturel, cuit au feu de bois chaque matin par nos boulangers"
    for profile in (NARROW, WIDE):
        lines = preview([Text(text)], profile).split("\n")
        assert lines == textwrap.wrap(text, profile.columns)
        out = render([Text(text)], profile)
        for line in lines:
            assert line.encode("cp858") + b"\n" in out


def test_double_text_counts_twice():
    lines = preview([Text("TOTAL A PAYER 1 234,56 EUR", double=True)], NARROW).split("\n")
    assert lines == ["TOTAL A PAYER 1", "234,56 EUR"]
    assert all(len(line) <= NARROW.columns // 2 for line in lines)


def test_amounts_are_not_split_at_their_no_break_spaces():
    text = "Montant total de vos achats : 1\u202f234,56\u00a0€"
    assert preview([Text(text)], NARROW).split("\n") == ["Montant total de vos achats :", "1 234,56 €"]


def test_columns_truncate_left_and_keep_right():
    line = preview([Columns("Pain au chocolat aux amandes grillées", "12,50 €")], NARROW)
    assert line == "Pain au chocolat aux ama 12,50 €"
    assert len(line) == NARROW.columns
    assert preview([Columns("Café", "2,00 €")], NARROW) == "Café" + " " * 22 + "2,00 €"


def test_barcode_and_qr_are_native_and_quiet(capsys):
    out = render([Barcode("T01-000042"), QRCode("https://example.fr/t/1", size=5)])
    assert GS + b"kI\x0c{BT01-000042" in out  # CODE128, code set B, drawn by the printer
    assert GS + b"(k\x03\x001C\x05" in out  # QR module size
    assert b"1P0https://example.fr/t/1" in out  # QR data stored natively, not as an image
    assert capsys.readouterr().out == ""  # python-escpos prints its renderer choice; not on our terminal


def test_invalid_barcode_is_refused():
    with pytest.raises(ValueError, match="EAN13"):
        render([Barcode("12AB", kind="EAN13")])


def test_preview():
    doc = [
        Text("Boulangerie", align="center", bold=True),
        Rule(),
        Columns("Baguette", "1,20 €"),
        Feed(1),
        Text("Merci !", align="right"),
        Barcode("T01-7"),
        QRCode("T01-7"),
    ]
    assert preview(doc, NARROW) == "\n".join(
        [
            "          Boulangerie",
            "-" * 32,
            "Baguette" + " " * 18 + "1,20 €",
            "",
            " " * 25 + "Merci !",
            "         ||| T01-7 |||",
            "           [QR T01-7]",
        ]
    )


def test_block_validation():
    with pytest.raises(ValueError):
        Text("x", align="justify")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Rule("-=")
    with pytest.raises(ValueError):
        QRCode("x", size=20)
    with pytest.raises(ValueError):
        Barcode("café")


def test_profile_must_have_its_code_page():
    with pytest.raises(ValueError, match="CP858"):
        PrinterProfile("bad", columns=42, escpos_profile="simple")
    assert DEFAULT_PROFILE.codepage == "CP858"


# --- logo -----------------------------------------------------------------------------------------------


def raster(width_bytes: int, height: int, rows: bytes) -> bytes:
    """GS v 0, normal density (m = 0), then xL xH yL yH and the rows, 1 bit per dot, 1 = black."""
    return GS + b"v0\x00" + width_bytes.to_bytes(2, "little") + height.to_bytes(2, "little") + rows


@pytest.fixture
def logo_png(tmp_path):
    """A 16 x 2 black-and-white PNG: row 0 black then white, row 1 white then black."""
    image = Image.new("1", (16, 2), 1)
    for x in range(8):
        image.putpixel((x, 0), 0)
        image.putpixel((8 + x, 1), 0)
    path = tmp_path / "logo.png"
    image.save(path)
    return path


def test_logo_golden_raster(logo_png):
    out = render([Logo(str(logo_png), align="left"), Text("Merci")], WIDE)
    assert out == (
        ESC + b"@" + CP858_SELECT
        + raster(2, 2, b"\xff\x00" + b"\x00\xff")
        + b"Merci\n"
        + CUT
    )  # fmt: skip


def test_logo_is_placed_by_padding_and_left_aligned(logo_png):
    centered = render([Text("Boulangerie", align="center"), Logo(str(logo_png))], NARROW)
    # (384 - 16) / 2 = 184 white dots (23 bytes) on the left; ESC a 0 so the printer does not shift it again
    assert ESC + b"a\x00" + raster(25, 2, bytes(23) + b"\xff\x00" + bytes(23) + b"\x00\xff") in centered
    right = render([Logo(str(logo_png), align="right")], WIDE)
    assert raster(72, 2, bytes(70) + b"\xff\x00" + bytes(70) + b"\x00\xff") in right


def test_a_replaced_logo_file_is_read_again(logo_png):
    before = render([Logo(str(logo_png), align="left")])
    Image.new("1", (8, 1), 0).save(logo_png)
    assert raster(1, 1, b"\xff") in render([Logo(str(logo_png), align="left")]) != before


def test_logo_is_scaled_to_the_printable_width(tmp_path):
    path = tmp_path / "wide.bmp"
    Image.new("L", (1000, 100), 0).save(path)  # black, wider than any paper
    assert (WIDE.dots, NARROW.dots, PROFILES["epson-80mm"].dots) == (576, 384, 512)
    for profile, height in ((WIDE, 58), (NARROW, 38), (PROFILES["epson-80mm"], 51)):
        out = render([Logo(str(path))], profile)
        width_bytes = profile.dots // 8
        assert raster(width_bytes, height, b"\xff" * width_bytes * height) in out


def test_logo_transparency_prints_white_and_bytes_are_deterministic(tmp_path, capsys):
    path = tmp_path / "logo.png"
    image = Image.new("RGBA", (8, 1), (0, 0, 0, 0))  # transparent black: paper
    image.putpixel((0, 0), (0, 0, 0, 255))
    image.save(path)
    out = render([Logo(str(path), align="left")])
    assert raster(1, 1, b"\x80") in out
    assert render([Logo(str(path), align="left")]) == out
    assert capsys.readouterr().out == ""  # python-escpos's remark about the profile's paper width


@pytest.mark.parametrize("content", [None, b"not an image", b""])
def test_unprintable_logo_leaves_the_receipt_whole(tmp_path, caplog, content):
    path = tmp_path / "logo.png"
    if content is not None:
        path.write_bytes(content)
    doc = [Text("Boulangerie", align="center"), Columns("Baguette", "1,20 €"), Barcode("T01-7")]
    out = render([Logo(str(path)), *doc], NARROW)
    assert out == render(doc, NARROW)
    assert "logo" in caplog.text and str(path) in caplog.text
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_logo_in_preview(logo_png):
    doc = [Logo(str(logo_png)), Text("Boulangerie", align="center"), Logo("missing.png", align="left")]
    assert preview(doc, NARROW) == "\n".join(["             [logo]", "          Boulangerie", "[logo]"])


def test_logo_and_dots_validation():
    with pytest.raises(ValueError):
        Logo("logo.png", align="top")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="512"):
        PrinterProfile("epson", columns=42, escpos_profile="TM-T88V", dots=576)
    assert PrinterProfile("custom", columns=42).dots == 576


# --- simulated printer ----------------------------------------------------------------------------------


def test_simulated_printer_writes_numbered_jobs(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.print_bytes(b"one")
    printer.print_bytes(b"two")
    assert (tmp_path / "000001.bin").read_bytes() == b"one"
    assert (tmp_path / "000002.bin").read_bytes() == b"two"
    assert printer.jobs == 2
    assert printer.last_bytes == b"two"
    assert printer.last_path == tmp_path / "000002.bin"


def test_simulated_numbering_survives_restart(tmp_path):
    SimulatedPrinter(tmp_path).print_bytes(b"a")
    (tmp_path / "notes.txt").write_text("not a job")
    (tmp_path / "000007.bin").write_bytes(b"older job")
    again = SimulatedPrinter(tmp_path)
    again.print_bytes(b"b")
    assert (tmp_path / "000008.bin").read_bytes() == b"b"
    assert again.jobs == 1


def test_simulated_paper_out_and_offline_write_nothing(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.paper = "out"
    with pytest.raises(PaperOut, match="papier") as raised:
        printer.print_bytes(b"x")
    assert "rouleau" in raised.value.message
    printer.paper = "ok"
    printer.online = False
    with pytest.raises(PrinterOffline, match="allumée"):
        printer.print_bytes(b"x")
    assert list(tmp_path.iterdir()) == []
    assert printer.jobs == 0 and printer.last_bytes is None
    printer.online = True
    printer.print_bytes(b"x")
    assert (tmp_path / "000001.bin").exists()


def test_simulated_status(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    assert (printer.status().online, printer.status().paper) == (True, "ok")
    printer.paper = "near_end"
    assert printer.status().paper == "near_end"
    assert "rouleau" in printer.status().message
    printer.online = False
    assert printer.status().online is False
    assert "hors ligne" in printer.status().message


def test_simulated_kick_drawer(tmp_path):
    printer = SimulatedPrinter(tmp_path)
    printer.kick_drawer()
    printer.kick_drawer(5)
    assert printer.kicks == 2
    assert (tmp_path / "drawer.log").read_bytes() == KICK_PIN2 + ESC + b"p\x01\x32\x32"
    assert printer.jobs == 0
    with pytest.raises(ValueError):
        printer.kick_drawer(3)


# --- real backend over python-escpos transports ---------------------------------------------------------


class ScriptedPrinter(Escpos):
    """A python-escpos transport that answers DLE EOT queries from a script and can fail."""

    def __init__(self, online_byte: int | None = 0x12, paper_byte: int | None = 0x12):
        super().__init__()
        self.answers = {DLE + EOT + b"\x01": online_byte, DLE + EOT + b"\x04": paper_byte}
        self.sent: list[bytes] = []
        self.fail = False
        self.opened = 0
        self._pending: int | None = None

    def open(self):
        if self.fail:
            raise OSError("unplugged")
        self.opened += 1

    def _raw(self, msg):
        if self.fail:
            raise OSError("unplugged")
        if msg in self.answers:
            self._pending = self.answers[msg]
        else:
            self.sent.append(msg)

    def _read(self):
        answer, self._pending = self._pending, None
        return b"" if answer is None else bytes([answer])


def test_escpos_printer_sends_bytes_and_kicks():
    dummy = Dummy()
    printer = EscposPrinter(dummy, NARROW)
    data = render([Text("Crème")], NARROW)
    printer.print_bytes(data)
    printer.kick_drawer()
    assert dummy.output == data + KICK_PIN2
    assert printer.status().paper == "unknown"  # a Dummy cannot answer status queries


@pytest.mark.parametrize(
    ("online_byte", "paper_byte", "online", "paper"),
    [
        (0x12, 0x12, True, "ok"),
        (0x12, 0x1E, True, "near_end"),
        (0x1A, 0x72, False, "out"),
        (0x1A, 0x12, False, "ok"),
        (None, None, True, "unknown"),  # silence is not "offline" (python-escpos's is_online says so)
        (0x12, None, True, "unknown"),
    ],
)
def test_escpos_printer_status(online_byte, paper_byte, online, paper):
    status = EscposPrinter(ScriptedPrinter(online_byte, paper_byte)).status()
    assert (status.online, status.paper) == (online, paper)
    assert status.message


def test_escpos_printer_paper_out_sends_nothing():
    device = ScriptedPrinter(paper_byte=0x72)
    with pytest.raises(PaperOut):
        EscposPrinter(device).print_bytes(b"ticket")
    assert device.sent == []


def test_escpos_printer_maps_transport_errors_and_reconnects():
    device = ScriptedPrinter()
    printer = EscposPrinter(device)
    printer.print_bytes(b"1")
    device.fail = True
    with pytest.raises(PrinterOffline, match="allumée et branchée"):
        printer.print_bytes(b"2")
    assert printer.status().online is False
    device.fail = False
    printer.print_bytes(b"3")
    assert device.sent == [b"1", b"3"]
    assert device.opened == 2


def test_file_backend(tmp_path):
    path = tmp_path / "lp0"
    printer = EscposPrinter({"backend": "file", "path": str(path)})
    printer.print_bytes(b"abc")
    printer.kick_drawer()
    printer.close()
    assert path.read_bytes() == b"abc" + KICK_PIN2
    assert (printer.status().online, printer.status().paper) == (True, "unknown")


def test_unreachable_file_backend_is_offline(tmp_path):
    printer = EscposPrinter({"backend": "file", "path": str(tmp_path / "missing" / "lp0")})
    with pytest.raises(PrinterOffline):
        printer.print_bytes(b"x")
    assert printer.status().online is False


# --- configuration --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"backend": "bluetooth"}, "backend"),
        ({"backend": "simulated", "profile": "epson-99mm"}, "profile"),
        ({"backend": "usb", "vendor_id": "zz", "product_id": "0x0202"}, "vendor_id"),
        ({"backend": "usb", "vendor_id": "0x04b8"}, "product_id"),
        ({"backend": "serial"}, "port"),
        ({"backend": "serial", "port": "/dev/ttyUSB0", "baudrate": "fast"}, "baudrate"),
        ({"backend": "network"}, "host"),
        ({"backend": "network", "host": "10.0.0.9", "port": 70000}, "port"),
        ({"backend": "file", "path": ""}, "path"),
        ({"backend": "simulated", "colour": "red"}, "colour"),
        ({"backend": "auto", "host": "10.0.0.9", "path": "/dev/usb/lp0"}, "backend"),
    ],
)
def test_open_printer_names_the_bad_key(tmp_path, cfg, key):
    with pytest.raises(ValueError, match=f"« {key} »"):
        open_printer(cfg, tmp_path)


def test_open_printer_backends(tmp_path):
    simulated = open_printer({"backend": "simulated", "profile": "generic-58mm"}, tmp_path)
    assert isinstance(simulated, SimulatedPrinter)
    assert simulated.out_dir == tmp_path / "printer"
    assert simulated.profile is NARROW
    usb = open_printer({"backend": "usb", "vendor_id": "0x04b8", "product_id": "0x0202"}, tmp_path)
    assert isinstance(usb, EscposPrinter)  # lazy: nothing is opened yet
    assert isinstance(open_printer({"backend": "file", "path": "/dev/usb/lp0"}, tmp_path), EscposPrinter)


def test_open_printer_auto(tmp_path):
    assert isinstance(open_printer({"backend": "auto", "profile": "epson-80mm"}, tmp_path), SimulatedPrinter)
    absent = {"backend": "auto", "path": str(tmp_path / "missing" / "lp0")}
    assert isinstance(open_printer(absent, tmp_path), SimulatedPrinter)
    present = {"backend": "auto", "path": str(tmp_path / "lp0")}
    assert isinstance(open_printer(present, tmp_path), EscposPrinter)


def test_drivers_import_no_ui_nor_domain():
    code = (
        "import sys, drivers.printer, drivers.drawer; "
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


@pytest.mark.parametrize(
    ("cfg", "kind"),
    [
        ({"vendor_id": "0x04b8", "product_id": "0x0202"}, "usb"),  # no such device, or no libusb here
        ({"port": "/dev/no-such-tty"}, "serial"),
        ({"host": "127.0.0.1", "port": 9}, "network"),  # with a host, port is the TCP port
        ({"path": "/no-such-dir/lp0"}, "file"),
    ],
)
def test_auto_tries_the_transport_its_keys_describe(tmp_path, caplog, cfg, kind):
    printer = open_printer({"backend": "auto", **cfg}, tmp_path)
    assert isinstance(printer, SimulatedPrinter)  # none of these devices is there
    assert [r.getMessage().split()[0] for r in caplog.records] == [kind]


def test_open_printer_accepts_exactly_the_transport_keys(tmp_path):
    keys = {key for kind in TRANSPORTS.values() for key in kind.keys}
    assert keys == {"vendor_id", "product_id", "port", "baudrate", "host", "path"}
    with pytest.raises(ValueError, match="« speed »") as refused:
        open_printer({"backend": "simulated", "speed": 9600}, tmp_path)
    assert all(key in str(refused.value) for key in keys)


def test_usb_without_libusb_is_offline_with_a_message():
    checked = transport({"backend": "usb", "vendor_id": "0x04b8", "product_id": "0x0202"})
    printer = EscposPrinter(
        Transport(dataclasses.replace(checked.kind, usable=lambda: False), checked.values)
    )
    with pytest.raises(PrinterOffline, match="libusb"):
        printer.print_bytes(b"x")
    assert "libusb" in printer.status().message


# --- printer models -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "columns", "dots"),
    [
        ("TM-T20II", 48, 576),  # 203 dpi, Font A 12 x 24: 576 / 12 = 48
        ("TM-T88V", 42, 512),  # 180 dpi: the T88 II to V print 42 columns on 512 dots
        ("TM-T88IV", 42, 512),
        ("POS-5890", 32, 384),  # 58 mm
        ("NT-5890K", 32, 384),
        ("epson-80mm", 42, 512),  # earlier names keep printing as they did
        ("generic-80mm", 42, 576),
        ("generic-58mm", 32, 384),
    ],
)
def test_model_sets_columns_and_logo_width(tmp_path, model, columns, dots):
    printer = open_printer({"backend": "simulated", "model": model}, tmp_path)
    assert (printer.profile.columns, printer.profile.dots) == (columns, dots)
    ruler = preview([Rule("="), Columns("Baguette", "1,20 €")], printer.profile).split("\n")
    assert [len(line) for line in ruler] == [columns, columns]
    assert b"=" * columns + b"\n" in render([Rule("=")], printer.profile)
    logo = tmp_path / "wide.png"
    Image.new("L", (1000, 10), 0).save(logo)
    out = render([Logo(str(logo))], printer.profile)
    header = out.index(GS + b"v0\x00") + 4
    assert int.from_bytes(out[header : header + 2], "little") * 8 == dots  # raster width in dots


def test_model_prints_with_the_models_escpos_profile(tmp_path):
    t20 = open_printer({"backend": "simulated", "model": "TM-T20II"}, tmp_path)
    assert t20.profile.escpos_profile == "TM-T20II" and t20.profile.codepage == "CP858"
    assert CP858_SELECT in render([Text("Crème brûlée 2,50 €")], t20.profile)


def test_unknown_model_names_the_key_and_the_models(tmp_path):
    with pytest.raises(ValueError) as refused:
        open_printer({"backend": "simulated", "model": "TM-T99"}, tmp_path)
    message = str(refused.value)
    assert message.startswith("Configuration de l'imprimante : « model » vaut 'TM-T99' ; attendu : un modèle")
    assert all(name in message for name in ("TM-T20II", "TM-T88V", "POS-5890", "epson-80mm", "generic-58mm"))
    assert set(MODELS) < set(PROFILES)
    assert "AF-240" not in MODELS  # a customer display in python-escpos's database, not a printer


def test_old_profile_key_still_chooses_and_wins_over_the_default_model(tmp_path):
    printer = open_printer(
        {"backend": "simulated", "model": "epson-80mm", "profile": "generic-58mm"}, tmp_path
    )
    assert printer.profile.name == "generic-58mm"
    with pytest.raises(ValueError, match="« profile »"):
        open_printer({"backend": "simulated", "profile": "TM-T99"}, tmp_path)


@pytest.mark.parametrize(
    ("pin", "pulse_ms", "expected"),
    [
        (2, 100, b"\x1bp\x00\x32\x32"),
        (5, 100, b"\x1bp\x01\x32\x32"),
        (2, 200, b"\x1bp\x00\x64\x64"),
        (5, 510, b"\x1bp\x01\xff\xff"),
        (2, 2, b"\x1bp\x00\x01\x01"),
        (5, 61, b"\x1bp\x01\x1e\x1e"),
    ],
)
def test_kick_bytes_carry_the_pulse(tmp_path, pin, pulse_ms, expected):
    assert kick_bytes(pin, pulse_ms) == expected
    printer = SimulatedPrinter(tmp_path)
    printer.kick_drawer(pin, pulse_ms)
    assert (tmp_path / "drawer.log").read_bytes() == expected


@pytest.mark.parametrize(("pin", "pulse_ms"), [(2, 0), (2, 1), (5, 511), (2, 2000), (3, 100), (2, True)])
def test_kick_out_of_range_is_refused(pin, pulse_ms):
    with pytest.raises(ValueError):
        kick_bytes(pin, pulse_ms)
