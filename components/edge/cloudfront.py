"""AWS edge (`ecs`), part 3: CloudFront distributions and the WAFv2 web ACL in front of them.

Built with the us-east-1 provider (the platform passes it as this component's provider): a
CLOUDFRONT-scope web ACL can only be created there, and CloudFront's metrics live there.

WAFv2 web ACL (scope CLOUDFRONT), default allow, rules in priority order:
1. AWS managed rule groups: AmazonIpReputationList, CommonRuleSet, KnownBadInputsRuleSet,
   SQLiRuleSet. CommonRuleSet's `SizeRestrictions_BODY` (bodies > 8 KB) is set to count: chat
   requests carry long prompts; body size is bounded by `edge.maxBodySizeMb` in the app instead.
   The body rules that free-text prompts trip (a user pasting SQL or HTML into a chat is not an
   attack on this app) -- `CrossSiteScripting_BODY`, `SQLi_BODY`, `SQLiExtendedPatterns_BODY` --
   are overridden to count inside the groups, and the rule `block-body-injection` blocks what they
   label (`awswaf:managed:aws:...:<rule>_Body`) on every path outside `aiPaths`; on `aiPaths` it
   blocks only with `aws.wafAiBodyRules: block`. This is AWS's documented pattern (rule action
   override + label match rule); start in count, read the WAF logs, then decide.
2. Rate-based rules from `edge.rateLimits` (seed 000), per client IP:
   - AI routes (`aiPaths`, any host): `aiRoutesPerMinute` (30);
   - API hosts (routed services not in `aws.cachedServices`): `perClientPerMinute` (60);
   - everything: `globalPerMinute` (1000) -- the seed's express "global" limiter is keyed by IP too.
   WAF counts requests per evaluation window: 300 s by default, or 60/120/600 s. The rules use a
   60 s window, so the seed's per-minute numbers are the WAF limits as they are (with the default
   5-minute window they would be 5x: 150, 300, 5000). WAF's minimum limit is 10 per window and
   it acts within roughly a minute of the rate being exceeded (it is not a precise token bucket).

Per routed service one distribution (aliases = the service's host), so each host gets the cache
behaviour that fits it:
- services in `aws.cachedServices` (the Next.js frontend): the default behaviour is cached with a
  policy that honours the origin's Cache-Control (default TTL 0: nothing is cached unless the app
  says so; max 1 year for hashed static assets), gzip/brotli; `/api/*` (Next.js API routes and
  health) is uncached;
- every other service (the API): uncached (managed CachingDisabled), all methods.
All behaviours: viewer `redirect-to-https`, every viewer header/cookie/query forwarded (managed
AllViewer origin request policy: the ALB routes on the Host header, and the ALB certificate covers
`*.<domain>` so CloudFront's origin TLS check passes), security response headers (HSTS 2 years with
includeSubdomains and preload -- the hstspreload.org requirements -- nosniff, frame DENY, strict
referrer).
Viewer TLS: the ACM certificate from us-east-1, SNI, minimum TLSv1.2_2021, HTTP/2 and HTTP/3.
Origin: the ALB (or `origin.<domain>` when Route 53 manages failover), `https-only`, TLSv1.2,
the `X-Origin-Verify` secret header, read timeout `aws.originReadTimeoutSeconds`.

Streaming: CloudFront's origin read timeout is the longest gap between two response packets; an
SSE stream that sends an event (or a comment/heartbeat) at least every 60 s stays open however
long it lasts. 60 s is the maximum without a Service Quotas increase ("Response timeout per
origin", up to 180 s); the seeds' 300-600 s proxy timeouts apply to the ALB idle timeout
(edge.streamingTimeoutSeconds) and the app, and the app must send heartbeats under 60 s.

Standard logs go to the edge log bucket (`cloudfront/<service>/`). CloudFront grants itself write
access through the bucket ACL when a distribution is created, so every distribution depends on
the bucket's ownership controls (ACLs enabled) -- created in parallel, CloudFront can find ACLs
still disabled and fail. With `aws.hostedZoneId`, alias A/AAAA records point each host at its
distribution.

WAF logs go to the CloudWatch log group `aws-waf-logs-<prefix>` (the prefix WAF requires; in
us-east-1, where a CLOUDFRONT web ACL lives), encrypted with the us-east-1 logs key, kept
`aws.logRetentionDays`; the `authorization` and `cookie` headers are redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.config import StackContext
from components.edge.alb import ORIGIN_HEADER

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed cache policy
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"  # managed origin request policy
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
CACHED_METHODS = ["GET", "HEAD"]
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
RATE_WINDOW_SECONDS = 60
# managed body rules that free-text prompts trip: group -> (rule, label namespace)
BODY_INJECTION_RULES = {
    "AWSManagedRulesCommonRuleSet": ("core-rule-set", ("CrossSiteScripting_BODY",)),
    "AWSManagedRulesSQLiRuleSet": ("sql-database", ("SQLi_BODY", "SQLiExtendedPatterns_BODY")),
}
HSTS_MAX_AGE_SECONDS = 63072000  # 2 years; preload lists need at least 1 year
REDACTED_HEADERS = ("authorization", "cookie")
ORIGIN_ID = "alb"

waf = aws.wafv2
_SD = "WebAclRuleStatementRateBasedStatementScopeDownStatement"


def _sd(name: str):
    return getattr(waf, f"{_SD}{name}Args")


def _byte_match(field: str, value: str, constraint: str, prefix: str = _SD):
    """A byte match on the URI path or the Host header (lower-cased), built from the statement
    classes named `<prefix>...Args` (a rate rule's scope-down statement, or a rule statement)."""

    def cls(name: str):
        return getattr(waf, f"{prefix}{name}Args")

    if field == "host":
        to_match = cls("ByteMatchStatementFieldToMatch")(
            single_header=cls("ByteMatchStatementFieldToMatchSingleHeader")(name="host")
        )
    else:
        to_match = cls("ByteMatchStatementFieldToMatch")(uri_path=cls("ByteMatchStatementFieldToMatchUriPath")())
    return cls("")(
        byte_match_statement=cls("ByteMatchStatement")(
            field_to_match=to_match,
            positional_constraint=constraint,
            search_string=value,
            text_transformations=[cls("ByteMatchStatementTextTransformation")(priority=0, type="LOWERCASE")],
        )
    )


def _any_of(statements: list, prefix: str = _SD):
    if len(statements) == 1:
        return statements[0]
    return getattr(waf, f"{prefix}Args")(or_statement=getattr(waf, f"{prefix}OrStatementArgs")(statements=statements))


def _count(rule_name: str) -> waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs:
    return waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
        name=rule_name,
        action_to_use=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
            count=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
        ),
    )


