"""AWS edge (`ecs`), part 1: TLS certificates. The ALB is in `alb.py`, CloudFront + WAF in `cloudfront.py`.

`AwsCertificates` requests ACM certificates for `<domain>` and `*.<domain>` (DNS validation):
- one in us-east-1 for CloudFront (CloudFront only accepts certificates from us-east-1), created
  with the explicit us-east-1 provider;
- one in the primary region for the ALB's HTTPS listener -- the same certificate when the primary
  region is us-east-1;
- with a standby (`standby_provider`), one in `regions.secondary` for the standby ALB (ACM
  certificates are regional) -- the CloudFront one when that region is us-east-1.

The apex and the wildcard share one validation CNAME, and ACM uses the same CNAME for the same
name in every region of an account, so one Route 53 record validates every certificate here. With
`aws.hostedZoneId` the program creates that record; without it, the `dnsValidationRecords` stack
output (and `aws acm describe-certificate`) names the record to create by hand, and
`CertificateValidation` waits (up to its timeout) until ACM sees it -- see docs/deploy-aws.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.config import StackContext


def _record(option) -> dict:
    """A domain validation option (typed output or plain dict) -> {name, type, value}."""

    def get(snake: str, camel: str):
        return getattr(option, snake, None) or (option.get(camel) if isinstance(option, dict) else None)

    return {
        "name": get("resource_record_name", "resourceRecordName"),
        "type": get("resource_record_type", "resourceRecordType"),
        "value": get("resource_record_value", "resourceRecordValue"),
    }


@dataclass(frozen=True)
class AwsCertificatesArgs:
    context: StackContext
    global_provider: pulumi.ProviderResource  # us-east-1
    standby_provider: Optional[pulumi.ProviderResource] = None  # regions.secondary, with a standby


class AwsCertificates(PlatformComponent):
    """ACM certificates. Exposes `cloudfront_certificate_arn` and `alb_certificate_arn` (validated),
    `validation_records` (name/type/value to create when there is no hosted zone), and with a standby
    `standby_alb_certificate_arn` (validated, in regions.secondary)."""

    TYPE = "aiplatform:edge:AwsCertificates"

    def __init__(self, name: str, args: AwsCertificatesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        zone_id = cfg.aws.hosted_zone_id
        names = dict(domain_name=cfg.domain, subject_alternative_names=[f"*.{cfg.domain}"])

        cloudfront_cert = aws.acm.Certificate(
            self.child_name("cloudfront"),
            aws.acm.CertificateArgs(**names, validation_method="DNS", key_algorithm="RSA_2048", tags=self.labels),
            opts=self.child_opts(provider=args.global_provider),
        )
        shared = cfg.regions.primary == "us-east-1"
        alb_cert = cloudfront_cert
        if not shared:
            alb_cert = aws.acm.Certificate(
                self.child_name("alb"),
                aws.acm.CertificateArgs(**names, validation_method="DNS", key_algorithm="RSA_2048", tags=self.labels),
                opts=self.child_opts(),
            )

        option = cloudfront_cert.domain_validation_options.apply(lambda opts: _record(opts[0]))
        self.validation_records = option.apply(lambda o: [o])
        fqdns = None
        if zone_id:
            record = aws.route53.Record(
                self.child_name("validation"),
                aws.route53.RecordArgs(
                    zone_id=zone_id,
                    name=option["name"],
                    type=option["type"],
                    records=[option["value"]],
                    ttl=300,
                    allow_overwrite=True,
                ),
                opts=self.child_opts(),
            )
            fqdns = [record.fqdn]

        cloudfront_valid = aws.acm.CertificateValidation(
            self.child_name("cloudfront-validation"),
            aws.acm.CertificateValidationArgs(certificate_arn=cloudfront_cert.arn, validation_record_fqdns=fqdns),
            opts=self.child_opts(provider=args.global_provider),
        )
        self.cloudfront_certificate_arn = cloudfront_valid.certificate_arn
        if shared:
            self.alb_certificate_arn = cloudfront_valid.certificate_arn
        else:
            alb_valid = aws.acm.CertificateValidation(
                self.child_name("alb-validation"),
                aws.acm.CertificateValidationArgs(certificate_arn=alb_cert.arn, validation_record_fqdns=fqdns),
                opts=self.child_opts(),
            )
            self.alb_certificate_arn = alb_valid.certificate_arn
        self.standby_alb_certificate_arn = None
        if args.standby_provider is not None:
            self.standby_alb_certificate_arn = self._standby_certificate(args, names, fqdns)
        self.register_outputs({"cloudfrontCertificateArn": self.cloudfront_certificate_arn})

    def _standby_certificate(self, args: AwsCertificatesArgs, names: dict, fqdns) -> pulumi.Output[str]:
        """The standby ALB's certificate in regions.secondary, validated by the same CNAME."""
        secondary = self.config.regions.secondary
        if secondary == "us-east-1":
            return self.cloudfront_certificate_arn
        cert = aws.acm.Certificate(
            self.child_name("alb-standby"),
            aws.acm.CertificateArgs(**names, validation_method="DNS", key_algorithm="RSA_2048", tags=self.labels),
            opts=self.child_opts(provider=args.standby_provider),
        )
        valid = aws.acm.CertificateValidation(
            self.child_name("alb-standby-validation"),
            aws.acm.CertificateValidationArgs(certificate_arn=cert.arn, validation_record_fqdns=fqdns),
            opts=self.child_opts(provider=args.standby_provider),
        )
        return valid.certificate_arn
