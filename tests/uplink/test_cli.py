"""The uplink's settings and commands as the technician and the fleet manager use them."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from kiosk.cli.main import main
from kiosk.config import ConfigError, load_config
from kiosk.demo.simulation import simulate_sales
from kiosk.uplink.publisher import Publisher
from tests.support.broker import Broker, broker, open_uplink_till, uplink_toml, wait_until

__all__ = ["broker"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_uplink_settings_are_checked_in_french(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[uplink]\nport = "abc"\nportal_db = "mysql://x"\nbacklog_budget_mb = 0\n', "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    text = str(caught.value)
    assert "uplink.port : attendu un port TCP de 1 à 65535" in text
    assert "uplink.portal_db : attendu postgresql://" in text
    assert "uplink.backlog_budget_mb : attendu une taille en Mo" in text


def test_the_mqtt_password_never_reaches_the_jet(tmp_path: Path) -> None:
    till = open_uplink_till(tmp_path / "t", 1883, extra='username = "S001/T01"\npassword = "s3cret-pw"\n')
    till.start()
    bodies = [
        row[0] for row in till.db.execute_sql("SELECT body FROM fiscal_record WHERE rtype = 'CONFIG_CHANGED'")
    ]
    assert bodies and all("s3cret-pw" not in body for body in bodies)
    assert any('"uplink.password":"(modifié)"' in body for body in bodies)
    till.db.close()


def test_uplink_status_shows_the_backlog_and_chain_head(tmp_path: Path) -> None:
    till = open_uplink_till(tmp_path / "t", 1883)
    till.start()
    simulate_sales(till, 2)
    till.db.close()
    code, out, _ = run("--data-dir", str(tmp_path / "t"), "uplink", "status")
    assert code == 0
    assert "Événements en attente d'envoi : " in out
    head = json.loads(out[out.index("{") :])
    assert head["journals"]["TICKET"]["seq"] == 2


def test_fleet_cmd_from_the_command_line(tmp_path: Path, broker: Broker) -> None:
    key = tmp_path / "fleet" / "fleet.pem"
    code, out, _ = run("--data-dir", str(tmp_path / "f"), "fleet", "keygen", "--out", str(key))
    assert code == 0 and "fleet.pub.pem" in out
    code, _, err = run("--data-dir", str(tmp_path / "f"), "fleet", "keygen", "--out", str(key))
    assert code == 1 and "existe déjà" in err
    till = open_uplink_till(
        tmp_path / "t", broker.port, extra=f'fleet_public_key = "{key.with_suffix(".pub.pem")}"\n'
    )
    till.start()
    publisher = Publisher(till)
    publisher.start()
    wait_until(publisher.connected.is_set, what="till connected")
    config = tmp_path / "fleet.toml"
    config.write_text(uplink_toml(broker.port), "utf-8")
    base = ["--data-dir", str(tmp_path / "f"), "--config", str(config), "fleet", "cmd"]
    try:
        code, out, _ = run(*base, "T01", "report", "x", "--key", str(key))
        assert code == 0 and json.loads(out)["result"]["report"] == "X"
        code, out, _ = run(*base, "S001/T01", "ping", "--key", str(key))
        assert code == 0 and json.loads(out)["result"]["pong"] is True
        code, _, err = run(*base, "T01", "format", "disk", "--key", str(key))
        assert code == 2 and "Commande inconnue" in err
        code, _, err = run(*base, "T01", "ping")
        assert code == 2 and "Clé de flotte manquante" in err
    finally:
        publisher.stop()
        till.db.close()


def test_catalogue_update_from_the_portal_is_applied_once_and_reported(
    tmp_path: Path, broker: Broker
) -> None:
    from kiosk.store.models import Article
    from kiosk.uplink import outbox

    till = open_uplink_till(tmp_path / "t", broker.port)
    till.start()
    publisher = Publisher(till)
    publisher.start()
    wait_until(publisher.connected.is_set, what="till connected")
    config = tmp_path / "portal.toml"
    config.write_text(uplink_toml(broker.port), "utf-8")
    base = ["--data-dir", str(tmp_path / "p"), "--config", str(config), "portal", "catalogue"]

    def publish(version: int, price: int) -> tuple[int, str, str]:
        update = tmp_path / f"catalogue-{version}.json"
        articles = [
            {"reference": "BOUL-001", "price_cents": price},
            {"reference": "NOPE-404", "price_cents": 1},
        ]
        update.write_text(json.dumps({"version": version, "articles": articles}), "utf-8")
        return run(*base, str(update), "--till", "T01")

    def price() -> int:
        return int(Article.get(Article.reference == "BOUL-001").price_cents)

    try:
        assert publish(3, 135)[0] == 0
        wait_until(lambda: price() == 135, what="version 3 applied")
        assert publish(2, 999)[0] == 0  # older than what the till has: ignored
        code, out, _ = publish(5, 140)
        assert code == 0 and "version 5" in out
        wait_until(lambda: price() == 140, what="version 5 applied")
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"version": 6, "articles": [{"reference": "BOUL-001", "price_cents": -5}]}))
        code, _, err = run(*base, str(bad), "--till", "T01")
        assert code == 1 and "price_cents invalide" in err
    finally:
        publisher.stop()
    conn = till.db.connection()
    reports = [
        json.loads(e.payload) for e in outbox.pending(conn, 0, 10_000) if e.type == "catalogue_applied"
    ]
    assert [(r["version"], r["updated"], r["unknown"]) for r in reports] == [
        (3, 1, ["NOPE-404"]),
        (5, 1, ["NOPE-404"]),
    ]
    till.db.close()
