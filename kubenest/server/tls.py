"""The certificate authority and serving certificate created on first start."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _write(path: str, data: bytes, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def ensure_certificates(data_dir: str, address: str, extra_ips: Iterable[str] = ()) -> tuple[str, str, str]:
    """Create (once) `ca.crt`, `server.crt` and `server.key` under data_dir; returns their paths.

    The serving certificate names localhost, 127.0.0.1, ::1, this host's name, `address` and
    `extra_ips` (where pods reach the API, e.g. the pod network's gateway); it is reissued by the same
    CA when one of them is not among its names.
    """
    ca_crt, ca_key = os.path.join(data_dir, "ca.crt"), os.path.join(data_dir, "ca.key")
    srv_crt, srv_key = os.path.join(data_dir, "server.crt"), os.path.join(data_dir, "server.key")
    now = datetime.datetime.now(datetime.UTC)
    if not (os.path.exists(ca_crt) and os.path.exists(ca_key)):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubenest-ca")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256())
        )
        _write(ca_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()), private=True)
        _write(ca_crt, cert.public_bytes(serialization.Encoding.PEM))
        for p in (srv_crt, srv_key):
            if os.path.exists(p):
                os.remove(p)
    names = {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", socket.gethostname()}
    ips = {"127.0.0.1", "::1"} | {str(ipaddress.ip_address(i)) for i in extra_ips}
    try:
        ipaddress.ip_address(address)
        if address not in ("0.0.0.0", "::"):
            ips.add(address)
    except ValueError:
        names.add(address)
    if os.path.exists(srv_crt) and os.path.exists(srv_key):
        existing = x509.load_pem_x509_certificate(open(srv_crt, "rb").read())
        san = existing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have_ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
        have_names = set(san.get_values_for_type(x509.DNSName))
        if ips <= have_ips and names <= have_names and existing.not_valid_after_utc > now:
            return ca_crt, srv_crt, srv_key
        # Keep what it named: a caller without extra_ips must not drop another caller's addresses.
        ips |= have_ips
        names |= have_names
    ca_cert = x509.load_pem_x509_certificate(open(ca_crt, "rb").read())
    ca_priv = serialization.load_pem_private_key(open(ca_key, "rb").read(), password=None)
    assert isinstance(ca_priv, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(names)]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubenest-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_priv, hashes.SHA256())
    )
    _write(srv_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), private=True)
    _write(srv_crt, cert.public_bytes(serialization.Encoding.PEM))
    return ca_crt, srv_crt, srv_key
