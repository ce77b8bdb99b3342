"""A model of AWS security-group evaluation over a plan: which TCP flows between the network
interfaces of a stack (ECS tasks, the ALB, the data services, the VPC endpoints) and the world
outside (CloudFront, the internet) the groups let through.

AWS's rules, as the model applies them: a network interface carries up to 5 groups; a flow from
A to B on a port passes when some group of A has an egress rule that matches B (B carries the
referenced group, or B's address is in the rule's CIDR or prefix list) on that port, *and* some
group of B has an ingress rule that matches A the same way. Groups are stateful (replies pass).
Senders and receivers outside the VPC have no groups: only the VPC side's rules apply.

A stack with a standby has two VPCs (components/network/aws.py, `network` and `network-standby`):
each interface belongs to the VPC of its groups, the primary VPC's keep their names and the others'
get `@<network>` (`api@network-standby`), and the flows a VPC needs are the same set inside each
VPC: no flow crosses from one VPC to the other (they are not peered).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
# resource type -> the input that lists its security groups
INTERFACES = {
    "aws:ecs/service:Service": "networkConfiguration.securityGroups",
    "aws:lb/loadBalancer:LoadBalancer": "securityGroups",
    "aws:rds/instance:Instance": "vpcSecurityGroupIds",
    "aws:elasticache/replicationGroup:ReplicationGroup": "securityGroupIds",
    "aws:docdb/cluster:Cluster": "vpcSecurityGroupIds",
    "aws:mq/broker:Broker": "securityGroups",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "securityGroupIds",
}
CLOUDFRONT_PREFIX_LIST = "pl-3b927c52"  # the origin-facing prefix list under mocks
ROUTE53_HEALTH_PREFIX_LIST = "pl-0e8c7d3a9b1f2e4c6"  # the Route 53 health checkers' list under mocks
# a prefix-list reference counts as its maximum entries (its weight) against the rules quota
PREFIX_LIST_WEIGHTS = {CLOUDFRONT_PREFIX_LIST: 55, ROUTE53_HEALTH_PREFIX_LIST: 25}
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
PRIMARY_VPC = "network-vpc-id"  # the primary network's VPC under mocks (components/platforms/ecs.py)
MAX_GROUPS_PER_INTERFACE = 5
MAX_RULES_PER_GROUP_AND_DIRECTION = 60


@dataclass(frozen=True)
class Endpoint:
    name: str
    groups: frozenset[str]  # security-group ids
    address: str
    prefix_list: Optional[str] = None
    vpc: Optional[str] = None


@dataclass
class Rule:
    group: str
    port_from: int
    port_to: int
    peer_group: Optional[str]
    cidr: Optional[str]
    prefix_list: Optional[str]

    def covers(self, port: int, peer: Endpoint) -> bool:
        if not self.port_from <= port <= self.port_to:
            return False
        if self.peer_group is not None:
            return self.peer_group in peer.groups
        if self.cidr is not None:
            return ipaddress.ip_address(peer.address) in ipaddress.ip_network(self.cidr)
        return self.prefix_list is not None and self.prefix_list == peer.prefix_list


@dataclass
class SecurityGroups:
    endpoints: list[Endpoint]
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] = field(default_factory=list)
    group_names: dict[str, str] = field(default_factory=dict)  # id -> resource name

    def endpoint(self, name: str) -> Endpoint:
        return next(e for e in self.endpoints if e.name == name)

    def allows(self, source: Endpoint, target: Endpoint, port: int) -> bool:
        if source.vpc and target.vpc and source.vpc != target.vpc:
            return False  # the VPCs are not peered: no route from one to the other
        out = not source.groups or any(
            r.group in source.groups and r.covers(port, target) for r in self.egress
        )
        into = not target.groups or any(r.group in target.groups and r.covers(port, source) for r in self.ingress)
        return out and into

    def ports(self) -> set[int]:
        found = set()
        for rule in self.ingress + self.egress:
            found |= {rule.port_from, rule.port_to}
        return found

    def open_flows(self) -> set[tuple[str, str, int]]:
        """Every (source, target, port) the groups let through, for ports any rule names.
        `cloudfront` and `route53-health` are senders only: as destinations they are part of `internet`."""
        return {
            (s.name, t.name, port)
            for s in self.endpoints for t in self.endpoints
            if s is not t and (s.groups or t.groups) and t.name not in ("cloudfront", "route53-health")
            for port in self.ports() if self.allows(s, t, port)
        }

    def rule_counts(self) -> dict[tuple[str, str], int]:
        """(group name, direction) -> number of rules, a prefix-list reference counted as its weight
        (its maximum entries), as AWS counts it."""
        counts: dict[tuple[str, str], int] = {}
        for direction, rules in (("in", self.ingress), ("out", self.egress)):
            for rule in rules:
                key = (self.group_names.get(rule.group, rule.group), direction)
                counts[key] = counts.get(key, 0) + PREFIX_LIST_WEIGHTS.get(rule.prefix_list, 1)
        return counts


def _dig(inputs: dict, path: str):
    node = inputs
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node or []


def _rule(inputs: dict) -> Rule:
    assert inputs.get("ipProtocol") == "tcp", f"only TCP rules are modelled: {inputs}"
    return Rule(
        group=inputs["securityGroupId"],
        port_from=int(inputs["fromPort"]),
        port_to=int(inputs["toPort"]),
        peer_group=inputs.get("referencedSecurityGroupId"),
        cidr=inputs.get("cidrIpv4"),
        prefix_list=inputs.get("prefixListId"),
    )


def vpc_suffix(vpc: Optional[str]) -> str:
    """'' for the primary VPC, `@network-standby` for the standby's (its network component's name)."""
    return "" if vpc in (None, PRIMARY_VPC) else f"@{vpc.removesuffix('-vpc-id')}"


def _vpcs_of_groups(resources) -> dict[str, str]:
    return {f"{r.name}-id": r.inputs.get("vpcId") for r in resources if r.custom and r.type == SECURITY_GROUP}


def interfaces_of(resources) -> list[tuple[str, str, Optional[str], frozenset[str]]]:
    """(model name, type, VPC, groups) of every network interface of the plan."""
    vpcs = _vpcs_of_groups(resources)
    found = []
    for r in resources:
        if not (r.custom and r.type in INTERFACES):
            continue
        groups = frozenset(_dig(r.inputs, INTERFACES[r.type]))
        # a gateway endpoint (S3) has no groups: its own VPC
        vpc = next((vpcs[g] for g in sorted(groups) if g in vpcs), r.inputs.get("vpcId"))
        name = r.inputs["name"] + vpc_suffix(vpc) if r.type == "aws:ecs/service:Service" else r.name
        found.append((name, r.type, vpc, groups))
    return found


def security_groups_of(resources) -> SecurityGroups:
    """The model of a plan's (or a capture's) resources. ECS services are named by their service
    name (`@<network>` outside the primary VPC), the other interfaces by their resource name;
    outside: `cloudfront` and `internet`."""
    endpoints = [
        Endpoint("cloudfront", frozenset(), "130.176.0.10", CLOUDFRONT_PREFIX_LIST),
        Endpoint("internet", frozenset(), "203.0.113.10"),
        Endpoint("route53-health", frozenset(), "54.243.31.200", ROUTE53_HEALTH_PREFIX_LIST),
    ]
    for i, (name, _, vpc, groups) in enumerate(interfaces_of(resources)):
        endpoints.append(Endpoint(name, groups, str(ipaddress.ip_address("10.0.0.10") + i), vpc=vpc))
    model = SecurityGroups(endpoints)
    for r in resources:
        if r.type == INGRESS:
            model.ingress.append(_rule(r.inputs))
        elif r.type == EGRESS:
            model.egress.append(_rule(r.inputs))
        elif r.type == SECURITY_GROUP:
            model.group_names[f"{r.name}-id"] = r.inputs.get("name", r.name)
    return model


def quota_problems(model: SecurityGroups) -> list[str]:
    """What AWS's default quotas refuse: more than 60 rules per group and direction, more than 5
    groups on one network interface."""
    problems = [
        f"security group {group}: {count} {direction}bound rules (AWS allows {MAX_RULES_PER_GROUP_AND_DIRECTION})"
        for (group, direction), count in sorted(model.rule_counts().items())
        if count > MAX_RULES_PER_GROUP_AND_DIRECTION
    ]
    problems += [
        f"{e.name}: {len(e.groups)} security groups on one interface (AWS allows {MAX_GROUPS_PER_INTERFACE})"
        for e in model.endpoints if len(e.groups) > MAX_GROUPS_PER_INTERFACE
    ]
    return problems


DATA_TYPES = {
    "aws:rds/instance:Instance": "postgres",
    "aws:elasticache/replicationGroup:ReplicationGroup": "redis",
    "aws:docdb/cluster:Cluster": "mongodb",
    "aws:mq/broker:Broker": "rabbitmq",
}
DATA_PORTS = {"postgres": 5432, "redis": 6379, "mongodb": 27017, "rabbitmq": 5671}


def needed_flows(cfg, resources) -> set[tuple[str, str, int]]:
    """The flows an ECS stack needs, from its config (names as in `security_groups_of`):

    - CloudFront -> the ALB on 443 (the only way in);
    - the ALB -> each routed web service on its port;
    - each service -> each data service it `uses`, on the data service's port;
    - each service -> each internal web service (Cloud Map), on its port; a service's tasks may
      reach each other's port too (one `tasks` group cannot tell them apart; it is its own port);
    - each service -> every VPC interface endpoint and the internet on 443 (secrets, logs,
      registry, AI providers).

    With a standby, the same inside the standby's VPC, between its own interfaces. And the Route 53
    health checkers -> every ALB that an HTTPS health check targets (its DNS name), on 443."""
    interfaces = interfaces_of(resources)
    checked = [r.inputs.get("fqdn") or "" for r in resources if r.type == HEALTH_CHECK and r.inputs.get("type") == "HTTPS"]
    flows: set[tuple[str, str, int]] = {
        ("route53-health", name, 443)
        for name, type_token, _, _ in interfaces
        if type_token == "aws:lb/loadBalancer:LoadBalancer" and any(f.startswith(f"{name}.") for f in checked)
    }
    for vpc in sorted({v for _, _, v, _ in interfaces if v is not None}):
        by_type: dict[str, list[str]] = {}
        for name, type_token, v, _ in interfaces:
            if v == vpc:
                by_type.setdefault(type_token, []).append(name)
        flows |= _needed_in_vpc(cfg, by_type, vpc_suffix(vpc))
    return flows


def _needed_in_vpc(cfg, by_type: dict[str, list[str]], suffix: str) -> set[tuple[str, str, int]]:
    services = cfg.enabled_services
    data = {DATA_TYPES[t]: names for t, names in by_type.items() if t in DATA_TYPES}
    vpc_endpoints = by_type.get("aws:ec2/vpcEndpoint:VpcEndpoint", [])
    flows: set[tuple[str, str, int]] = set()
    albs = by_type.get("aws:lb/loadBalancer:LoadBalancer", [])
    for alb in albs:
        flows.add(("cloudfront", alb, 443))
    for name, svc in services.items():
        if f"{name}{suffix}" not in by_type.get("aws:ecs/service:Service", []):
            continue
        here = f"{name}{suffix}"
        if svc.kind == "web" and svc.route is not None:
            flows |= {(alb, here, svc.port) for alb in albs}
        for used in svc.uses:
            flows |= {(here, target, DATA_PORTS[used]) for target in data.get(used, [])}
        for other, other_svc in services.items():
            if other_svc.kind == "web" and other_svc.route is None and other != name:
                flows.add((here, f"{other}{suffix}", other_svc.port))
        flows |= {(here, e, 443) for e in vpc_endpoints} | {(here, "internet", 443)}
    return flows
