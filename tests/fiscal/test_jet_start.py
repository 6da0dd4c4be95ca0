"""What the JET records at start: configuration changes (secrets masked), software updates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kiosk.till
from kiosk.demo.shop import SIMULATED_DEVICES
from kiosk.till import Till


def _jet(till: Till, code: str) -> list[dict]:
    rows = till.db.execute_sql(
        "SELECT body FROM fiscal_record WHERE journal='JET' AND rtype=? ORDER BY seq", (code,)
    )
    return [json.loads(body)["details"] for (body,) in rows]


def test_configuration_change_and_update_are_journaled(till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    till.start()
    first = _jet(till, "CONFIG_CHANGED")
    assert len(first) == 1 and first[0]["changes"]["shop.siret"] == [None, "82345678500018"]
    till.stop()

    data_dir: Path = till.data_dir
    (data_dir / "kiosk.toml").write_text(SIMULATED_DEVICES + "[receipt]\nauto_print = true\n", "utf-8")
    monkeypatch.setattr(kiosk.till, "__version__", "9.9.9")
    again = Till.open(data_dir)
    again.start()
    changes = _jet(again, "CONFIG_CHANGED")
    assert changes[-1]["changes"] == {"receipt.auto_print": [False, True]}
    assert _jet(again, "SOFTWARE_UPDATE")[-1] == {"from": kiosk.__version__, "to": "9.9.9"}
    again.stop()

    unchanged = Till.open(data_dir)
    unchanged.start()
    assert len(_jet(unchanged, "CONFIG_CHANGED")) == 2  # nothing new to say
    unchanged.db.close()


def test_secrets_never_reach_the_database(till: Till) -> None:
    """The configuration copy kept to notice changes holds a password only as a digest; a new password is
    journaled as « (modifié) », never in clear."""
    data_dir: Path = till.data_dir
    till.db.close()
    (data_dir / "kiosk.toml").write_text(
        SIMULATED_DEVICES + '[mail]\nhost = "smtp.example.fr"\npassword = "hunter2-secret"\n', "utf-8"
    )
    first = Till.open(data_dir)
    first.start()
    first.stop()
    (data_dir / "kiosk.toml").write_text(
        SIMULATED_DEVICES + '[mail]\nhost = "smtp.example.fr"\npassword = "correct-horse"\n', "utf-8"
    )
    second = Till.open(data_dir)
    second.start()
    assert _jet(second, "CONFIG_CHANGED")[-1]["changes"] == {"mail.password": "(modifié)"}
    second.stop()
    for path in data_dir.glob("kiosk.sqlite*"):
        content = path.read_bytes()
        assert b"hunter2-secret" not in content and b"correct-horse" not in content
