"""Keyboard-wedge scanners: layouts, the decoder, the reader thread and its hotplug, all on synthetic events
(no /dev/uinput here): `evdev.InputEvent`s built by hand, and fake devices made of pipes."""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
from evdev import InputEvent
from evdev import ecodes as e

from drivers.keymaps import DIGIT_ROW, FR, US, get_keymap
from drivers.scanner import (
    DeviceFinder,
    DeviceLost,
    NoScanner,
    PipeDevice,
    ScanDecoder,
    ScanError,
    ScannerReader,
    ScanResult,
    SimulatedScanner,
    WrongLayout,
    open_scanners,
    scan_events,
)

EAN = "3017620422003"
DIGIT_KEYS = dict(zip("1234567890", DIGIT_ROW, strict=True))


class Typist:
    """Builds the events a keyboard sends, 1 ms apart, the way the kernel reports them."""

    def __init__(self, start_us: int = 1_700_000_000_000_000):
        self.clock_us = start_us
        self.events: list[InputEvent] = []

    def wait(self, ms: int) -> Typist:
        self.clock_us += ms * 1000
        return self

    def key(self, code: int, value: int) -> Typist:
        sec, usec = divmod(self.clock_us, 1_000_000)
        self.events.append(InputEvent(sec, usec, e.EV_KEY, code, value))
        self.events.append(InputEvent(sec, usec, e.EV_SYN, e.SYN_REPORT, 0))
        self.clock_us += 1000
        return self

    def tap(self, *codes: int) -> Typist:
        """Press the keys in order, release them in reverse: tap(KEY_LEFTSHIFT, KEY_1) is Shift+1."""
        for code in codes:
            self.key(code, 1)
        for code in reversed(codes):
            self.key(code, 0)
        return self

    def digits(self, text: str, *held: int) -> Typist:
        for digit in text:
            self.tap(*held, DIGIT_KEYS[digit])
        return self

    def enter(self) -> Typist:
        return self.tap(e.KEY_ENTER)


def decode(events: list[InputEvent], decoder: ScanDecoder | None = None) -> list[ScanResult]:
    decoder = decoder or ScanDecoder("fr")
    return [result for event in events if (result := decoder.feed(event)) is not None]


def codes(results: list[ScanResult]) -> list[str | None]:
    return [result.code for result in results]


# --------------------------------------------------------------------------------------------------------
# Layouts and the decoder


def test_azerty_digits_are_shifted_digit_row_keys():
    events = Typist().digits(EAN, e.KEY_LEFTSHIFT).enter().events
    assert codes(decode(events, ScanDecoder("fr"))) == [EAN]


def test_azerty_digit_row_without_shift_gives_the_symbols():
    assert [FR.char(FR.strokes(c)[0]) for c in "&é\"'(-è_çà"] == list("&é\"'(-è_çà")
    events = (
        Typist().tap(e.KEY_1).tap(e.KEY_LEFTSHIFT, e.KEY_1).tap(e.KEY_6).digits("2", e.KEY_RIGHTSHIFT).enter()
    )
    assert codes(decode(events.events)) == ["&1-2"]


def test_qwerty_digits_are_plain_digit_row_keys():
    events = Typist().digits(EAN).enter().events
    assert codes(decode(events, ScanDecoder("us"))) == [EAN]


def test_shift_held_over_the_whole_code():
    typist = Typist().key(e.KEY_LEFTSHIFT, 1)
    for digit in "96385074":
        typist.tap(DIGIT_KEYS[digit])
    typist.key(e.KEY_LEFTSHIFT, 0).enter()
    assert codes(decode(typist.events)) == ["96385074"]


def test_azerty_letters_sit_on_other_keys():
    typist = (
        Typist().tap(e.KEY_LEFTSHIFT, e.KEY_Q).tap(e.KEY_W).tap(e.KEY_A).tap(e.KEY_Z).tap(e.KEY_SEMICOLON)
    )
    typist.tap(e.KEY_M).tap(e.KEY_LEFTSHIFT, e.KEY_COMMA).enter()
    assert codes(decode(typist.events)) == ["Azqwm,."]


def test_qwerty_letters():
    typist = Typist().tap(e.KEY_LEFTSHIFT, e.KEY_Q).tap(e.KEY_W).tap(e.KEY_A).tap(e.KEY_SEMICOLON).enter()
    assert codes(decode(typist.events, ScanDecoder("us"))) == ["Qwa;"]


