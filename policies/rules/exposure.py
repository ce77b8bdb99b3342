"""Network exposure: no firewall or security-group rule opens a non-edge port to the whole internet.

Seed 003 (VPC/subnet isolation) and the design's single public entry point (CDN -> WAF -> load
balancer): only the edge listens on the internet, on HTTP (80, redirected) and HTTPS (443). A rule
that lets 0.0.0.0/0 or ::/0 reach any other port (SSH, a database, an admin UI, "all ports")
exposes a service the WAF and TLS policy never see. CIS GCP 3.6/3.7, CIS AWS 5.2/5.3.

Read: GCP firewalls (ingress `allows` with `sourceRanges`), AWS security groups' and default
security groups' inline `ingress`, `SecurityGroupIngressRule` (`cidrIpv4`/`cidrIpv6`) and the
classic `SecurityGroupRule` of type ingress. Deny rules and disabled firewalls open nothing. ICMP
carries no port and is not judged.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, resource_policy
from .props import get, is_unknown, number, seq, truthy

OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})
EDGE_PORTS = frozenset({80, 443})
_NO_PORTS = ("icmp", "icmpv6", "58", "1")

FIREWALL = "gcp:compute/firewall:Firewall"
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CLASSIC_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"


def _non_edge(protocol: Any, low: Any, high: Any) -> Optional[str]:
    """What a rule opens beyond the edge ports, or None. `low`/`high` None means every port."""
    protocol = str(protocol).lower() if protocol is not None else "all"
    if protocol in _NO_PORTS:
        return None
    if protocol in ("-1", "all") or low is None or high is None:
        return f"every {protocol if protocol not in ('-1', 'all') else ''} port".replace("  ", " ")
    try:
        low, high = int(low), int(high)
    except (TypeError, ValueError):
        return f"{protocol} ports {low}-{high}"  # not a port number: counted as open, never trusted
    if low == high and low in EDGE_PORTS:
        return None
    return f"{protocol} port {low}" if low == high else f"{protocol} ports {low}-{high}"


def _open(ranges: Iterable[Any]) -> list[str]:
    return sorted({r for r in ranges if isinstance(r, str) and r in OPEN_RANGES})


def _firewall(props: Any, check: Check) -> Iterable[str]:
    direction, disabled = get(props, "direction"), truthy(get(props, "disabled"))
    if not check.known(direction, "direction") or not check.known(disabled, "disabled"):
        return
    if direction == "EGRESS" or disabled is True:
        return
    sources = seq(get(props, "sourceRanges"), "sourceRanges")
    if not check.known(sources, "sourceRanges"):
        return
    if not check.known(next((s for s in sources if is_unknown(s)), None), "sourceRanges[]"):
        return
    opened = _open(sources)
    if not opened:
        return
    allows = seq(get(props, "allows"), "allows")
    if not check.known(allows, "allows"):
        return
    for allow in allows:
        protocol, ports = get(allow, "protocol"), seq(get(allow, "ports"), "allows[].ports")
        if not check.known(protocol, "allows[].protocol") or not check.known(ports, "allows[].ports"):
            continue
        if not ports:
            found = _non_edge(protocol, None, None)
            if found:
                yield f"{found} to {', '.join(opened)}"
            continue
        for port in ports:
            if not check.known(port, "allows[].ports[]"):
                continue
            low, _, high = str(port).partition("-")
            found = _non_edge(protocol, low, high or low)
            if found:
                yield f"{found} to {', '.join(opened)}"


def _aws_rule(rule: Any, check: Check, where: str, cidr_keys: tuple[str, ...], protocol_key: str) -> Iterable[str]:
    ranges: list[Any] = []
    for key in cidr_keys:
        value = get(rule, key)
        if not check.known(value, f"{where}{key}"):
            return
        ranges += seq(value) if not isinstance(value, str) else [value]
    opened = _open(r for r in ranges if not is_unknown(r))
    if not opened:
        return
    protocol, low, high = get(rule, protocol_key), number(get(rule, "fromPort")), number(get(rule, "toPort"))
    for value, what in ((protocol, protocol_key), (low, "fromPort"), (high, "toPort")):
        if not check.known(value, f"{where}{what}"):
            return
    found = _non_edge(protocol, low, high)
    if found:
        yield f"{found} to {', '.join(opened)}"


def _findings(args: ResourceValidationArgs, check: Check) -> Iterable[str]:
    props = args.props
    if args.resource_type == FIREWALL:
        yield from _firewall(props, check)
    elif args.resource_type in SECURITY_GROUPS:
        rules = seq(get(props, "ingress"), "ingress")
        if check.known(rules, "ingress"):
            for index, rule in enumerate(rules):
                yield from _aws_rule(rule, check, f"ingress[{index}].", ("cidrBlocks", "ipv6CidrBlocks"), "protocol")
    elif args.resource_type == INGRESS_RULE:
        yield from _aws_rule(props, check, "", ("cidrIpv4", "cidrIpv6"), "ipProtocol")
    elif args.resource_type == CLASSIC_RULE:
        kind = get(props, "type")
        if check.known(kind, "type") and kind == "ingress":
            yield from _aws_rule(props, check, "", ("cidrBlocks", "ipv6CidrBlocks"), "protocol")


@resource_policy(
    name="no-internet-open-non-edge-ports",
    theme="exposure",
    summary="No firewall or security-group rule opens a non-edge port to 0.0.0.0/0 or ::/0.",
    severity=Severity.CRITICAL,
    types=(FIREWALL,) + SECURITY_GROUPS + (INGRESS_RULE, CLASSIC_RULE),
    checks="GCP firewalls (INGRESS, not disabled) whose sourceRanges include 0.0.0.0/0 or ::/0 allow only single "
    "ports 80/443; AWS security groups' inline ingress, SecurityGroupIngressRule and ingress SecurityGroupRule "
    "with an open CIDR cover only fromPort = toPort = 80 or 443 (protocol -1 / no ports = every port). Deny "
    "rules and ICMP are not judged.",
    source="seed 003 (VPC/subnet isolation); DESIGN (the edge is the only public entry point); CIS Google Cloud "
    "Foundations 3.6/3.7; CIS AWS Foundations 5.2/5.3",
    remediation="Restrict the source to the networks that need the port (the VPC range, the load balancer's "
    "security group, Google's health-check ranges, the CloudFront origin-facing prefix list), or reach the "
    "service through the edge.",
)
def no_internet_open_non_edge_ports(args: ResourceValidationArgs, check: Check) -> None:
    for finding in dict.fromkeys(_findings(args, check)):
        check.fail(f"opens {finding}: only the edge ports 80 and 443 may face the internet.")
