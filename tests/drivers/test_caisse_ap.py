"""Caisse-AP over IP: the fields, and whole exchanges with a terminal over a real TCP socket on 127.0.0.1
(the simulated terminal, or a scripted peer sending exactly the bytes a test needs)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drivers.caisse_ap import (
    CaisseApRequest,
    CaisseApResult,
    CaisseApTerminal,
    FrameError,
    Timeouts,
    decode_fields,
    decode_request,
    encode_fields,
    is_complete,
    parse_answer,
    ticket_field,
)
from drivers.caisse_ap_sim import SimulatedCaisseApTerminal
from drivers.payment import NoTerminal, SimulatedTerminal, open_terminal

pytestmark = pytest.mark.timeout(30)

FAST = Timeouts(connect=2, answer=0.6, byte=0.5, settle=0.05)
ROOMY = Timeouts(connect=2, answer=10, byte=2, settle=0.05)
ECHO_1250 = "CZ0040300CJ012012345678901CA00201CB0041250CD0010CE003978"
CHECK_TERMINAL = "regardez l'écran ou le ticket du terminal"


@pytest.fixture
def simulated() -> Iterator[Callable[..., SimulatedCaisseApTerminal]]:
    made: list[SimulatedCaisseApTerminal] = []

    def make(mode: str = "by_amount", timeouts: Timeouts = ROOMY, **kw: object) -> SimulatedCaisseApTerminal:
        terminal = SimulatedCaisseApTerminal(mode, timeouts=timeouts, think_time=0.01, **kw)  # type: ignore[arg-type]
        made.append(terminal)
        return terminal

    yield make
    for terminal in made:
        terminal.close()


class ScriptedPeer:
    """A terminal that reads one request per connection and answers `answer` (then closes, or holds the
    connection open when `hold`)."""

    def __init__(self, answer: bytes, *, hold: bool = False):
        self.answer = answer
        self.hold = hold
        self.requests: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                conn, _ = self.server.accept()
                with conn:
                    conn.settimeout(2)
                    data = b""
                    while not (is_complete(data, "BA") if data else False):
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    self.requests.append(data)
                    conn.sendall(self.answer)
                    if self.hold:
                        self.done.wait(5)
        except OSError:
            return

    def terminal(self, timeouts: Timeouts = FAST) -> CaisseApTerminal:
        return CaisseApTerminal("127.0.0.1", self.port, timeouts=timeouts)

    def close(self) -> None:
        self.done.set()
        self.server.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedPeer]]:
    peers: list[ScriptedPeer] = []

    def make(answer: bytes, **kw: bool) -> ScriptedPeer:
        peers.append(ScriptedPeer(answer, **kw))
        return peers[-1]

    yield make
    for peer in peers:
        peer.close()


def free_port() -> int:
    """A port nobody listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the fields


def test_request_bytes_for_12_50_eur_debit_on_till_01():
    request = CaisseApRequest(1250)
    assert request.encode() == (ECHO_1250 + "BA0010").encode()
    assert decode_request(request.encode()) == request


def test_refund_cancel_small_amounts_and_the_ticket_request():
    assert dict(CaisseApRequest(5, "refund").fields())["CB"] == "05"  # at least two digits
    assert dict(CaisseApRequest(5, "refund").fields())["CD"] == "1"
    assert dict(CaisseApRequest(5, "cancel", pos="07").fields())["CD"] == "2"
    assert dict(CaisseApRequest(5, "cancel", pos="07").fields())["CA"] == "07"
    with_ticket = CaisseApRequest(5, ticket=True)
    assert dict(with_ticket.fields())["CK"] == "100"
    assert decode_request(with_ticket.encode()).ticket


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount_cents": 0},
        {"amount_cents": 10**12},
        {"amount_cents": 1250, "pos": "1"},
        {"amount_cents": 1, "currency": "EUR"},
    ],
)
def test_request_refuses_what_a_terminal_cannot_take(kwargs):
    with pytest.raises(ValueError):
        CaisseApRequest(**kwargs)
    with pytest.raises(TypeError):
        CaisseApRequest(12.5)  # type: ignore[arg-type]