def test_caps_lock_on_azerty_gives_digits_and_capitals_like_windows():
    typist = Typist().tap(e.KEY_CAPSLOCK).digits("42").tap(e.KEY_Q).tap(e.KEY_B)
    typist.tap(e.KEY_LEFTSHIFT, e.KEY_C).tap(e.KEY_LEFTSHIFT, e.KEY_1).tap(e.KEY_6).tap(
        e.KEY_APOSTROPHE
    ).enter()
    assert codes(decode(typist.events)) == ["42ABc&6ù"]


def test_caps_lock_is_toggled_by_each_press_and_stays_between_codes():
    decoder = ScanDecoder("fr")
    first = Typist().tap(e.KEY_CAPSLOCK).tap(e.KEY_Q).enter()
    second = Typist().tap(e.KEY_Q).enter().tap(e.KEY_CAPSLOCK).tap(e.KEY_Q).enter()
    assert codes(decode(first.events + second.events, decoder)) == ["A", "A", "a"]


def test_caps_lock_on_qwerty_leaves_digits_alone():
    typist = Typist().tap(e.KEY_CAPSLOCK).digits("12").tap(e.KEY_A).tap(e.KEY_LEFTSHIFT, e.KEY_B).enter()
    assert codes(decode(typist.events, ScanDecoder("us"))) == ["12Ab"]


def test_altgr_as_right_alt_or_ctrl_left_alt():
    typist = (
        Typist()
        .tap(e.KEY_RIGHTALT, e.KEY_0)
        .tap(e.KEY_LEFTCTRL, e.KEY_LEFTALT, e.KEY_3)
        .tap(e.KEY_RIGHTALT, e.KEY_E)
    )
    typist.enter()
    assert codes(decode(typist.events)) == ["@#€"]


def test_ctrl_or_alt_chords_give_nothing():
    typist = Typist().tap(e.KEY_LEFTCTRL, e.KEY_Q).tap(e.KEY_LEFTALT, e.KEY_Q).tap(e.KEY_Q).enter()
    assert codes(decode(typist.events)) == ["a"]


def test_dead_keys_compose():
    typist = Typist().tap(e.KEY_LEFTBRACE).tap(e.KEY_E).tap(e.KEY_LEFTBRACE).tap(e.KEY_SPACE)
    typist.tap(e.KEY_LEFTSHIFT, e.KEY_LEFTBRACE).tap(e.KEY_Q).tap(e.KEY_LEFTBRACE).tap(e.KEY_1)
    typist.tap(e.KEY_RIGHTALT, e.KEY_2).enter()
    assert codes(decode(typist.events)) == ["ê^ä^&~"]  # ^ then & has no composed form


def test_keypad_digits_read_the_same_in_every_layout():
    for layout in ("fr", "us"):
        typist = Typist().tap(e.KEY_KP4).tap(e.KEY_KP2).tap(e.KEY_KPDOT).tap(e.KEY_KPENTER)
        assert codes(decode(typist.events, ScanDecoder(layout))) == ["42."]


def test_key_repeats_and_releases_add_nothing():
    typist = Typist().key(e.KEY_LEFTSHIFT, 1).key(e.KEY_1, 1).key(e.KEY_1, 2).key(e.KEY_1, 2).key(e.KEY_1, 0)
    typist.key(e.KEY_LEFTSHIFT, 0).enter()
    assert codes(decode(typist.events)) == ["1"]


@pytest.mark.parametrize("layout", ["fr", "us"])
@pytest.mark.parametrize("code", [EAN, "96385074", "ART-001", "Pain_Bio.2", "azerty+QWERTY/42", "x^y~z`w"])
def test_what_a_scanner_types_in_a_layout_reads_back_in_that_layout(layout, code):
    assert codes(decode(scan_events(code, layout), ScanDecoder(layout))) == [code]


def test_characters_a_layout_cannot_type_are_refused():
    with pytest.raises(ValueError, match="cannot be typed"):
        US.strokes("é")


def test_unknown_layout_names_the_choices():
    with pytest.raises(ValueError, match="fr, us"):
        get_keymap("de")


