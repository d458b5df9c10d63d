"""DKIM: signing outgoing mail (dkimpy), and the key and DNS records an operator publishes.

Receivers that enforce DMARC (healthcare organizations do) drop or quarantine discovery and invite
mail that is neither DKIM-signed nor sent from an SPF-listed host; ``tenantry mail dns`` prints
the three records that make the mail pass.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048
DEFAULT_SELECTOR = "tenantry"
# Relaxed canonicalization survives the header refolding and whitespace changes relays make.
CANONICALIZE = (b"relaxed", b"relaxed")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def valid_dns_name(name: str) -> bool:
    return len(name) <= 253 and bool(_NAME_RE.fullmatch(name))


@dataclass(frozen=True)
class DkimSigner:
    private_key_pem: bytes
    selector: str
    # None: sign with the domain of each message's From address (DMARC alignment).
    domain: str | None = None

    @classmethod
    def from_file(cls, path: Path, *, selector: str, domain: str | None) -> DkimSigner:
        if not valid_dns_name(selector):
            raise ValueError(f"TENANTRY_DKIM_SELECTOR {selector!r} is not a DNS label")
        if domain is not None and not valid_dns_name(domain):
            raise ValueError(f"TENANTRY_DKIM_DOMAIN {domain!r} is not a domain name")
        pem = path.read_bytes()
        # Fail at start-up rather than on the first mail: the key must load and be RSA.
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        return cls(pem, selector, domain.lower() if domain else None)

    def sign(self, message: bytes, from_domain: str) -> bytes:
        """The message with a DKIM-Signature header prepended (the bytes must then be sent as they are)."""
        domain = self.domain or from_domain
        header = dkim.sign(
            message,
            self.selector.encode("ascii"),
            domain.encode("ascii"),
            self.private_key_pem,
            canonicalize=CANONICALIZE,
        )
        return header + message


def generate_key_file(path: Path) -> None:
    """A new RSA-2048 key in PKCS#8 PEM, readable by its owner only; never overwrites."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL + mode: the file never exists, even for an instant, with wider permissions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def public_key_base64(path: Path) -> str:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


@dataclass(frozen=True)
class TxtRecord:
    kind: str
    name: str
    value: str

    def zone_line(self) -> str:
        """BIND syntax; values over 255 bytes are split into several strings, as TXT requires."""
        chunks = [self.value[i : i + 255] for i in range(0, len(self.value), 255)]
        quoted = " ".join(f'"{chunk}"' for chunk in chunks)
        return f"{self.name}. IN TXT {quoted}"


def dns_records(
    *,
    domain: str,
    selector: str,
    public_key: str,
    spf_mechanisms: list[str],
    dmarc_policy: str,
    dmarc_report_address: str | None,
) -> list[TxtRecord]:
    spf = " ".join(["v=spf1", *spf_mechanisms, "~all"])
    dmarc = f"v=DMARC1; p={dmarc_policy}; adkim=r; aspf=r"
    if dmarc_report_address:
        dmarc += f"; rua=mailto:{dmarc_report_address}"
    return [
        TxtRecord("SPF", domain, spf),
        TxtRecord("DKIM", f"{selector}._domainkey.{domain}", f"v=DKIM1; k=rsa; p={public_key}"),
        TxtRecord("DMARC", f"_dmarc.{domain}", dmarc),
    ]
