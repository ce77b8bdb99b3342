"""AWS edge (`ecs`), part 2: the Application Load Balancer that is CloudFront's only origin.

Creates:
- an S3 bucket for edge logs (ALB access logs under `alb/`, CloudFront standard logs under
  `cloudfront/`): public access blocked, TLS-only bucket policy, versioning (log files cannot be
  silently overwritten), lifecycle expiry (1 year in prod, 90 days otherwise; old versions 30
  days), SSE-S3 -- ALB access logs support only S3-managed keys, so this one
  bucket is not KMS-encrypted; ACLs stay enabled (BucketOwnerPreferred) because CloudFront
  standard logging delivers through the bucket ACL;
- the origin secret: a random value CloudFront sends in the `X-Origin-Verify` header; the ALB
  forwards only requests that carry it, so the ALB cannot be used to bypass CloudFront and WAF
  (the security group already admits only CloudFront's origin-facing addresses);
- the ALB in the public subnets: invalid header fields dropped, deletion protection in prod,
  access logs, idle timeout = `edge.streamingTimeoutSeconds` (SSE streams stay open);
- per routed service an `ip` target group `<prefix>-<service>-<port>` (health check on the
  readiness path, 120 s deregistration delay so in-flight streams finish); a port change replaces
  it, and since Pulumi creates a replacement before deleting the old one (deleteBeforeReplace
  off), the port in the name keeps the two apart; but the listener rule's actions and the ECS
  service's load balancers are ECS's (ignored, below), so neither moves to the new group and the
  old one cannot be deleted: a port change of a routed service does not complete (open,
  docs/deploy-aws.md); its health check marks a target unhealthy
  after `release.rollback.consecutiveHealthFailures` failures in a row (seed 002: 3);
- per routed service, whatever its release strategy, a second, alternate target group
  `<prefix>-<service>-<port>-b` of the same shape, for a canary/blue-green release's new tasks: the
  shape ECS needs exists before a service switches from rolling, so the switch is one `up`
  (components/app/ecs_release.py: `routed`);
- an HTTPS listener (certificate from ACM, policy ELBSecurityPolicy-TLS13-1-2-2021-06: TLS 1.3 and
  1.2 only) whose default action is a fixed 403, plus per routed service a rule forwarding
  requests for its host (and paths) that carry the origin secret to both target groups, weights
  100/0; ECS moves the weights during a release, so Pulumi ignores changes to its actions;
- with origin failover (components/platforms/aws_settings.py `origin_failover`) per routed service a
  rule for the Route 53 health checks: host header = the ALB's own DNS name (CloudFront always
  sends a service host, so no viewer request matches it) and path = the service's readiness path,
  forwarding to its target group without the origin secret -- Route 53 cannot send custom headers,
  and the health checkers reach the ALB through a security group of their own (Route 53's managed
  prefix list, components/network/aws.py). So a check is healthy exactly while the service's
  targets answer its readiness path through this ALB;
- an HTTP listener that only redirects to HTTPS (301).

The same class builds the standby's ALB in `regions.secondary` (`role="standby"`): its log bucket in
that region, the primary's origin secret (`origin_secret`: one value for both ALBs, so CloudFront's
header passes at either), and no alternate target groups (the standby's services roll; see
components/app/ecs.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import PlatformComponent
from components.app.ecs_release import health_failures, routed
from components.config import StackContext
from components.naming import bounded
from components.storage.s3 import expire_objects, private_bucket, tls_only_statement

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ORIGIN_HEADER = "X-Origin-Verify"
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
HEALTH_RULE_PRIORITY = 1000  # after every service rule (10, 20, ...): ALB allows 1-50000


def target_group_name(prefix: str, service: str, port: int) -> str:
    """`aia-prod-aws-api-8080`: at most 32 characters (hash-shortened), letters, digits, hyphens."""
    return bounded(f"{prefix}-{service}-{port}", 32)


def alternate_target_group_name(prefix: str, service: str, port: int) -> str:
    """`aia-prod-aws-api-8080-b`: the second target group of a canary/blue-green release."""
    return bounded(f"{prefix}-{service}-{port}-b", 32)


def path_patterns(paths: Sequence[str]) -> list[str]:
    """Route paths -> ALB path patterns: '/api' -> '/api', '/api/*'. '/' means everything (none)."""
    patterns: list[str] = []
    for p in paths:
        if p == "/":
            return []
        base = p.rstrip("/")
        patterns += [base, f"{base}/*"]
    return patterns


@dataclass(frozen=True)
class AwsLoadBalancerArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]
    # the groups the ALB carries besides `security_group_id` (the Route 53 health checkers')
    extra_security_group_ids: Sequence[pulumi.Input[str]] = ()
    # the standby's ALB: the primary's origin secret, its region, no release target groups
    origin_secret: Optional[pulumi.Output[str]] = None
    region: Optional[str] = None
    releases: bool = True
    # rules that let the Route 53 health checks reach each routed service (see the module docstring)
    health_check_rules: bool = False


class AwsLoadBalancer(PlatformComponent):
    """ALB, listeners, rules, target groups, log bucket, origin secret. Exposes `alb`,
    `target_group_arns`, `target_groups` (service -> TargetGroup), `alternate_target_groups` and
    `alternate_target_group_arns` (every routed service), `rules` (the listener rules),
    `rules_by_service`,
    `origin_secret` (secret Output), `logs_bucket`, `logs_bucket_ownership`, `health_check_paths`
    (routed service -> the path its Route 53 health check requests, with health-check rules)."""

    TYPE = "aiplatform:edge:AwsLoadBalancer"

    def __init__(self, name: str, args: AwsLoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        prod = cfg.is_production
        prefix = self.context.prefix

        bucket_policy = self._logs_bucket(args)

        if args.origin_secret is not None:
            self.origin_secret = pulumi.Output.secret(args.origin_secret)
        else:
            self.origin_secret_password = random.RandomPassword(
                self.child_name("origin-secret"), random.RandomPasswordArgs(length=48, special=False),
                opts=self.child_opts(),
            )
            self.origin_secret = pulumi.Output.secret(self.origin_secret_password.result)

        self.alb = aws.lb.LoadBalancer(
            self.child_name("alb"),
            aws.lb.LoadBalancerArgs(
                name=f"{prefix}-alb",
                load_balancer_type="application",
                internal=False,
                ip_address_type="ipv4",
                security_groups=[args.security_group_id, *args.extra_security_group_ids],
                subnets=list(args.public_subnet_ids),
                drop_invalid_header_fields=True,
                enable_deletion_protection=prod,
                enable_http2=True,
                idle_timeout=cfg.edge.streaming_timeout_seconds,
                access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=self.logs_bucket.id, prefix="alb", enabled=True),
                tags=self.labels,
            ),
            # ELB checks that it may write the access logs when the ALB is created
            opts=self.child_opts(depends_on=[bucket_policy]),
        )

        self.target_groups: dict[str, aws.lb.TargetGroup] = {}
        # service -> the second target group ECS moves traffic to during a canary/blue-green release
        self.alternate_target_groups: dict[str, aws.lb.TargetGroup] = {}
        for svc_name, svc in cfg.enabled_services.items():
            if not routed(svc):
                continue
            self.target_groups[svc_name] = self._target_group(
                args, svc_name, svc, "tg", target_group_name(prefix, svc_name, svc.port)
            )
            if args.releases:  # whatever the strategy (ecs_release.routed): a switch to canary/blueGreen is one `up`
                self.alternate_target_groups[svc_name] = self._target_group(
                    args, svc_name, svc, "tg-alternate", alternate_target_group_name(prefix, svc_name, svc.port)
                )

        https = self._listener(
            "https",
            443,
            "HTTPS",
            aws.lb.ListenerDefaultActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="text/plain", message_body="Forbidden", status_code="403"
                ),
            ),
            ssl_policy=TLS_POLICY,
            certificate_arn=args.certificate_arn,
        )
        self._listener(
            "http",
            80,
            "HTTP",
            aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443", status_code="HTTP_301"),
            ),
        )

        self.rules: list[aws.lb.ListenerRule] = []
        self.rules_by_service: dict[str, aws.lb.ListenerRule] = {}
        for priority, (svc_name, tg) in enumerate(self.target_groups.items(), start=1):
            svc = cfg.enabled_services[svc_name]
            conditions = [
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[cfg.host(svc.route)])
                ),
                aws.lb.ListenerRuleConditionArgs(
                    http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                        http_header_name=ORIGIN_HEADER, values=[self.origin_secret]
                    )
                ),
            ]
            patterns = path_patterns(svc.route.paths)
            if patterns:
                conditions.append(
                    aws.lb.ListenerRuleConditionArgs(
                        path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=patterns)
                    )
                )
            self.rules.append(
                aws.lb.ListenerRule(
                    self.child_name(svc_name, "rule"),
                    aws.lb.ListenerRuleArgs(
                        listener_arn=https.arn,
                        priority=priority * 10,
                        conditions=conditions,
                        actions=[self._forward(svc_name, tg)],
                        tags={**self.labels, "service": svc_name},
                    ),
                    # during a release ECS moves the weights of the forward action: they are its, not
                    # drift; every rule has the weighted shape from creation (ecs_release.routed)
                    opts=self.child_opts(ignore_changes=["actions"]),
                )
            )
            self.rules_by_service[svc_name] = self.rules[-1]
        self.health_check_paths: dict[str, str] = {}
        if args.health_check_rules:
            self._health_check_rules(https)
        self.https_listener = https
        self.target_group_arns = {n: tg.arn for n, tg in self.target_groups.items()}
        self.alternate_target_group_arns = {n: tg.arn for n, tg in self.alternate_target_groups.items()}
        self.register_outputs({"dnsName": self.alb.dns_name, "targetGroups": sorted(self.target_groups)})

    def _health_check_rules(self, https: aws.lb.Listener) -> None:
        """Per routed service: the ALB's own host name + the readiness path -> its target group, with no
        origin-secret condition (Route 53 health checks send no custom header)."""
        cfg = self.config
        for priority, (svc_name, tg) in enumerate(self.target_groups.items(), start=1):
            path = cfg.enabled_services[svc_name].effective_readiness_path or "/"
            self.health_check_paths[svc_name] = path
            aws.lb.ListenerRule(
                self.child_name(svc_name, "health-rule"),
                aws.lb.ListenerRuleArgs(
                    listener_arn=https.arn,
                    priority=HEALTH_RULE_PRIORITY + priority,
                    conditions=[
                        aws.lb.ListenerRuleConditionArgs(
                            host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[self.alb.dns_name])
                        ),
                        aws.lb.ListenerRuleConditionArgs(
                            path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[path])
                        ),
                    ],
                    actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=tg.arn)],
                    tags={**self.labels, "service": svc_name},
                ),
                opts=self.child_opts(),
            )

    def _target_group(
        self, args: AwsLoadBalancerArgs, svc_name: str, svc: Any, key: str, name: str
    ) -> aws.lb.TargetGroup:
        """An `ip` target group of a routed service (the primary one, or the alternate of a release)."""
        return aws.lb.TargetGroup(
            self.child_name(svc_name, key),
            aws.lb.TargetGroupArgs(
                # `port` (like protocol, target type and VPC) replaces a target group; Pulumi creates
                # the replacement first, so the name carries the port: old and new never clash
                name=name,
                port=svc.port,
                protocol="HTTP",
                target_type="ip",
                vpc_id=args.vpc_id,
                deregistration_delay=120,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True,
                    path=svc.effective_readiness_path or "/",
                    protocol="HTTP",
                    matcher="200-399",
                    interval=15,
                    timeout=5,
                    healthy_threshold=2,
                    # seed 002: a target is unhealthy after this many failed checks in a row, which
                    # the release's `unhealthy` alarm turns into a rollback
                    unhealthy_threshold=health_failures(svc),
                ),
                tags={**self.labels, "service": svc_name},
            ),
            opts=self.child_opts(),
        )

    def _forward(self, svc_name: str, tg: aws.lb.TargetGroup) -> aws.lb.ListenerRuleActionArgs:
        """A weighted forward to the service's two target groups (100/0) whose weights ECS moves; the
        standby's ALB (no releases: its services roll) forwards to the one group."""
        alternate = self.alternate_target_groups.get(svc_name)
        if alternate is None:
            return aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=tg.arn)
        return aws.lb.ListenerRuleActionArgs(
            type="forward",
            forward=aws.lb.ListenerRuleActionForwardArgs(
                target_groups=[
                    aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=tg.arn, weight=100),
                    aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=alternate.arn, weight=0),
                ]
            ),
        )

    def _listener(
        self, key: str, port: int, protocol: str, default_action: aws.lb.ListenerDefaultActionArgs, **tls: Any
    ) -> aws.lb.Listener:
        """A listener of the ALB whose default action is `default_action` (`tls`: policy, certificate)."""
        return aws.lb.Listener(
            self.child_name(key),
            aws.lb.ListenerArgs(
                load_balancer_arn=self.alb.arn,
                port=port,
                protocol=protocol,
                default_actions=[default_action],
                tags=self.labels,
                **tls,
            ),
            opts=self.child_opts(),
        )

    def _logs_bucket(self, args: AwsLoadBalancerArgs) -> aws.s3.BucketPolicy:
        self.logs_bucket, versioning, self.logs_bucket_ownership = private_bucket(
            self,
            "logs",
            "edge-logs",
            args.account_id,
            args.region or self.config.regions.primary,
            # CloudFront standard logging delivers through the bucket ACL
            object_ownership="BucketOwnerPreferred",
            # ALB access logs support only S3-managed keys
            encryption=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            ),
        )
        expire_objects(self, "logs", self.logs_bucket, versioning, "expire-logs", 365 if self.config.is_production else 90)
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
        policy = pulumi.Output.all(self.logs_bucket.arn, args.account_id, elb_account.arn).apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # regions from before August 2022 deliver as the regional ELB account
                            "Sid": "AlbAccessLogsElbAccount",
                            "Effect": "Allow",
                            "Principal": {"AWS": a[2]},
                            "Action": "s3:PutObject",
                            "Resource": f"{a[0]}/alb/AWSLogs/{a[1]}/*",
                        },
                        {
                            "Sid": "AlbAccessLogsService",
                            "Effect": "Allow",
                            "Principal": {"Service": LOG_DELIVERY_SERVICE},
                            "Action": "s3:PutObject",
                            "Resource": f"{a[0]}/alb/AWSLogs/{a[1]}/*",
                        },
                        tls_only_statement(a[0]),
                    ],
                }
            )
        )
        return aws.s3.BucketPolicy(
            self.child_name("logs-policy"),
            aws.s3.BucketPolicyArgs(bucket=self.logs_bucket.id, policy=policy),
            opts=self.child_opts(),
        )