def test_two_scanners_interleaved_keep_their_own_state():
    fr = ScanDecoder("fr", device="caisse")
    us = ScanDecoder("us", device="balance")
    fr_events = Typist().digits(EAN, e.KEY_LEFTSHIFT).tap(e.KEY_Q).enter().events
    us_events = (
        Typist().key(e.KEY_LEFTSHIFT, 1).tap(e.KEY_Q).key(e.KEY_LEFTSHIFT, 0).digits("42").enter().events
    )
    results: list[ScanResult] = []
    for i in range(max(len(fr_events), len(us_events))):
        for decoder, events in ((fr, fr_events), (us, us_events)):
            if i < len(events) and (result := decoder.feed(events[i])) is not None:
                results.append(result)
    assert sorted((r.device, r.code) for r in results) == [("balance", "Q42"), ("caisse", EAN + "a")]


def test_digits_read_through_the_wrong_layout_are_a_configuration_problem():
    [result] = decode(scan_events(EAN, "us"), ScanDecoder("fr", device="Honeywell"))
    assert result.code is None and result.device == "Honeywell"
    assert isinstance(result.error, WrongLayout)
    assert (result.error.configured, result.error.scanner) == ("fr", "us")
    assert "QWERTY" in result.error.message and "devices.scanner.layout" in result.error.message

    [result] = decode(scan_events(EAN, "fr"), ScanDecoder("us"))
    assert isinstance(result.error, WrongLayout)
    assert result.error.scanner == "fr" and "AZERTY" in result.error.message


def test_the_symbols_of_a_misread_ean_are_never_a_code():
    events = Typist().digits(EAN).enter().events  # a QWERTY scanner: plain digit row
    [result] = decode(events, ScanDecoder("fr"))
    assert result.code is None and isinstance(result.error, WrongLayout)


def test_internal_codes_through_the_wrong_layout_are_caught_too():
    [result] = decode(scan_events("AB12", "us"), ScanDecoder("fr"))
    assert isinstance(result.error, WrongLayout)


def test_codes_with_a_few_digit_row_symbols_are_not_mistaken_for_a_wrong_layout():
    assert codes(decode(scan_events("ART-X", "fr"))) == ["ART-X"]
    assert codes(decode(scan_events("12-34", "fr"))) == ["12-34"]


def test_timeout_alone_ends_codes():
    decoder = ScanDecoder("fr", terminators=set(), timeout_ms=50)
    typist = Typist().digits("123", e.KEY_LEFTSHIFT).wait(200).digits("45", e.KEY_LEFTSHIFT)
    assert codes(decode(typist.events, decoder)) == ["123"]  # ended by the first key of the next code
    assert decoder.pending == "45"
    last_s = typist.clock_us / 1_000_000
    assert decoder.expire(last_s + 0.01) is None
    result = decoder.expire(last_s + 0.2)
    assert result is not None and result.code == "45"
    assert decoder.expire(last_s + 1) is None


def test_timeout_also_ends_a_code_whose_enter_was_lost():
    decoder = ScanDecoder("fr", timeout_ms=50)
    typist = Typist().digits("123", e.KEY_LEFTSHIFT).wait(200).digits("45", e.KEY_LEFTSHIFT).enter()
    assert codes(decode(typist.events, decoder)) == ["123", "45"]


def test_tab_ends_codes_only_when_configured():
    events = Typist().digits("12", e.KEY_LEFTSHIFT).tap(e.KEY_TAB).digits("3", e.KEY_LEFTSHIFT).enter().events
    assert codes(decode(events, ScanDecoder("fr"))) == ["123"]
    assert codes(decode(events, ScanDecoder("fr", terminators={"enter", "tab"}))) == ["12", "3"]


def test_empty_codes_are_not_results():
    assert decode(Typist().enter().enter().tap(e.KEY_LEFTSHIFT).enter().events) == []


def test_lost_events_spoil_the_code():
    decoder = ScanDecoder("fr")
    events = Typist().digits("123", e.KEY_LEFTSHIFT).events
    events.append(InputEvent(1, 0, e.EV_SYN, e.SYN_DROPPED, 0))
    events += Typist().digits("45", e.KEY_LEFTSHIFT).enter().digits("6", e.KEY_LEFTSHIFT).enter().events
    results = decode(events, decoder)
    assert results[0].error is not None and "scannez de nouveau" in results[0].error.message
    assert codes(results[1:]) == ["6"]