def test_fields_round_trip_and_completeness():
    data = encode_fields([("CZ", "0300"), ("AE", "10"), ("AK", "x" * 999)])
    assert decode_fields(data) == [("CZ", "0300"), ("AE", "10"), ("AK", "x" * 999)]
    assert is_complete(data)
    assert not is_complete(data[:-1])  # inside a value
    assert not is_complete(data[:9])  # between two fields, before AE
    assert not is_complete(b"CZ0040300AE")  # inside a header
    with pytest.raises(FrameError):
        encode_fields([("AK", "x" * 1000)])
    with pytest.raises(FrameError):
        encode_fields([("cz", "0300")])


@pytest.mark.parametrize(
    "data",
    [
        b"CZ0040300AE0X210",  # a length that is not digits
        b"cz0040300AE00210",  # a tag in lower case
        b"CZ0040300AE00210CB00",  # cut inside a header
        b"CZ0040300AE002\xe910",  # not ASCII
        b"CZ0040300AE00010",  # an empty field
    ],
)
def test_malformed_messages_are_frame_errors(data):
    with pytest.raises(FrameError):
        parse_answer(data)


def test_answer_fields_duplicates_missing_status_and_the_ticket():
    with pytest.raises(FrameError, match="twice"):
        parse_answer(b"AE00210AE00201")
    with pytest.raises(FrameError, match="AE"):
        parse_answer(ECHO_1250.encode())
    answer = parse_answer(
        encode_fields(
            [
                ("AE", "10"),
                ("CB", "001250"),
                ("AA", "4970101234567890"),  # a full card number is masked again
                ("AC", "A12345"),
                ("ZT", ticket_field("CARTE BANCAIRE\nMONTANT 12,50 EUR\nMerci, à bientôt")),
            ]
        )
    )
    assert answer.amount_cents == 1250
    assert answer.masked_pan == "497010******7890"
    assert answer.authorisation == "A12345"
    assert answer.ticket == "CARTE BANCAIRE\nMONTANT 12,50 EUR\nMerci, à bientôt"


# -- whole exchanges with the simulated terminal


def test_approved_debit_with_masked_card_and_authorisation(simulated):
    terminal = simulated()
    result = terminal.debit(1250)
    assert isinstance(result, CaisseApResult)
    assert result.outcome == "approved" and result.amount_cents == 1250
    assert result.masked_pan == "497010******7890"
    assert result.authorisation and result.authorisation in result.reason_fr
    assert result.reason_fr.startswith("Paiement carte accepté.")
    seen = terminal.server.log.requests[-1]
    assert (seen.kind, seen.amount_cents, seen.pos, seen.currency) == ("debit", 1250, "01", "978")


def test_refund_and_cancel_go_out_as_credit_and_annulation(simulated):
    terminal = simulated(pos="03")
    assert terminal.refund(800).outcome == "approved"
    assert terminal.cancel(1250).outcome == "approved"
    assert [(r.kind, r.pos) for r in terminal.server.log.requests] == [("refund", "03"), ("cancel", "03")]


@pytest.mark.parametrize(
    "amount, reason",
    [
        (1251, "Paiement refusé par la banque : rien n'a été débité."),
        (1252, "Paiement abandonné sur le terminal (touche Annulation) : rien n'a été débité."),
    ],
)
def test_declined_by_amount_ending_gives_the_french_reason(simulated, amount, reason):
    result = simulated().debit(amount)
    assert result.outcome == "refused"
    assert result.reason_fr.startswith(reason)
    assert "autre moyen de paiement" in result.reason_fr


def test_refused_refund_and_cancel_say_what_stays(simulated):
    terminal = simulated("refused")
    assert terminal.refund(500).reason_fr.startswith(
        "Remboursement refusé par la banque : rien n'a été remboursé"
    )
    cancel = terminal.cancel(500)
    assert cancel.reason_fr.startswith("Annulation refusée par la banque : rien n'a été annulé")
    assert "transaction d'origine reste valable" in cancel.reason_fr


def test_customer_ticket_comes_back_when_asked(simulated):
    result = simulated(ticket=True).debit(1250)
    assert result.outcome == "approved"
    assert result.ticket is not None
    assert "MONTANT 12,50 EUR" in result.ticket and f"NUM AUTO {result.authorisation}" in result.ticket
    assert simulated().debit(1250).ticket is None  # not asked: the terminal prints its own


def test_terminal_unreachable_is_an_error_nothing_debited():
    result = CaisseApTerminal("127.0.0.1", free_port(), timeouts=FAST).debit(1250)
    assert result.outcome == "error"
    assert result.reason_fr.startswith("Terminal injoignable : vérifiez le câble réseau")
    assert "Rien n'a été débité." in result.reason_fr