def body_injection_labels() -> list[str]:
    """The labels the counted body rules attach: `awswaf:managed:aws:<namespace>:<Rule>_Body`."""
    return [
        f"awswaf:managed:aws:{namespace}:{rule.removesuffix('_BODY')}_Body"
        for namespace, rules in BODY_INJECTION_RULES.values()
        for rule in rules
    ]


def _visibility(metric: str) -> waf.WebAclRuleVisibilityConfigArgs:
    return waf.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


@dataclass(frozen=True)
class AwsCdnArgs:
    context: StackContext
    origin_domain: pulumi.Input[str]
    origin_secret: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]  # us-east-1, validated
    logs_bucket_domain_name: pulumi.Input[str]
    # the log bucket's ownership controls (ACLs enabled) and any ACL: CloudFront logging needs them first
    logs_bucket_acl_dependencies: Sequence[pulumi.Resource] = field(default_factory=tuple)
    log_kms_key_arn: Optional[pulumi.Input[str]] = None  # us-east-1 logs key: the WAF log group


class AwsCdn(PlatformComponent):
    """WAFv2 web ACL and one CloudFront distribution per routed service. Exposes `web_acl`,
    `distributions` (service -> Distribution), `hosts` (service -> host)."""

    TYPE = "aiplatform:edge:AwsCdn"

    def __init__(self, name: str, args: AwsCdnArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        routed = {n: s for n, s in cfg.enabled_services.items() if s.kind == "web" and s.route is not None}
        self.hosts = {n: cfg.host(s.route) for n, s in routed.items()}
        api_hosts = [h for n, h in self.hosts.items() if n not in cfg.aws.cached_services]

        self.web_acl = self._web_acl(api_hosts) if cfg.edge.waf else None
        if self.web_acl is not None:
            self._waf_logging(args)
        frontend_policy = aws.cloudfront.CachePolicy(
            self.child_name("frontend-cache"),
            aws.cloudfront.CachePolicyArgs(
                name=f"{self.context.prefix}-frontend",
                comment="honour the origin's Cache-Control; nothing cached without it",
                min_ttl=0,
                default_ttl=0,
                max_ttl=31536000,
                parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                    cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                        cookie_behavior="none"
                    ),
                    headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                        header_behavior="none"
                    ),
                    query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                        query_string_behavior="all"
                    ),
                    enable_accept_encoding_gzip=True,
                    enable_accept_encoding_brotli=True,
                ),
            ),
            opts=self.child_opts(),
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            self.child_name("security-headers"),
            aws.cloudfront.ResponseHeadersPolicyArgs(
                name=f"{self.context.prefix}-security-headers",
                comment="HSTS (preload-ready), nosniff, frame DENY, strict referrer",
                security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                    strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                        access_control_max_age_sec=HSTS_MAX_AGE_SECONDS, include_subdomains=True, preload=True,
                        override=True,
                    ),
                    content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                        override=True
                    ),
                    frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                        frame_option="DENY", override=True
                    ),
                    referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                        referrer_policy="strict-origin-when-cross-origin", override=True
                    ),
                ),
            ),
            opts=self.child_opts(),
        )

        self.distributions: dict[str, aws.cloudfront.Distribution] = {}
        for svc_name, host in self.hosts.items():
            cached = svc_name in cfg.aws.cached_services

            def behaviour(cls, policy_id, **extra):
                return cls(
                    target_origin_id=ORIGIN_ID,
                    viewer_protocol_policy="redirect-to-https",
                    allowed_methods=ALL_METHODS,
                    cached_methods=CACHED_METHODS,
                    cache_policy_id=policy_id,
                    origin_request_policy_id=ALL_VIEWER,
                    response_headers_policy_id=headers.id,
                    compress=True,
                    **extra,
                )

            default = behaviour(
                aws.cloudfront.DistributionDefaultCacheBehaviorArgs,
                frontend_policy.id if cached else CACHING_DISABLED,
            )
            ordered = None
            if cached:
                ordered = [
                    behaviour(
                        aws.cloudfront.DistributionOrderedCacheBehaviorArgs, CACHING_DISABLED, path_pattern="/api/*"
                    )
                ]
            self.distributions[svc_name] = aws.cloudfront.Distribution(
                self.child_name(svc_name),
                aws.cloudfront.DistributionArgs(
                    enabled=True,
                    comment=f"{self.context.stack} {svc_name} ({host})",
                    aliases=[host],
                    http_version="http2and3",
                    is_ipv6_enabled=True,
                    price_class=cfg.aws.cloudfront_price_class,
                    web_acl_id=self.web_acl.arn if self.web_acl is not None else None,
                    origins=[
                        aws.cloudfront.DistributionOriginArgs(
                            origin_id=ORIGIN_ID,
                            domain_name=args.origin_domain,
                            connection_attempts=3,
                            connection_timeout=10,
                            custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                                http_port=80,
                                https_port=443,
                                origin_protocol_policy="https-only",
                                origin_ssl_protocols=["TLSv1.2"],
                                origin_read_timeout=cfg.aws.origin_read_timeout_seconds,
                                origin_keepalive_timeout=60,
                            ),
                            custom_headers=[
                                aws.cloudfront.DistributionOriginCustomHeaderArgs(
                                    name=ORIGIN_HEADER, value=args.origin_secret
                                )
                            ],
                        )
                    ],
                    default_cache_behavior=default,
                    ordered_cache_behaviors=ordered,
                    viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                        acm_certificate_arn=args.certificate_arn,
                        ssl_support_method="sni-only",
                        minimum_protocol_version="TLSv1.2_2021",
                    ),
                    restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                        geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                            restriction_type="none", locations=[]
                        )
                    ),
                    logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                        bucket=args.logs_bucket_domain_name, prefix=f"cloudfront/{svc_name}/", include_cookies=False
                    ),
                    wait_for_deployment=False,
                    tags={**self.labels, "service": svc_name},
                ),
                opts=self.child_opts(depends_on=list(args.logs_bucket_acl_dependencies)),
            )
            if cfg.aws.hosted_zone_id:
                for record_type in ("A", "AAAA"):
                    aws.route53.Record(
                        self.child_name(svc_name, record_type.lower()),
                        aws.route53.RecordArgs(
                            zone_id=cfg.aws.hosted_zone_id,
                            name=host,
                            type=record_type,
                            aliases=[
                                aws.route53.RecordAliasArgs(
                                    name=self.distributions[svc_name].domain_name,
                                    zone_id=self.distributions[svc_name].hosted_zone_id,
                                    evaluate_target_health=False,
                                )
                            ],
                        ),
                        opts=self.child_opts(),
                    )
        self.register_outputs(
            {"distributions": {n: d.domain_name for n, d in self.distributions.items()}, "hosts": self.hosts}
        )

    def _body_injection_rule(self, priority: int, ai_paths: Sequence[str]) -> waf.WebAclRuleArgs:
        """Block what the counted SQLi/XSS body rules labelled: everywhere with
        `aws.wafAiBodyRules: block`, otherwise everywhere but `ai_paths` (counted there)."""
        top = "WebAclRuleStatement"
        labels = [
            waf.WebAclRuleStatementArgs(
                label_match_statement=waf.WebAclRuleStatementLabelMatchStatementArgs(scope="LABEL", key=key)
            )
            for key in body_injection_labels()
        ]
        matched = _any_of(labels, top)
        statement = matched
        if self.config.aws.waf_ai_body_rules == "count":
            ai = _any_of([_byte_match("path", p.lower(), "STARTS_WITH", top) for p in ai_paths], top)
            statement = waf.WebAclRuleStatementArgs(
                and_statement=waf.WebAclRuleStatementAndStatementArgs(
                    statements=[matched, waf.WebAclRuleStatementArgs(
                        not_statement=waf.WebAclRuleStatementNotStatementArgs(statement=ai)
                    )]
                )
            )
        return waf.WebAclRuleArgs(
            name="block-body-injection",
            priority=priority,
            action=waf.WebAclRuleActionArgs(block=waf.WebAclRuleActionBlockArgs()),
            statement=statement,
            visibility_config=_visibility("block-body-injection"),
        )

    def _waf_logging(self, args: AwsCdnArgs) -> None:
        """WAF logs to `aws-waf-logs-<prefix>` (CloudWatch Logs, us-east-1), credentials redacted."""
        group = aws.cloudwatch.LogGroup(
            self.child_name("waf-logs"),
            aws.cloudwatch.LogGroupArgs(
                name=f"aws-waf-logs-{self.context.prefix}",
                retention_in_days=self.config.aws.log_retention_days,
                kms_key_id=args.log_kms_key_arn,
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
        waf.WebAclLoggingConfiguration(
            self.child_name("waf-logging"),
            waf.WebAclLoggingConfigurationArgs(
                resource_arn=self.web_acl.arn,
                log_destination_configs=[group.arn],
                redacted_fields=[
                    waf.WebAclLoggingConfigurationRedactedFieldArgs(
                        single_header=waf.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header)
                    )
                    for header in REDACTED_HEADERS
                ],
            ),
            opts=self.child_opts(),
        )

    def _web_acl(self, api_hosts: list[str]) -> waf.WebAcl:
        cfg = self.config
        limits = cfg.edge.rate_limits
        rules = []
        for priority, group in enumerate(MANAGED_RULE_GROUPS):
            counted = list(BODY_INJECTION_RULES.get(group, ("", ()))[1])
            if group == "AWSManagedRulesCommonRuleSet":
                counted.insert(0, "SizeRestrictions_BODY")
            overrides = [_count(rule) for rule in counted] or None
            rules.append(
                waf.WebAclRuleArgs(
                    name=group,
                    priority=priority,
                    override_action=waf.WebAclRuleOverrideActionArgs(none=waf.WebAclRuleOverrideActionNoneArgs()),
                    statement=waf.WebAclRuleStatementArgs(
                        managed_rule_group_statement=waf.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            vendor_name="AWS", name=group, rule_action_overrides=overrides
                        )
                    ),
                    visibility_config=_visibility(group),
                )
            )

        def rate_rule(rule_name: str, priority: int, limit: int, scope_down=None) -> waf.WebAclRuleArgs:
            return waf.WebAclRuleArgs(
                name=rule_name,
                priority=priority,
                action=waf.WebAclRuleActionArgs(block=waf.WebAclRuleActionBlockArgs()),
                statement=waf.WebAclRuleStatementArgs(
                    rate_based_statement=waf.WebAclRuleStatementRateBasedStatementArgs(
                        aggregate_key_type="IP",
                        limit=max(limit, 10),
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        scope_down_statement=scope_down,
                    )
                ),
                visibility_config=_visibility(rule_name),
            )

        rules.append(self._body_injection_rule(len(MANAGED_RULE_GROUPS), limits.ai_paths))
        ai = _any_of([_byte_match("path", p.lower(), "STARTS_WITH") for p in limits.ai_paths])
        rules.append(rate_rule("rate-ai-routes", 10, limits.ai_routes_per_minute, ai))
        if api_hosts:
            api = _any_of([_byte_match("host", h, "EXACTLY") for h in api_hosts])
            rules.append(rate_rule("rate-per-client-api", 11, limits.per_client_per_minute, api))
        rules.append(rate_rule("rate-global-per-ip", 12, limits.global_per_minute))

        return waf.WebAcl(
            self.child_name("waf"),
            waf.WebAclArgs(
                name=f"{self.context.prefix}-edge",
                description="managed rule groups and the seed's rate limits (per IP, 60 s window)",
                scope="CLOUDFRONT",
                default_action=waf.WebAclDefaultActionArgs(allow=waf.WebAclDefaultActionAllowArgs()),
                rules=rules,
                visibility_config=waf.WebAclVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True, metric_name=f"{self.context.prefix}-edge", sampled_requests_enabled=True
                ),
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