def test_a_code_without_end_is_reported():
    typist = Typist().digits("1234567890" * 13, e.KEY_LEFTSHIFT)
    [result] = decode(typist.events)
    assert isinstance(result.error, ScanError) and "Entrée" in result.error.message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"layout": "de"},
        {"terminators": {"space"}},
        {"terminators": set()},
        {"terminators": "enter"},
        {"timeout_ms": 0},
    ],
)
def test_bad_decoder_settings(kwargs):
    with pytest.raises(ValueError):
        ScanDecoder(**kwargs)


def test_a_result_is_a_code_or_an_error():
    with pytest.raises(ValueError):
        ScanResult("x")
    with pytest.raises(ValueError):
        ScanResult("x", code="1", error=ScanError("non"))


# --------------------------------------------------------------------------------------------------------
# The reader thread


class FakeDevice:
    """A device made of a pipe: the test types into it, the reader reads it."""

    def __init__(self, name: str, path: str):
        self.name = name
        self.path = path
        self.grabbed = False
        self.closed = False
        self.gone = False
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._queue: list[InputEvent] = []

    def fileno(self) -> int:
        return self._read_fd

    def read(self) -> Iterator[InputEvent]:
        os.read(self._read_fd, 4096)  # BlockingIOError when nothing was typed
        if self.gone:
            raise OSError(errno.ENODEV, "No such device")
        events, self._queue = self._queue, []
        return iter(events)

    def grab(self) -> None:
        self.grabbed = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._read_fd)
            os.close(self._write_fd)

    def type(self, events: list[InputEvent]) -> None:
        self._queue += events
        os.write(self._write_fd, b".")

    def unplug(self) -> None:
        self.gone = True
        os.write(self._write_fd, b".")


class Plugs:
    """A finder whose devices the test plugs in and out."""

    def __init__(self) -> None:
        self.plugged: list[FakeDevice] = []
        self.calls = 0

    def __call__(self, skip: Collection[str]) -> list[FakeDevice]:
        self.calls += 1
        return [d for d in self.plugged if d.path not in skip and not d.gone]


class Inbox:
    def __init__(self) -> None:
        self.results: list[ScanResult] = []
        self._changed = threading.Condition()

    def __call__(self, result: ScanResult) -> None:
        with self._changed:
            self.results.append(result)
            self._changed.notify_all()

    def wait(self, count: int, timeout: float = 5) -> list[ScanResult]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.results) >= count, timeout), self.results
            return list(self.results)


def wait_until(condition, timeout: float = 5) -> None:
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture
def plugs() -> Plugs:
    return Plugs()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def reader(plugs, inbox) -> Iterator[ScannerReader]:
    reader = ScannerReader(inbox, layout="fr", finder=plugs, rescan_s=0.05)
    yield reader
    reader.close()


def test_reader_grabs_the_device_and_delivers_its_scan(plugs, inbox, reader):
    device = FakeDevice("Honeywell 1900", "/dev/input/event7")
    plugs.plugged.append(device)
    reader.start()
    wait_until(lambda: reader.connected() == ["Honeywell 1900"])
    assert device.grabbed
    device.type(scan_events(EAN, "fr"))
    [result] = inbox.wait(1)
    assert (result.device, result.code) == ("Honeywell 1900", EAN)
    reader.close()
    assert device.closed and reader.connected() == []


