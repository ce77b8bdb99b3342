"""The RabbitMQ broker's TLS certificate, from a private CA of its own (pulumi_tls).

Why a stack-local CA and not Certificate Authority Service: the broker has one client population
(the platform's own services) reaching it by a fixed private IP, so a public CA cannot issue for
it and a CAS pool (a paid, separate API, a CA per stack) buys nothing the clients would notice.
The program creates an ECDSA P-256 CA (10 years) and a server certificate for the broker's static
IP (2 years, renewed by the first `pulumi up` in its last 30 days, which rolls the VM). The keys
live only as secrets: in Pulumi's encrypted state and in Secret Manager, which the VM reads at
boot; clients get the CA certificate as a secret env (`QUEUE_TLS_CA_CERT`) and verify the broker
against it (the URL's host is the IP the certificate names).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.base import PlatformComponent

CA_VALIDITY_HOURS = 10 * 8760
SERVER_VALIDITY_HOURS = 2 * 8760
EARLY_RENEWAL_HOURS = 30 * 24


@dataclass(frozen=True)
class BrokerTls:
    """Secret Outputs: the CA certificate (for clients), the server chain and key (for the VM)."""

    ca_certificate: pulumi.Output[str]
    server_chain: pulumi.Output[str]
    server_key: pulumi.Output[str]


def broker_tls(owner: PlatformComponent, ip: str, dns_name: str) -> BrokerTls:
    """The CA and the broker's server certificate for `ip` (and `dns_name`), children of `owner`."""
    ca_key = tls.PrivateKey(
        owner.child_name("tls-ca-key"),
        tls.PrivateKeyArgs(algorithm="ECDSA", ecdsa_curve="P256"),
        opts=owner.child_opts(),
    )
    ca = tls.SelfSignedCert(
        owner.child_name("tls-ca"),
        tls.SelfSignedCertArgs(
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{owner.context.prefix} RabbitMQ CA", organization=owner.context.project
            ),
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
        ),
        opts=owner.child_opts(),
    )
    server_key = tls.PrivateKey(
        owner.child_name("tls-server-key"),
        tls.PrivateKeyArgs(algorithm="ECDSA", ecdsa_curve="P256"),
        opts=owner.child_opts(),
    )
    request = tls.CertRequest(
        owner.child_name("tls-server-csr"),
        tls.CertRequestArgs(
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=ip, organization=owner.context.project),
            ip_addresses=[ip],
            dns_names=[dns_name],
        ),
        opts=owner.child_opts(),
    )
    server = tls.LocallySignedCert(
        owner.child_name("tls-server"),
        tls.LocallySignedCertArgs(
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=SERVER_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        ),
        opts=owner.child_opts(),
    )
    chain = pulumi.Output.all(server.cert_pem, ca.cert_pem).apply(lambda v: v[0].rstrip("\n") + "\n" + v[1])
    return BrokerTls(
        ca_certificate=pulumi.Output.secret(ca.cert_pem),
        server_chain=pulumi.Output.secret(chain),
        server_key=pulumi.Output.secret(server_key.private_key_pem),
    )
