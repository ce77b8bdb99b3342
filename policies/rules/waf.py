"""A web application firewall on every public edge, with managed rules and rate limits.

Seed 000 architecture: CDN -> WAF -> load balancer; rate limits 1000 req/min global, 60 req/min
per client, 30 req/min on AI routes; seeds 002/003: rate limiting and DDoS protection.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import Check, resource_policy, stack_policy
from .props import Invalid, get, is_set, is_unknown, parse_json, present, seq

BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig"
CLOUDFRONT = "aws:cloudfront/distribution:Distribution"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
SECURITY_POLICY_RULE = "gcp:compute/securityPolicyRule:SecurityPolicyRule"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_RULE = "aws:wafv2/webAclRule:WebAclRule"

_PUBLIC_SCHEMES = ("EXTERNAL", "EXTERNAL_MANAGED")


@resource_policy(
    name="waf-on-public-edge",
    theme="waf",
    summary="Every public edge is protected by a web application firewall.",
    severity=Severity.HIGH,
    types=(BACKEND_SERVICE, BACKEND_CONFIG, CLOUDFRONT),
    checks="GCP backend services of external load balancers (loadBalancingScheme EXTERNAL/EXTERNAL_MANAGED, "
    "the default) have a Cloud Armor `securityPolicy`; GKE BackendConfig sets spec.securityPolicy.name; "
    "CloudFront distributions have a WAFv2 `webAclId`.",
    source="seed 000 (architecture: CDN -> WAF -> LB); seed 002/003 (rate limiting and DDoS protection)",
    remediation="Attach the stack's Cloud Armor policy (backend_service.security_policy / BackendConfig "
    "spec.securityPolicy) or the CloudFront-scoped WAFv2 web ACL (distribution.web_acl_id).",
    url="https://cloud.google.com/armor/docs/security-policy-overview",
)
def waf_on_public_edge(args: ResourceValidationArgs, check: Check) -> None:
    kind = args.resource_type
    if kind == BACKEND_SERVICE:
        scheme = get(args.props, "loadBalancingScheme")
        if not check.known(scheme, "loadBalancingScheme") or (scheme or "EXTERNAL") not in _PUBLIC_SCHEMES:
            return
        if not present(get(args.props, "securityPolicy")):
            check.fail("external backend service has no Cloud Armor securityPolicy.")
    elif kind == BACKEND_CONFIG:
        if not present(get(args.props, "spec.securityPolicy.name")):
            check.fail("BackendConfig has no spec.securityPolicy (Cloud Armor).")
    else:
        if not present(get(args.props, "webAclId")):
            check.fail("CloudFront distribution has no WAFv2 web ACL (webAclId).")


# ---------------------------------------------------------------------------------------------


def _armor_rule_kinds(rule: Any, where: str, check: Check) -> set[str]:
    kinds: set[str] = set()
    action = get(rule, "action")
    expression = get(rule, "match.expr.expression")
    preview = get(rule, "preview")
    for value, what in ((action, "action"), (expression, "match.expr.expression"), (preview, "preview")):
        if not check.known(value, f"{where}.{what}"):
            return kinds
    if preview is True:
        return kinds  # preview rules log only
    if isinstance(action, str) and action in ("throttle", "rate_based_ban"):
        kinds.add("rate limit")
    if isinstance(action, str) and action.startswith("deny") and isinstance(expression, str) and (
        "evaluatePreconfiguredWaf(" in expression or "evaluatePreconfiguredExpr(" in expression
    ):
        kinds.add("managed WAF rules")
    return kinds


def _statement_kinds(statement: Any) -> set[str]:
    kinds: set[str] = set()
    if is_set(get(statement, "managedRuleGroupStatement")) is True or is_set(get(statement, "ManagedRuleGroupStatement")) is True:
        kinds.add("managed WAF rules")
    if is_set(get(statement, "rateBasedStatement")) is True or is_set(get(statement, "RateBasedStatement")) is True:
        kinds.add("rate limit")
    return kinds


@stack_policy(
    name="waf-managed-rules-and-rate-limits",
    theme="waf",
    summary="Each WAF policy blocks with managed rule sets and rate-limits clients.",
    severity=Severity.HIGH,
    types=(SECURITY_POLICY, SECURITY_POLICY_RULE, WEB_ACL, WEB_ACL_RULE),
    checks="Cloud Armor policies (type CLOUD_ARMOR, inline rules plus SecurityPolicyRule resources that depend "
    "on them): a non-preview deny rule using evaluatePreconfiguredWaf/Expr (OWASP CRS) and a throttle or "
    "rate_based_ban rule; WAFv2 web ACLs (rules, ruleJson and WebAclRule resources): a managed rule group "
    "statement and a rate-based statement.",
    source="seed 000 (rate limits: 1000 req/min global, 60 req/min per client, 30 req/min AI routes); seeds "
    "002/003 (rate limiting and DDoS protection); OWASP ModSecurity Core Rule Set / AWS managed rules",
    remediation="Add Cloud Armor rules `evaluatePreconfiguredWaf('sqli-v33-stable')`/`xss-v33-stable` with "
    "action deny(403) and a `throttle` rule keyed on IP from edge.rateLimits; for WAFv2 add "
    "AWSManagedRulesCommonRuleSet/KnownBadInputs and a rate_based_statement.",
    url="https://cloud.google.com/armor/docs/waf-rules",
)
def waf_managed_rules_and_rate_limits(args: StackValidationArgs, check: Check) -> None:
    policies = [r for r in args.resources if r.resource_type in (SECURITY_POLICY, WEB_ACL)]
    extra: dict[str, list[Any]] = {}
    for r in args.resources:
        if r.resource_type in (SECURITY_POLICY_RULE, WEB_ACL_RULE):
            for dep in r.dependencies:
                extra.setdefault(dep.urn, []).append(r)
    for policy in policies:
        kinds: set[str] = set()
        unknowns_before = len(check.unknowns)
        label = f"{'Cloud Armor policy' if policy.resource_type == SECURITY_POLICY else 'web ACL'} {policy.name}"
        if policy.resource_type == SECURITY_POLICY:
            kind = get(policy.props, "type")
            if not check.known(kind, f"type of {label}") or kind not in (None, "CLOUD_ARMOR"):
                continue  # edge / network policies cannot evaluate WAF expressions
            rules = seq(get(policy.props, "rules"), "rules")
            if not check.known(rules, f"rules of {label}"):
                continue
            for index, rule in enumerate(rules):
                kinds |= _armor_rule_kinds(rule, f"{label} rules[{index}]", check)
            for rule in extra.get(policy.urn, []):
                kinds |= _armor_rule_kinds(rule.props, f"SecurityPolicyRule {rule.name}", check)
        else:
            rules = seq(get(policy.props, "rules"), "rules")
            if not check.known(rules, f"rules of {label}"):
                continue
            statements = [get(rule, "statement") for rule in rules]
            raw = parse_json(get(policy.props, "ruleJson"), "ruleJson")
            if is_unknown(raw):
                check.unknown(f"ruleJson of {label}", raw)
            elif isinstance(raw, Invalid):
                check.fail(f"{label} ruleJson is not valid JSON.", policy.urn)
            elif raw is not None:
                statements += [get(rule, "Statement") for rule in seq(raw)]
            statements += [get(rule.props, "statement") for rule in extra.get(policy.urn, [])]
            for index, statement in enumerate(statements):
                if check.known(statement, f"{label} rule statement {index}"):
                    kinds |= _statement_kinds(statement)
        missing = [k for k in ("managed WAF rules", "rate limit") if k not in kinds]
        if missing and len(check.unknowns) == unknowns_before:
            check.fail(f"{label} has no {' and no '.join(missing)} rule.", policy.urn)
