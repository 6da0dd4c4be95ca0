"""TLS to the broker: the CA from the configuration, a client certificate per till."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.demo.simulation import simulate_sales
from kiosk.uplink import outbox
from kiosk.uplink.ingest import Ingest, open_store
from kiosk.uplink.publisher import Publisher
from kiosk.uplink.settings import UplinkSettings
from tests.support.broker import Broker, free_port, open_uplink_till, wait_until


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> tuple[Path, Path]:
    key_path, cert_path = path.with_suffix(".key"), path.with_suffix(".crt")
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _cert(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    ca: bool,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca and issuer is not None and name == "server":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "pki"
    root.mkdir()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("kiosk test CA", ca_key, None, ca=True)
    files = {}
    files["ca_key"], files["ca"] = _write(root / "ca", ca_key, ca)
    for name in ("server", "S001-T01"):
        key = ec.generate_private_key(ec.SECP256R1())
        files[f"{name}_key"], files[name] = _write(
            root / name, key, _cert(name, key, (ca.subject, ca_key), ca=False)
        )
    return files


@pytest.fixture
def tls_broker(tmp_path: Path, pki: dict[str, Path]) -> Iterator[tuple[Broker, int]]:
    workdir = tmp_path / "broker"
    workdir.mkdir()
    tls_port = free_port()
    extra = (
        "allow_anonymous true\n"
        f"listener {tls_port} 127.0.0.1\n"
        f"cafile {pki['ca']}\ncertfile {pki['server']}\nkeyfile {pki['server_key']}\n"
        "require_certificate true\n"
    )
    broker = Broker(workdir, extra=extra)  # its first listener (plain) serves the portal
    broker.start()
    wait_until(lambda: _listening(tls_port), what="TLS listener")
    yield broker, tls_port
    broker.stop()


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_a_till_with_its_certificate_sends_over_tls(
    tmp_path: Path, pki: dict[str, Path], tls_broker: tuple[Broker, int]
) -> None:
    broker, tls_port = tls_broker
    till = open_uplink_till(
        tmp_path / "t",
        tls_port,
        extra=f'tls = true\nca_file = "{pki["ca"]}"\ncert_file = "{pki["S001-T01"]}"\nkey_file = "{pki["S001-T01_key"]}"\n',
    )
    till.start()
    portal = UplinkSettings(shop="S001", till="-", host="127.0.0.1", port=broker.port)
    ingest = Ingest(portal, open_store(f"sqlite:{tmp_path / 'portal.sqlite'}"), "S001")
    thread = threading.Thread(target=ingest.run, daemon=True)
    thread.start()
    publisher = Publisher(till)
    publisher.start()
    try:
        simulate_sales(till, 2)
        wait_until(lambda: outbox.backlog(till.db.connection()).events == 0, what="outbox drained over TLS")
    finally:
        publisher.stop()
        ingest.stop()
        thread.join(10)
    count = ingest.store.conn.execute("SELECT COUNT(*) FROM uplink_event WHERE type = 'sale'").fetchone()[0]  # type: ignore[attr-defined]
    assert count == 2
    ingest.store.close()
    till.db.close()


def test_without_a_client_certificate_the_broker_refuses(
    pki: dict[str, Path], tls_broker: tuple[Broker, int]
) -> None:
    import socket
    import ssl

    _, tls_port = tls_broker
    context = ssl.create_default_context(cafile=str(pki["ca"]))  # the broker's identity is checked...
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            try:
                # ...but without a certificate of our own, a valid MQTT CONNECT gets no CONNACK (0x20)
                tls.sendall(bytes.fromhex("100d00044d5154540402003c000178"))
                refused = tls.recv(1) != b"\x20"
            except (ssl.SSLError, ConnectionResetError):
                refused = True
    assert refused
