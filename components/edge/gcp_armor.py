"""Cloud Armor security policy for a global external Application Load Balancer (`cloudrun`, `gke`).

One `compute.SecurityPolicy` (type CLOUD_ARMOR, attached to backend services; for `gke` through
a BackendConfig's `securityPolicy.name`) with, in evaluation order:

0. with Cloud Armor Enterprise (`gcp.cloudArmorTier`), the Adaptive Protection auto-deploy rule
   (`evaluateAdaptiveProtectionAutoDeploy()`, deny 403): a rule Adaptive Protection proposes for a
   detected L7 attack is enforced at once instead of waiting for an operator;
1. the preconfigured OWASP Top-10 WAF rules (ModSecurity CRS 3.3: SQLi, XSS, LFI, RFI, RCE,
   method enforcement, scanner detection, protocol attack, session fixation), deny 403, at
   sensitivity 1 (the level with the fewest false positives) unless configured otherwise, and the
   `cve-canary` set (Log4Shell, CVE-2021-44228/45046, and other critical CVEs), deny 403, with
   every signature of the set (no sensitivity option: Cloud Armor's default, level 4), so
   obfuscated `${jndi:` lookups are caught too; legitimate traffic carries no such lookups;
2. rate limits from `edge.rateLimits` (seed 000), per client IP, `throttle` with HTTP 429 above
   the limit: AI routes (`aiPaths`, e.g. /api/chat) `aiRoutesPerMinute` (30/min), every other
   request `perClientPerMinute` (60/min). Cloud Armor on a backend service evaluates requests
   that reach the backend, so CDN cache hits (static frontend assets) do not count;
3. the default rule: allow.

A request under a throttle rule's limit is allowed and evaluation stops, so the WAF rules must
come first and a request meets exactly one rate limit. That is also why the seed's *global*
1000 req/min is not a Cloud Armor rule: a key-ALL throttle after the per-client one would never
be reached, and one before it would end evaluation for every request under 1000/min, so no
per-client limit would apply. Nothing at the edge enforces that number. What bounds aggregate
load is the services' max instances x concurrency (Cloud Run) or the node pool (GKE).

Adaptive Protection (ML-based L7 DDoS detection) is on when `adaptive_protection` (prod). On the
Standard tier it only *detects*: it raises alerts with a suggested rule, which an operator must
deploy; it caps nothing. `gcp.cloudArmorTier: CA_ENTERPRISE_PAYGO` (or `_ANNUAL`, billed per
project) enrols the project in Cloud Armor Enterprise and turns on auto-deploy (rule 0 above),
which is the real automatic mitigation; it still is not a fixed 1000 req/min cap.
JSON body parsing is on so the WAF inspects JSON API payloads, and verbose logging in non-prod
helps tuning false positives.

Exposes `policy`, `policy_name` (stable physical name) and `rules` (their names, for tests/docs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext

# Preconfigured WAF rule sets (CRS 3.3, the current stable versions).
OWASP_RULES: tuple[tuple[str, str], ...] = (
    ("sqli-v33-stable", "SQL injection"),
    ("xss-v33-stable", "cross-site scripting"),
    ("lfi-v33-stable", "local file inclusion"),
    ("rfi-v33-stable", "remote file inclusion"),
    ("rce-v33-stable", "remote code execution"),
    ("methodenforcement-v33-stable", "method enforcement"),
    ("scannerdetection-v33-stable", "scanner detection"),
    ("protocolattack-v33-stable", "protocol attack"),
    ("sessionfixation-v33-stable", "session fixation"),
    # not OWASP, but in the same place: Log4Shell (CVE-2021-44228, CVE-2021-45046) and other
    # critical CVEs Google adds to the set
    ("cve-canary", "Log4j and other critical CVEs"),
)
# Rule sets evaluated with every signature (no sensitivity option): near-zero false positives.
ALL_SIGNATURES = frozenset({"cve-canary"})
AUTO_DEPLOY_PRIORITY = 500  # before the WAF rules: a detected attack is blocked first
DEFAULT_RULE_PRIORITY = 2147483647


@dataclass(frozen=True)
class CloudArmorPolicyArgs:
    context: StackContext
    project: pulumi.Input[str]
    adaptive_protection: bool
    waf_sensitivity: int = 1
    rules_enabled: bool = True  # edge.waf: False keeps only the rate limits
    # Cloud Armor Enterprise tier to enrol the project in (CA_ENTERPRISE_PAYGO/_ANNUAL); None: the
    # project's tier is left as it is (Standard unless enrolled elsewhere)
    tier: Optional[str] = None
    depends_on: Sequence[pulumi.Resource] = ()  # the Compute API


def _path_expression(paths: Sequence[str]) -> str:
    return " || ".join(f"request.path.startsWith('{p}')" for p in paths)


class CloudArmorPolicy(PlatformComponent):
    """Cloud Armor: seed rate limits, OWASP preconfigured rules, adaptive protection in prod."""

    TYPE = "aiplatform:edge:CloudArmorPolicy"

    def __init__(self, name: str, args: CloudArmorPolicyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        limits = self.config.edge.rate_limits
        self.policy_name = f"{self.context.prefix}-edge"
        Rule = gcp.compute.SecurityPolicyRuleArgs
        Match = gcp.compute.SecurityPolicyRuleMatchArgs
        Expr = gcp.compute.SecurityPolicyRuleMatchExprArgs

        def throttle(priority: int, description: str, match: gcp.compute.SecurityPolicyRuleMatchArgs, count: int) -> gcp.compute.SecurityPolicyRuleArgs:
            return Rule(
                priority=priority,
                description=description,
                action="throttle",
                match=match,
                rate_limit_options=gcp.compute.SecurityPolicyRuleRateLimitOptionsArgs(
                    conform_action="allow",
                    exceed_action="deny(429)",
                    enforce_on_key="IP",
                    rate_limit_threshold=gcp.compute.SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(
                        count=count, interval_sec=60
                    ),
                ),
            )

        every_request = Match(
            versioned_expr="SRC_IPS_V1", config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"])
        )
        rules: list[gcp.compute.SecurityPolicyRuleArgs] = []
        self.rules: list[str] = []
        enterprise = args.tier is not None and args.tier.startswith("CA_ENTERPRISE")
        self.tier = None
        if args.tier is not None:
            # project-wide: every policy of the project gets the tier's features (and its bill)
            self.tier = gcp.compute.ProjectCloudArmorTier(
                self.child_name("tier"),
                gcp.compute.ProjectCloudArmorTierArgs(project=args.project, cloud_armor_tier=args.tier),
                opts=self.child_opts(depends_on=list(args.depends_on) or None),
            )
        auto_deploy = enterprise and args.adaptive_protection
        if auto_deploy:
            rules.append(
                Rule(
                    priority=AUTO_DEPLOY_PRIORITY,
                    description="Adaptive Protection: rules proposed for a detected attack are enforced",
                    action="deny(403)",
                    match=Match(expr=Expr(expression="evaluateAdaptiveProtectionAutoDeploy()")),
                )
            )
            self.rules.append("adaptive-auto-deploy")
        if args.rules_enabled:
            for index, (rule_set, what) in enumerate(OWASP_RULES):
                # Log4j: all signatures (the default, sensitivity 4); the others at the configured level
                options = "" if rule_set in ALL_SIGNATURES else f", {{'sensitivity': {args.waf_sensitivity}}}"
                rules.append(
                    Rule(
                        priority=1000 + index * 10,
                        description=f"OWASP: {what}",
                        action="deny(403)",
                        match=Match(
                            expr=Expr(
                                expression=f"evaluatePreconfiguredWaf('{rule_set}'{options})"
                            )
                        ),
                    )
                )
                self.rules.append(rule_set)
        # A request under a throttle rule's limit is allowed and evaluation stops there, so the WAF
        # rules come first and only one rate limit applies to a request: the AI one on AI routes.
        rules.append(
            throttle(
                2000,
                f"AI routes: {limits.ai_routes_per_minute}/min per client",
                Match(expr=Expr(expression=_path_expression(limits.ai_paths))),
                limits.ai_routes_per_minute,
            )
        )
        rules.append(throttle(2100, f"{limits.per_client_per_minute}/min per client", every_request, limits.per_client_per_minute))
        self.rules += ["rate-ai-routes", "rate-per-client"]
        rules.append(
            Rule(
                priority=DEFAULT_RULE_PRIORITY,
                description="default: allow",
                action="allow",
                match=every_request,
            )
        )

        self.policy = gcp.compute.SecurityPolicy(
            self.child_name("policy"),
            gcp.compute.SecurityPolicyArgs(
                project=args.project,
                name=self.policy_name,
                type="CLOUD_ARMOR",
                description="WAF and rate limits for the platform's load balancer",
                rules=rules,
                adaptive_protection_config=gcp.compute.SecurityPolicyAdaptiveProtectionConfigArgs(
                    layer7_ddos_defense_config=gcp.compute.SecurityPolicyAdaptiveProtectionConfigLayer7DdosDefenseConfigArgs(
                        enable=True, rule_visibility="PREMIUM" if enterprise else "STANDARD"
                    ),
                    # Enterprise only: deploy the proposed rule once an attack is this sure and this big
                    auto_deploy_config=gcp.compute.SecurityPolicyAdaptiveProtectionConfigAutoDeployConfigArgs(
                        load_threshold=0.8,
                        confidence_threshold=0.5,
                        impacted_baseline_threshold=0.01,
                        expiration_sec=7200,
                    )
                    if auto_deploy
                    else None,
                )
                if args.adaptive_protection
                else None,
                advanced_options_config=gcp.compute.SecurityPolicyAdvancedOptionsConfigArgs(
                    json_parsing="STANDARD",
                    log_level="NORMAL" if self.config.is_production else "VERBOSE",
                ),
                labels=self.labels,
            ),
            opts=self.child_opts(depends_on=[*args.depends_on, *([self.tier] if self.tier else [])] or None),
        )
        self.register_outputs({"policy": self.policy_name, "rules": self.rules, "tier": args.tier})
