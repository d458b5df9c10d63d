"""``tenantry mail dns`` makes a private DKIM key readable by its owner only, never prints it, and
prints SPF, DKIM and DMARC records that match the key; ``serve`` refuses a key that does not load;
``tenantry projects update`` sets a project's sender and refuses header-breaking values."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mailtest import DkimKey, run_cli


def test_mail_dns_creates_a_private_key_and_prints_the_records(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "dkim.pem"
    args = ["mail", "dns", "--domain", "Mail.Clinic.com", "--selector", "s1", "--key-file", str(key_file)]
    first = run_cli(*args, "--spf", "include:_spf.relay.example", "--dmarc-report", "dmarc@clinic.com")
    assert first.returncode == 0, first.stderr

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = key_file.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    # Not a line of the private key appears in the output.
    for line in pem.decode().splitlines():
        assert line not in first.stdout + first.stderr
    assert "PRIVATE KEY" not in first.stdout + first.stderr

    printed = DkimKey(key_file, "s1", "mail.clinic.com", first.stdout)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert printed.dkim_record == f"v=DKIM1; k=rsa; p={base64.b64encode(spki).decode()}"
    assert printed.txt("mail.clinic.com") == "v=spf1 include:_spf.relay.example ~all"
    assert printed.txt("_dmarc.mail.clinic.com") == (
        "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:dmarc@clinic.com"
    )
    # A TXT string holds at most 255 bytes: the DKIM value is split into several.
    dkim_line = next(line for line in first.stdout.splitlines() if line.startswith("s1._domainkey."))
    assert dkim_line.count('"') >= 4
    assert f"TENANTRY_DKIM_PRIVATE_KEY_FILE={key_file.resolve()}" in first.stdout

    # Again: the key is reused, not replaced, and the records are the same.
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert key_file.read_bytes() == pem
    assert DkimKey(key_file, "s1", "mail.clinic.com", again.stdout).dkim_record == printed.dkim_record
    assert DkimKey(key_file, "s1", "mail.clinic.com", again.stdout).txt("mail.clinic.com") == "v=spf1 mx ~all"


def test_mail_dns_refuses_bad_input(tmp_path: Path) -> None:
    key_file = str(tmp_path / "k.pem")
    for extra in (
        ["--domain", "not a domain"],
        ["--domain", "clinic.com", "--selector", "bad_selector!"],
        ["--domain", "clinic.com", "--dmarc-policy", "maybe"],
        ["--domain", "clinic.com", "--spf", 'include:x" y'],
        ["--domain", "clinic.com", "--dmarc-report", "not-an-address"],
    ):
        proc = run_cli("mail", "dns", "--key-file", key_file, *extra)
        assert proc.returncode == 2, (extra, proc.stdout, proc.stderr)
    assert not os.path.exists(key_file)


def test_serve_refuses_a_dkim_key_that_does_not_load(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TENANTRY_DKIM_PRIVATE_KEY_FILE": str(bogus)}
    proc = run_cli("serve", "--database-url", f"sqlite:///{tmp_path}/t.db", env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "TENANTRY_DKIM_" in proc.stderr


def test_projects_update_sets_and_clears_the_sender(database_url: str, tmp_path: Path) -> None:
    created = run_cli("projects", "create", "--name", "Clinic", "--json", "--database-url", database_url)
    assert created.returncode == 0, created.stderr
    project_id = json.loads(created.stdout.strip().splitlines()[-1])["project_id"]

    def update(*options: str) -> tuple[int, str, str]:
        proc = run_cli("projects", "update", project_id, *options, "--database-url", database_url)
        return proc.returncode, proc.stdout, proc.stderr

    code, out, err = update("--mail-from-name", "Sunrise  Clinic", "--mail-from-address", "Hello@Clinic.COM")
    assert code == 0, err
    assert "mail_from_name\tSunrise Clinic" in out and "mail_from_address\tHello@clinic.com" in out
    for bad in (
        ["--mail-from-name", "Evil\r\nBcc: victim@example.com"],
        ["--mail-from-address", "a@clinic.com\r\nBcc: victim@example.com"],
        ["--mail-from-address", "no-at-sign"],
        ["--mail-from-address", '"quoted"@clinic.com'],
    ):
        code, _out, err = update(*bad)
        assert code == 2 and "error:" in err, bad
    code, out, _err = update("--mail-from-name", "")
    assert code == 0 and "mail_from_name\t(TENANTRY_MAIL_FROM)" in out
    assert "mail_from_address\tHello@clinic.com" in out
    missing = run_cli(
        "projects", "update", "project-test-nope", "--mail-from-name", "X", "--database-url", database_url
    )
    assert missing.returncode == 2 and "no project" in missing.stderr
