"""The standard-tools script printed in notice.txt, run as an auditor would: copied out of the notice of a
real archive and run with bash (xmlsec1, openssl, xmllint, python3), on the archive and on tampered copies."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fiscal.audit_script import AUDIT_BEGIN, AUDIT_END
from fiscal.keys import create_key
from kiosk.demo.simulation import simulate_sales
from kiosk.till import Till

TOOLS = ("xmlsec1", "openssl", "xmllint", "bash")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"absent : {', '.join(missing)} (apt-get install xmlsec1 openssl libxml2-utils)"
)


def _script(notice: str, journal: str = "TICKET", number: int = 1) -> str:
    start = notice.index(f"\n{AUDIT_BEGIN}\n") + 1  # the script's own lines, not the text naming them
    end = notice.index(f"\n{AUDIT_END}\n", start) + 1 + len(AUDIT_END)
    script = notice[start:end] + "\n"
    assert script.count("JOURNAL=TICKET NUMERO=1\n") == 1
    return script.replace("JOURNAL=TICKET NUMERO=1\n", f"JOURNAL={journal} NUMERO={number}\n")


def _unpack(archive: Path, target: Path, published_pem: str) -> tuple[Path, str]:
    target.mkdir()
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)
    (target / "cle-publiee.pem").write_text(published_pem, "ascii")
    return target, (target / "notice.txt").read_text("utf-8")


def _run(directory: Path, script: str) -> subprocess.CompletedProcess[str]:
    (directory / "verifier.sh").write_text(script, "utf-8")
    return subprocess.run(["bash", "verifier.sh"], cwd=directory, capture_output=True, text=True, timeout=120)


@pytest.fixture
def archived(till: Till, tmp_path: Path) -> tuple[Till, Path]:
    simulate_sales(till, 12, seed=5)
    return till, till.archive(till.clock().date().isoformat(), tmp_path / "archive.zip").path


def test_the_notice_script_verifies_a_real_archive(archived: tuple[Till, Path], tmp_path: Path) -> None:
    till, archive = archived
    directory, notice = _unpack(archive, tmp_path / "audit", till.ledger.key.public_pem)
    assert "xmlsec1 --verify" in notice and "openssl pkeyutl -verify" in notice
    key_id = till.ledger.key.key_id
    for journal, number in (("TICKET", 1), ("TICKET", 12), ("JET", 1)):
        result = _run(directory, _script(notice, journal, number))
        assert result.returncode == 0, result.stdout + result.stderr
        output = result.stdout + result.stderr
        assert "SignedInfo References (ok/all): 1/1" in output  # xmlsec1: the XML-DSig
        assert output.count("Signature Verified Successfully") == 2  # the certificate, then the record
        assert f"{journal} n°{number} : clé {key_id}" in output and f"\n{key_id}\n" in result.stdout
        assert "clé de l'enregistrement = clé publiée" in output
    # The last command checks what it is given: a message differing by one byte (another record number) fails.
    message = (directory / "message.bin").read_bytes()
    (directory / "message.bin").write_bytes(message.replace(b'"JET",1,', b'"JET",2,', 1))
    assert (directory / "message.bin").read_bytes() != message
    last = [line for line in _script(notice).splitlines() if line.startswith("openssl pkeyutl")][-1]
    failed = subprocess.run(["bash", "-c", last], cwd=directory, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "Signature Verification Failure" in failed.stdout + failed.stderr


def test_the_notice_script_fails_on_a_tampered_archive(archived: tuple[Till, Path], tmp_path: Path) -> None:
    till, archive = archived
    published = till.ledger.key.public_pem
    directory, notice = _unpack(archive, tmp_path / "modifie", published)
    xml = (directory / "records.xml").read_bytes()
    total = re.compile(rb"<journal nom=\"TICKET\".*?<total>(\d+)</total>", re.S).search(xml)
    assert total is not None
    forged = xml[: total.start(1)] + str(int(total.group(1)) + 100).encode() + xml[total.end(1) :]
    (directory / "records.xml").write_bytes(forged)
    result = _run(directory, _script(notice))
    assert result.returncode != 0
    assert 'failed to verify file "records.xml"' in result.stderr
    assert "Signature Verified Successfully" not in result.stdout  # stopped at the first failure

    # An archive presented with another till's key: the certificate is not signed by the published key.
    other = create_key(tmp_path / "autre" / "cle.pem")
    directory, notice = _unpack(archive, tmp_path / "autre-cle", other.public_pem)
    result = _run(directory, _script(notice))
    assert result.returncode != 0
    assert "SignedInfo References (ok/all): 1/1" in result.stdout + result.stderr  # the XML itself is intact
    assert "Signature Verification Failure" in result.stdout + result.stderr