def test_reader_reads_several_scanners_each_with_its_decoder(plugs, inbox, reader):
    first, second = FakeDevice("A", "/dev/input/event1"), FakeDevice("B", "/dev/input/event2")
    plugs.plugged += [first, second]
    reader.start()
    wait_until(lambda: len(reader.connected()) == 2)
    a_events, b_events = scan_events("111", "fr"), scan_events("222", "fr")
    first.type(a_events[: len(a_events) // 2])
    second.type(b_events[: len(b_events) // 2])
    first.type(a_events[len(a_events) // 2 :])
    second.type(b_events[len(b_events) // 2 :])
    results = inbox.wait(2)
    assert sorted((r.device, r.code) for r in results) == [("A", "111"), ("B", "222")]


def test_reader_reconnects_after_unplug(plugs, inbox, reader):
    device = FakeDevice("Datalogic", "/dev/input/event3")
    plugs.plugged.append(device)
    reader.start()
    wait_until(lambda: reader.connected() == ["Datalogic"])
    device.type(scan_events("123", "fr")[:6])  # half a code, then the cable is pulled
    device.unplug()
    [lost] = inbox.wait(1)
    assert lost.device == "Datalogic" and isinstance(lost.error, DeviceLost)
    assert "rebranchez" in lost.error.message
    wait_until(lambda: device.closed and reader.connected() == [])

    again = FakeDevice("Datalogic", "/dev/input/event3")
    plugs.plugged = [again]
    wait_until(lambda: reader.connected() == ["Datalogic"])
    again.type(scan_events("456", "fr"))
    assert inbox.wait(2)[1].code == "456"  # the half code died with the old device


def test_reader_ends_codes_on_timeout_without_more_events(plugs, inbox):
    device = FakeDevice("Zebra", "/dev/input/event4")
    plugs.plugged.append(device)
    reader = ScannerReader(inbox, layout="fr", terminators=(), timeout_ms=30, finder=plugs, rescan_s=0.05)
    reader.start()
    try:
        wait_until(lambda: reader.connected() == ["Zebra"])
        device.type(scan_events("789", "fr", terminator=None))
        assert inbox.wait(1)[0].code == "789"
    finally:
        reader.close()


def test_a_failing_callback_does_not_stop_the_reader(plugs):
    seen: list[str | None] = []

    def on_scan(result: ScanResult) -> None:
        seen.append(result.code)
        raise RuntimeError("the UI is gone")

    device = FakeDevice("A", "/dev/input/event1")
    plugs.plugged.append(device)
    reader = ScannerReader(on_scan, finder=plugs, rescan_s=0.05)
    reader.start()
    try:
        wait_until(lambda: reader.connected() == ["A"])
        device.type(scan_events("1", "fr") + scan_events("2", "fr"))
        wait_until(lambda: seen == ["1", "2"])
    finally:
        reader.close()


def test_a_device_grabbed_elsewhere_is_left_alone(plugs, inbox, reader):
    device = FakeDevice("A", "/dev/input/event1")

    def refuse() -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    device.grab = refuse  # type: ignore[method-assign]
    plugs.plugged.append(device)
    reader.start()
    wait_until(lambda: plugs.calls >= 3)
    assert reader.connected() == [] and device.closed


def test_simulated_scanner_goes_through_the_same_reader_and_decoder(inbox):
    scanner = SimulatedScanner(inbox, layout="fr")
    scanner.start()
    try:
        scanner.scan(EAN)
        scanner.scan("ART-7")
        scanner.scan(EAN, layout="us")  # a scanner left in QWERTY
        results = inbox.wait(3)
        assert codes(results[:2]) == [EAN, "ART-7"]
        assert isinstance(results[2].error, WrongLayout)
        assert scanner.connected() == ["Lecteur simulé"]
    finally:
        scanner.close()


def test_simulated_pipe_device_reads_partial_writes_and_unplugs():
    device = PipeDevice()
    events = scan_events("1", "fr")
    raw = b"".join(struct.pack("qqHHi", ev.sec, ev.usec, ev.type, ev.code, ev.value) for ev in events)
    os.write(device._write_fd, raw[:30])
    first = list(device.read())
    os.write(device._write_fd, raw[30:])
    second = list(device.read())
    assert [(ev.type, ev.code, ev.value) for ev in first + second] == [
        (ev.type, ev.code, ev.value) for ev in events
    ]
    with pytest.raises(BlockingIOError):
        list(device.read())
    device.unplug()
    with pytest.raises(OSError) as raised:
        list(device.read())
    assert raised.value.errno == errno.ENODEV
    device.close()


# --------------------------------------------------------------------------------------------------------
# Finding devices


class Opened:
    def __init__(self, path: str, keys: list[int]):
        self.path = path
        self.name = path
        self.keys = keys
        self.closed = False

    def capabilities(self) -> dict[int, list[int]]:
        return {e.EV_KEY: self.keys}

    def close(self) -> None:
        self.closed = True


class InputTree:
    """A fake /dev/input and /sys/class/input: event0 a keyboard, event1 a Honeywell scanner, event2 its
    consumer-control interface (no digits, no Enter), event3 a no-name scanner also linked from by-id/."""

    def __init__(self, root: Path):
        self.dev, self.sys = root / "dev", root / "sys"
        self.dev.mkdir()
        for number, name, vendor, product in [
            (0, "Logitech USB Keyboard", "046d", "c31c"),
            (1, "Honeywell Imaging & Mobility 1900", "0C2E", "0b61"),
            (2, "Honeywell Imaging & Mobility 1900 Consumer Control", "0c2e", "0b61"),
            (3, "SM SM-2D PRODUCT HID KBW", "1a86", "e026"),
        ]:
            (self.dev / f"event{number}").touch()
            ids = self.sys / f"event{number}" / "device" / "id"
            ids.mkdir(parents=True)
            (ids.parent / "name").write_text(name + "\n")
            (ids / "vendor").write_text(vendor + "\n")
            (ids / "product").write_text(product + "\n")
        (self.dev / "by-id").mkdir()
        (self.dev / "by-id" / "usb-SM-event-kbd").symlink_to(self.dev / "event3")

    @staticmethod
    def open(path: str) -> Opened:
        return Opened(path, [e.KEY_VOLUMEUP] if path.endswith("event2") else [e.KEY_1, e.KEY_A, e.KEY_ENTER])

    def finder(self, *specs: str, opener=None) -> DeviceFinder:
        return DeviceFinder(specs, str(self.dev), str(self.sys), opener or self.open)


@pytest.fixture
def tree(tmp_path: Path) -> InputTree:
    return InputTree(tmp_path)


def names(devices) -> list[str]:
    return [Path(device.path).name for device in devices]


def test_without_specs_only_scanners_are_taken_never_the_keyboard(tree):
    assert names(tree.finder()()) == ["event1"]


def test_specs_by_name_usb_id_and_path(tree):
    assert names(tree.finder("hid kbw")()) == ["event3"]
    assert names(tree.finder("1A86:E026")()) == ["event3"]
    assert names(tree.finder(str(tree.dev / "by-id" / "usb-SM-event-kbd"))()) == ["event3"]
    assert names(tree.finder("Honeywell")()) == ["event1"]  # not its consumer-control interface
    assert names(tree.finder("logitech", "0c2e:0b61")(skip={str(tree.dev / "event1")})) == ["event0"]


def test_devices_that_cannot_be_opened_are_skipped_and_logged_once(tree, caplog):
    def denied(path: str):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    finder = tree.finder("hid kbw", opener=denied)
    assert finder() == [] and finder() == []
    assert caplog.text.count("'input' group") == 1


# --------------------------------------------------------------------------------------------------------
# Configuration


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"backend": "usb"}, "backend"),
        ({"layout": "de"}, "layout"),
        ({"devices": "Honeywell"}, "devices"),
        ({"devices": [""]}, "devices"),
        ({"terminator": "space"}, "terminator"),
        ({"terminator": "none"}, "terminator"),
        ({"timeout_ms": 5}, "timeout_ms"),
        ({"timeout_ms": True}, "timeout_ms"),
        ({"timeout_ms": 50.0}, "timeout_ms"),
        ({"layuot": "fr"}, "layuot"),
    ],
)
def test_bad_configuration_names_the_key(cfg, key):
    with pytest.raises(ValueError, match=f"devices.scanner.{key}"):
        open_scanners(cfg, lambda result: None)


def test_not_a_table():
    with pytest.raises(ValueError, match="table"):
        open_scanners(["fr"], lambda result: None)  # type: ignore[arg-type]


def test_none_backend():
    scanner = open_scanners({"backend": "none"}, lambda result: None)
    assert isinstance(scanner, NoScanner) and scanner.connected() == []
    scanner.close()


def test_auto_without_a_scanner_falls_back_to_the_simulated_one(monkeypatch, inbox):
    monkeypatch.setattr(DeviceFinder, "identify", lambda self: [])
    scanner = open_scanners({"backend": "auto", "layout": "us", "terminator": "tab"}, inbox)
    try:
        assert isinstance(scanner, SimulatedScanner)
        scanner.scan("A-1")
        assert inbox.wait(1)[0].code == "A-1"
    finally:
        scanner.close()


def test_evdev_backend_waits_for_its_scanner(monkeypatch):
    monkeypatch.setattr(DeviceFinder, "identify", lambda self: [])
    scanner = open_scanners({"backend": "evdev", "devices": ["0c2e:0b61"], "timeout_ms": 40}, lambda r: None)
    try:
        assert isinstance(scanner, ScannerReader) and not isinstance(scanner, SimulatedScanner)
        assert scanner.connected() == []
    finally:
        scanner.close()


def test_scanner_modules_import_neither_the_till_nor_the_ui():
    code = "import sys, drivers.scanner, drivers.keymaps; print(' '.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(result.stdout.split())
    assert not {m for m in modules if m.split(".")[0] in ("kiosk", "fiscal", "textual")}
