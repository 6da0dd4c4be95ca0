"""The shop's accounting settings (as the seeds describe: code journal, libellé, comptes) reach the FEC."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.demo.shop import SIMULATED_DEVICES
from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till


def test_fec_journal_and_accounts_from_the_configuration(till: Till, tmp_path: Path) -> None:
    (till.data_dir / "kiosk.toml").write_text(
        SIMULATED_DEVICES + '[fiscal.fec]\njournal_code = "CA"\njournal_label = "Caisse boutique"\n'
        '[fiscal.fec.tenders.cash]\nnum = "530000"\nlib = "Caisse magasin"\n',
        "utf-8",
    )
    shop = Till.open(till.data_dir)
    simulate_sales(shop, 3, seed=1)
    info = shop.archive(shop.clock().date().isoformat(), tmp_path)
    with zipfile.ZipFile(info.path) as archive:
        fec = archive.read(f"823456785FEC{info.end.replace('-', '')}.txt").decode("iso-8859-15").splitlines()
    assert fec[1].startswith("CA|Caisse boutique|")
    assert any("|530000|Caisse magasin|" in line for line in fec)
    shop.db.close()


def test_a_bad_account_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[fiscal.fec.tenders.cash]\nlib = "sans numéro"\n')
    with pytest.raises(ConfigError, match="fiscal.fec : configuration FEC : compte mal décrit"):
        load_config(bad)