def test_unplugged_simulated_terminal_is_unreachable(simulated):
    terminal = simulated()
    assert terminal.reachable() is None
    terminal.unplug()
    assert terminal.reachable() is not None
    result = terminal.debit(1250)
    assert result.outcome == "error" and "Terminal injoignable" in result.reason_fr


def test_lost_answer_is_unknown_never_declined(simulated):
    terminal = simulated("silent", timeouts=FAST)
    result = terminal.debit(1250)
    assert result.outcome == "unknown"
    assert result.reason_fr.startswith("Délai dépassé : vérifiez sur le terminal si le paiement est passé.")
    assert "validez le paiement carte" in result.reason_fr
    assert terminal.server.log.requests[-1].amount_cents == 1250  # the terminal did hold the request


def test_lost_answer_by_amount_ending_97_for_each_operation(simulated):
    terminal = simulated(timeouts=FAST)
    assert terminal.debit(1297).outcome == "unknown"
    refund = terminal.refund(1297)
    assert refund.outcome == "unknown"
    assert refund.reason_fr.startswith(
        "Délai dépassé : vérifiez sur le terminal si le remboursement est passé."
    )
    cancel = terminal.cancel(1297)
    assert cancel.outcome == "unknown" and "validez l'annulation" in cancel.reason_fr


def test_connection_closed_after_the_request_is_unknown(simulated):
    result = simulated("hangup").refund(400)
    assert result.outcome == "unknown"
    assert "coupée après l'envoi" in result.reason_fr and "validez le remboursement" in result.reason_fr


def test_slow_answer_within_the_timeout_is_approved(simulated):
    terminal = simulated(slow_time=0.3)
    assert terminal.debit(1298).outcome == "approved"


def test_slow_answer_beyond_the_timeout_is_unknown(simulated):
    terminal = simulated("slow", timeouts=FAST, slow_time=3)
    assert terminal.debit(1250).outcome == "unknown"


def test_answer_in_pieces_cut_between_two_fields_is_whole(simulated):
    result = simulated("fragmented").debit(1250)
    assert result.outcome == "approved" and result.authorisation


def test_malformed_answer_is_unknown_kept_and_the_terminal_still_works(simulated):
    terminal = simulated()
    result = terminal.debit(1299)
    assert result.outcome == "unknown"
    assert result.reason_fr.startswith("Réponse du terminal illisible")
    assert CHECK_TERMINAL in result.reason_fr
    assert result.raw_answer == terminal.terminal.last_raw_answer == b"CZ0040300AE0X210CB00"
    assert terminal.debit(1250).outcome == "approved"  # nothing stuck: the next payment goes through


def test_second_operation_while_one_runs_is_refused_not_queued(simulated):
    terminal = simulated("silent", timeouts=Timeouts(connect=2, answer=5, byte=1, settle=0.05))
    first: list[CaisseApResult] = []
    thread = threading.Thread(target=lambda: first.append(terminal.debit(1250)))
    thread.start()
    deadline = time.monotonic() + 5
    while not terminal.server.log.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    second = terminal.debit(700)
    assert second.outcome == "error" and "déjà en cours" in second.reason_fr
    terminal.unplug()  # the first one ends: its connection goes away with the terminal
    thread.join(10)
    assert first[0].outcome == "unknown"
    assert [r.amount_cents for r in terminal.server.log.requests] == [1250]


# -- answers a real terminal may send, from a scripted peer


def test_approved_for_another_amount_is_unknown(scripted):
    answer = ECHO_1250.replace("CB0041250", "CB0041200") + "AE00210AC006123456"
    result = scripted(answer.encode()).terminal().debit(1250)
    assert result.outcome == "unknown" and result.amount_cents == 1200
    assert "12,00" in result.reason_fr and "12,50" in result.reason_fr


def test_approved_without_the_amount_is_unknown(scripted):
    result = scripted(b"CZ0040300CA00201AE00210").terminal().debit(1250)
    assert result.outcome == "unknown" and "pas confirmé le montant" in result.reason_fr


def test_answer_for_another_till_is_unknown(scripted):
    answer = ECHO_1250.replace("CA00201", "CA00202") + "AE00210"
    assert scripted(answer.encode()).terminal().debit(1250).outcome == "unknown"


def test_refusal_without_the_amount_is_still_a_refusal(scripted):
    result = scripted(b"CZ0040300CA00201AE00201AF00206").terminal().debit(1250)
    assert result.outcome == "refused" and result.reason_fr.startswith("Paiement abandonné sur le terminal")


@pytest.mark.parametrize("code, words", [("09", "mal formé"), ("13", "devise non acceptée")])
def test_request_the_terminal_cannot_take_is_an_error_to_fix(scripted, code, words):
    answer = f"{ECHO_1250}AE00201AF002{code}".encode()
    result = scripted(answer).terminal().debit(1250)
    assert result.outcome == "error" and words in result.reason_fr
    assert "Rien n'a été débité." in result.reason_fr


def test_contradictory_answer_is_unknown(scripted):
    result = scripted(f"{ECHO_1250}AE00201AF00201".encode()).terminal().debit(1250)
    assert result.outcome == "unknown"


def test_answer_cut_short_is_unknown_and_kept(scripted):
    cut = (ECHO_1250 + "AE00210AC006123").encode()  # closed in the middle of AC
    result = scripted(cut).terminal().debit(1250)
    assert result.outcome == "unknown" and result.reason_fr.startswith("Réponse du terminal incomplète")
    assert result.raw_answer == cut


def test_answer_that_stops_midway_on_an_open_connection_is_unknown(scripted):
    cut = (ECHO_1250 + "AE00210AC006123").encode()
    result = scripted(cut, hold=True).terminal().debit(1250)
    assert result.outcome == "unknown" and result.raw_answer == cut


def test_garbage_from_the_peer_is_unknown_with_a_clear_reason(scripted):
    result = scripted(b"HTTP/1.1 400 Bad Request\r\n\r\n").terminal().debit(1250)
    assert result.outcome == "unknown"
    assert result.reason_fr.startswith("Réponse du terminal illisible")


# -- configuration


def test_open_terminal_chooses_the_protocol():
    assert isinstance(open_terminal({}), NoTerminal)
    assert isinstance(open_terminal({"protocol": "caisse-ap"}), NoTerminal)
    real = open_terminal(
        {"protocol": "caisse-ap", "backend": "terminal", "host": " 192.168.1.50 ", "pos": "02"}
    )
    assert isinstance(real, CaisseApTerminal)
    assert (real.host, real.port, real.pos, real.ticket) == ("192.168.1.50", 8888, "02", False)
    assert real.timeouts.connect == 5 and real.timeouts.answer == 120
    sim = open_terminal({"protocol": "caisse-ap", "backend": "simulated", "think_time": 0})
    try:
        assert isinstance(sim, SimulatedCaisseApTerminal) and sim.debit(1251).outcome == "refused"
    finally:
        sim.close()
    concert = open_terminal({"protocol": "concert", "backend": "simulated", "think_time": 0})
    try:
        assert isinstance(concert, SimulatedTerminal)
    finally:
        concert.close()


@pytest.mark.parametrize(
    "cfg, key",
    [
        ({"protocol": "caisse"}, "protocol"),
        ({"protocol": "caisse-ap", "backend": "concert"}, "backend"),
        ({"protocol": "caisse-ap", "backend": "terminal"}, "host"),
        ({"protocol": "caisse-ap", "backend": "terminal", "host": "t", "port": "8888"}, "port"),
        ({"protocol": "caisse-ap", "port": 70000}, "port"),
        ({"protocol": "caisse-ap", "pos": 1}, "pos"),
        ({"protocol": "caisse-ap", "connect_timeout": 0}, "connect_timeout"),
        ({"protocol": "caisse-ap", "answer_timeout": "120"}, "answer_timeout"),
        ({"protocol": "caisse-ap", "ticket": "oui"}, "ticket"),
        ({"protocol": "caisse-ap", "mode": "bad_lrc_once"}, "mode"),
        ({"protocol": "caisse-ap", "protocol_id": "123"}, "protocol_id"),
        ({"protocol": "caisse-ap", "hote": "t"}, "hote"),
    ],
)
def test_bad_configuration_names_the_key_in_french(cfg, key):
    with pytest.raises(ValueError) as raised:
        open_terminal(cfg)
    message = str(raised.value)
    assert message.startswith("Configuration du terminal de paiement : ")
    assert f"« {key} »" in message and "attendu" in message
