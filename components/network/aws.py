"""AWS network (`ecs`): VPC, subnets in three tiers, NAT, flow logs, VPC endpoints, security groups.

What it creates and why:

- a VPC (`aws.vpcCidr`) with DNS support, over `aws.azCount` availability zones (3: one zone can
  fail without losing quorum for the Multi-AZ data services);
- per zone three subnets, each 1/16 of the VPC range:
  `public` (ALB and NAT gateways; the only tier with a route to the internet gateway),
  `private` (ECS tasks; outbound through NAT, never a public IP),
  `isolated` (RDS, ElastiCache, DocumentDB, Amazon MQ; no route out of the VPC at all);
- NAT gateways: one per zone in production (a zone outage does not cut the others' egress),
  one in other environments (cost);
- VPC flow logs (all traffic) to a KMS-encrypted CloudWatch log group with retention, written by a
  role that only the flow-logs service of this account can assume and that can only write there;
- VPC endpoints, so secrets, logs and ECR image pulls never leave the AWS network: interface
  endpoints for Secrets Manager and CloudWatch Logs in the private subnets -- and for ECR (api, dkr)
  when an image comes from a private ECR repository of the region; images from other registries
  (ghcr.io, ECR Public) come through NAT and need none -- and the S3 gateway endpoint (ECR image
  layers, free) on the private route tables;
- the default security group stripped of all rules;
- security groups that allow only the flows the platform uses, built from role groups and group
  references so that each added service adds a constant number of rules (at most 1 + its data
  services, plus one when it brings a new port) and no group grows a rule per service (AWS allows
  60 rules per group and direction and 5 groups per network interface by default). Rules are
  separate resources, so groups can reference each other without cycles. A flow passes only if
  a group of the sender allows it out and a group of the receiver allows it in:
  `tasks` (every ECS task joins it): out 443 (AWS endpoints, image registry, AI provider APIs via
  NAT) and out to `tasks` on each internal web service's port;
  `svc-<name>` (the service's own group; with `tasks`, a task has two groups): in on its port from
  the ALB (routed services) or from `tasks` (internal web services such as the MCP server,
  reached through Cloud Map); out to the data services it `uses`;
  `alb`: in 443 from CloudFront's origin-facing prefix list only; out to `tasks` on each routed
  port (only the routed services' own groups let the ALB in);
  `alb-health` (with origin failover: Route 53 health checks on the ALB): in 443 from Route 53's
  health-checker prefix list (`com.amazonaws.<region>.route53-healthchecks`) only. A group of its
  own because a prefix-list reference counts as its maximum entries against the 60 rules per group
  and direction: CloudFront's list weighs 55 and Route 53's 25, together over the quota;
  `endpoints`: in 443 from `tasks`;
  `data-<service>`: in on the service port from `tasks` (only the users' own groups let them out
  to it); no egress.
  So: a service reaches the data services it uses and every internal web service (its own tasks
  included); the ALB reaches the routed services on their ports; nothing else.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.config import StackContext
from components.data.registry import built_on, ports_on, reached
from components.images import ecr_repository_arns, stack_images
from components.platforms.aws_settings import origin_failover

DATA_PORTS = ports_on("ecs")  # the registry's (components/data/registry.py)
CLOUDFRONT_ORIGIN_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"


def route53_health_check_prefix_list(region: str) -> str:
    """The AWS-managed prefix list of the Route 53 health checkers, as seen from `region`."""
    return f"com.amazonaws.{region}.route53-healthchecks"


INTERFACE_ENDPOINTS = ("secretsmanager", "logs")
# only when an image comes from a private ECR repository in the region (the others go through NAT)
ECR_ENDPOINTS = ("ecr.api", "ecr.dkr")
TIER_OFFSETS = {"private": 0, "isolated": 4, "public": 8}


def subnet_cidrs(vpc_cidr: str, az_count: int) -> dict[str, list[str]]:
    """Cut the VPC range into 16 equal subnets; tiers take blocks 0-2, 4-6 and 8-10."""
    net = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(net.subnets(new_prefix=net.prefixlen + 4))
    return {tier: [str(blocks[offset + i]) for i in range(az_count)] for tier, offset in TIER_OFFSETS.items()}


@dataclass(frozen=True)
class AwsNetworkArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    # the standby's network (components/platforms/ecs.py): its region (`regions.secondary`) and range
    # (`aws.standby.vpcCidr`); None: the primary's (`regions.primary`, `aws.vpcCidr`)
    region: Optional[str] = None
    vpc_cidr: Optional[str] = None
    # a suffix for the names this network shares with the primary's in one scope: the Name tags,
    # the flow-log group (regional, but kept apart for readers of both regions' consoles)
    role: Optional[str] = None


class AwsNetwork(PlatformComponent):
    """The VPC and its security groups. Exposes `vpc_id`, `public_subnet_ids`,
    `private_subnet_ids`, `isolated_subnet_ids`, `alb_security_group_id`, `task_security_group_id`
    (every task's shared group), `service_security_group_ids` (service -> its own group),
    `data_security_group_ids` (data service -> id), `alb_security_group_ids` (every group the ALB
    carries: CloudFront's and the Route 53 health checkers').

    The same class builds the standby's network in `regions.secondary` (args `region`, `vpc_cidr`,
    `role`), with the same attributes, so the standby's ALB, services and data replicas attach to it
    exactly as the primary's do."""

    TYPE = "aiplatform:network:AwsNetwork"

    def __init__(self, name: str, args: AwsNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        region = args.region or cfg.regions.primary
        vpc_cidr = args.vpc_cidr or cfg.aws.vpc_cidr
        self.region = region
        self.name_prefix = f"{self.context.prefix}-{args.role}" if args.role else self.context.prefix
        tags = self.labels
        azs = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        ).names

        self.vpc = aws.ec2.Vpc(
            self.child_name("vpc"),
            aws.ec2.VpcArgs(
                cidr_block=vpc_cidr,
                enable_dns_support=True,
                enable_dns_hostnames=True,
                tags={**tags, "Name": f"{self.name_prefix}-vpc"},
            ),
            opts=self.child_opts(),
        )
        vpc_id = self.vpc.id
        aws.ec2.DefaultSecurityGroup(
            self.child_name("default-sg"),
            aws.ec2.DefaultSecurityGroupArgs(vpc_id=vpc_id, ingress=[], egress=[], tags=tags),
            opts=self.child_opts(),
        )
        igw = aws.ec2.InternetGateway(
            self.child_name("igw"), aws.ec2.InternetGatewayArgs(vpc_id=vpc_id, tags=tags), opts=self.child_opts()
        )

        cidrs = subnet_cidrs(vpc_cidr, cfg.aws.az_count)
        subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in TIER_OFFSETS}
        for tier in ("public", "private", "isolated"):
            for i, cidr in enumerate(cidrs[tier]):
                subnets[tier].append(
                    aws.ec2.Subnet(
                        self.child_name(tier, str(i)),
                        aws.ec2.SubnetArgs(
                            vpc_id=vpc_id,
                            cidr_block=cidr,
                            availability_zone=azs[i],
                            map_public_ip_on_launch=False,
                            tags={**tags, "Name": f"{self.name_prefix}-{tier}-{i}", "tier": tier},
                        ),
                        opts=self.child_opts(),
                    )
                )

        public_rt = aws.ec2.RouteTable(
            self.child_name("public-rt"), aws.ec2.RouteTableArgs(vpc_id=vpc_id, tags=tags), opts=self.child_opts()
        )
        aws.ec2.Route(
            self.child_name("public-default"),
            aws.ec2.RouteArgs(route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id),
            opts=self.child_opts(),
        )
        for i, subnet in enumerate(subnets["public"]):
            aws.ec2.RouteTableAssociation(
                self.child_name("public", str(i), "rta"),
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=public_rt.id),
                opts=self.child_opts(),
            )

        # NAT: one per zone in production, one otherwise
        nat_count = cfg.aws.az_count if cfg.is_production else 1
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(
                self.child_name("nat", str(i), "eip"), aws.ec2.EipArgs(domain="vpc", tags=tags), opts=self.child_opts()
            )
            nats.append(
                aws.ec2.NatGateway(
                    self.child_name("nat", str(i)),
                    aws.ec2.NatGatewayArgs(
                        allocation_id=eip.allocation_id, subnet_id=subnets["public"][i].id, tags=tags
                    ),
                    opts=self.child_opts(),
                )
            )
        private_route_tables = []
        for i, subnet in enumerate(subnets["private"]):
            rt = aws.ec2.RouteTable(
                self.child_name("private", str(i), "rt"),
                aws.ec2.RouteTableArgs(vpc_id=vpc_id, tags=tags),
                opts=self.child_opts(),
            )
            aws.ec2.Route(
                self.child_name("private", str(i), "default"),
                aws.ec2.RouteArgs(
                    route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nats[i % nat_count].id
                ),
                opts=self.child_opts(),
            )
            aws.ec2.RouteTableAssociation(
                self.child_name("private", str(i), "rta"),
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=rt.id),
                opts=self.child_opts(),
            )
            private_route_tables.append(rt)
        # isolated: only the VPC-local route
        isolated_rt = aws.ec2.RouteTable(
            self.child_name("isolated-rt"), aws.ec2.RouteTableArgs(vpc_id=vpc_id, tags=tags), opts=self.child_opts()
        )
        for i, subnet in enumerate(subnets["isolated"]):
            aws.ec2.RouteTableAssociation(
                self.child_name("isolated", str(i), "rta"),
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=isolated_rt.id),
                opts=self.child_opts(),
            )

        self._flow_logs(args, region)
        self._security_groups(vpc_id)

        # endpoints
        ecr = ECR_ENDPOINTS if ecr_repository_arns(stack_images(self.config), region) else ()
        for service in (*ecr, *INTERFACE_ENDPOINTS):
            aws.ec2.VpcEndpoint(
                self.child_name("vpce", service.replace(".", "-")),
                aws.ec2.VpcEndpointArgs(
                    vpc_id=vpc_id,
                    service_name=f"com.amazonaws.{region}.{service}",
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[s.id for s in subnets["private"]],
                    security_group_ids=[self.endpoints_sg.id],
                    tags=tags,
                ),
                opts=self.child_opts(),
            )
        aws.ec2.VpcEndpoint(
            self.child_name("vpce", "s3"),
            aws.ec2.VpcEndpointArgs(
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in private_route_tables],
                tags=tags,
            ),
            opts=self.child_opts(),
        )

        self.vpc_id = vpc_id
        self.public_subnet_ids = [s.id for s in subnets["public"]]
        self.private_subnet_ids = [s.id for s in subnets["private"]]
        self.isolated_subnet_ids = [s.id for s in subnets["isolated"]]
        self.register_outputs(
            {
                "vpcId": vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "isolatedSubnetIds": self.isolated_subnet_ids,
            }
        )

    # --- flow logs ------------------------------------------------------------------------------

    def alb_placement(self) -> dict:
        """Where an ALB of this VPC sits: the `AwsLoadBalancerArgs` fields the network decides."""
        return dict(
            vpc_id=self.vpc_id,
            public_subnet_ids=self.public_subnet_ids,
            security_group_id=self.alb_security_group_id,
            extra_security_group_ids=self.alb_security_group_ids[1:],
        )

    def task_placement(self) -> dict:
        """Where the ECS tasks of this VPC run: the `EcsAppArgs` fields the network decides."""
        return dict(
            vpc_id=self.vpc_id,
            private_subnet_ids=self.private_subnet_ids,
            service_security_group_ids=self.service_security_group_ids,
            shared_security_group_ids=[self.task_security_group_id],
        )

    def _flow_logs(self, args: AwsNetworkArgs, region: str) -> None:
        cfg = self.config
        group = aws.cloudwatch.LogGroup(
            self.child_name("flow-logs"),
            aws.cloudwatch.LogGroupArgs(
                name=f"/aws/vpc/{self.name_prefix}/flow-logs",
                retention_in_days=cfg.aws.log_retention_days,
                kms_key_id=args.logs_kms_key_arn,
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
        role = aws.iam.Role(
            self.child_name("flow-logs-role"),
            aws.iam.RoleArgs(
                description="VPC flow logs delivery to CloudWatch Logs",
                assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                    lambda account: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                                }
                            ],
                        }
                    )
                ),
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            self.child_name("flow-logs-policy"),
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=group.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                    "Resource": [arn, f"{arn}:*"],
                                }
                            ],
                        }
                    )
                ),
            ),
            opts=self.child_opts(),
        )
        aws.ec2.FlowLog(
            self.child_name("flow-log"),
            aws.ec2.FlowLogArgs(
                vpc_id=self.vpc.id,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=group.arn,
                iam_role_arn=role.arn,
                max_aggregation_interval=60,
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )

    # --- security groups --------------------------------------------------------------------------

    def _sg(self, key: str, description: str, vpc_id: pulumi.Input[str]) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            self.child_name("sg", key),
            aws.ec2.SecurityGroupArgs(
                name=f"{self.name_prefix}-{key}",
                description=description,
                vpc_id=vpc_id,
                revoke_rules_on_delete=True,
                tags={**self.labels, "Name": f"{self.name_prefix}-{key}"},
            ),
            opts=self.child_opts(),
        )

    def _rule(self, direction: str, key: str, sg, port: int, description: str, *, peer_sg=None,
              prefix_list=None, cidr=None) -> None:
        """One TCP rule of `sg` ("in" or "out"), to/from a security group, a prefix list or a CIDR."""
        resource, args_class = {
            "in": (aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupIngressRuleArgs),
            "out": (aws.vpc.SecurityGroupEgressRule, aws.vpc.SecurityGroupEgressRuleArgs),
        }[direction]
        resource(
            self.child_name(direction, key),
            args_class(
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=peer_sg.id if peer_sg is not None else None,
                prefix_list_id=prefix_list,
                cidr_ipv4=cidr,
                description=description,
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )

    def _ingress(self, key: str, sg, port: int, description: str, *, source_sg=None, prefix_list=None) -> None:
        self._rule("in", key, sg, port, description, peer_sg=source_sg, prefix_list=prefix_list)

    def _egress(self, key: str, sg, port: int, description: str, *, target_sg=None, cidr=None) -> None:
        self._rule("out", key, sg, port, description, peer_sg=target_sg, cidr=cidr)

    def _security_groups(self, vpc_id: pulumi.Input[str]) -> None:
        """Role groups and group references, so each added service adds a constant number of rules
        and no group nears AWS's 60 rules per direction (see the module docstring). A flow is open
        only if the sender's groups allow it out and the receiver's groups allow it in: the shared
        `tasks` egress names ports, the per-service groups say who listens and who uses what."""
        cfg = self.config
        services = cfg.enabled_services
        cloudfront = aws.ec2.get_managed_prefix_list_output(
            name=CLOUDFRONT_ORIGIN_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=self)
        )

        self.alb_sg = self._sg("alb", "ALB: HTTPS from CloudFront origin-facing addresses only", vpc_id)
        self._ingress("alb-https-cloudfront", self.alb_sg, 443, "HTTPS from CloudFront", prefix_list=cloudfront.id)
        alb_groups = [self.alb_sg]
        if origin_failover(cfg):
            checkers = aws.ec2.get_managed_prefix_list_output(
                name=route53_health_check_prefix_list(self.region), opts=pulumi.InvokeOutputOptions(parent=self)
            )
            health = self._sg("alb-health", "ALB: HTTPS from the Route 53 health checkers only", vpc_id)
            self._ingress("alb-https-health-checks", health, 443, "HTTPS from Route 53 health checkers",
                          prefix_list=checkers.id)
            alb_groups.append(health)
        self.endpoints_sg = self._sg("endpoints", "VPC interface endpoints: HTTPS from the services", vpc_id)
        self.tasks_sg = self._sg("tasks", "every ECS task: HTTPS out, calls to internal services", vpc_id)
        self._ingress("endpoints-from-tasks", self.endpoints_sg, 443, "from the ECS tasks", source_sg=self.tasks_sg)
        self._egress("tasks-https", self.tasks_sg, 443, "HTTPS: AWS endpoints, image registry, AI provider APIs",
                     cidr="0.0.0.0/0")
        service_sgs = {n: self._sg(f"svc-{n}", f"ECS service {n}", vpc_id) for n in services}
        data_sgs = {
            d: self._sg(f"data-{d}", f"{d}: from the services that use it", vpc_id) for d in built_on(cfg)
        }
        for used, sg in data_sgs.items():
            # every task may knock; only the tasks whose own group lets them out (users) get through
            self._ingress(f"{used}-from-tasks", sg, DATA_PORTS[used], "from the ECS tasks", source_sg=self.tasks_sg)

        routed = {n: s for n, s in services.items() if s.kind == "web" and s.route is not None}
        internal = {n: s for n, s in services.items() if s.kind == "web" and s.route is None}
        # one rule per port, not per service: the listening service's own group decides who is let in
        for port in sorted({s.port for s in routed.values()}):
            self._egress(f"alb-to-tasks-{port}", self.alb_sg, port, "to the routed services", target_sg=self.tasks_sg)
        for port in sorted({s.port for s in internal.values()}):
            self._egress(f"tasks-to-tasks-{port}", self.tasks_sg, port, "to the internal services",
                         target_sg=self.tasks_sg)
        for name, svc in services.items():
            sg = service_sgs[name]
            if name in routed:
                self._ingress(f"{name}-from-alb", sg, svc.port, "from the ALB", source_sg=self.alb_sg)
            elif name in internal:
                self._ingress(f"{name}-from-tasks", sg, svc.port, "from the ECS tasks (Cloud Map)",
                              source_sg=self.tasks_sg)
            for used in reached(svc.uses, cfg.platform):  # pgvector: the PostgreSQL endpoint
                self._egress(f"{name}-to-{used}", sg, DATA_PORTS[used], f"to {used}", target_sg=data_sgs[used])

        self.alb_security_group_id = self.alb_sg.id
        self.alb_security_group_ids = [g.id for g in alb_groups]
        self.task_security_group_id = self.tasks_sg.id
        self.service_security_group_ids = {n: sg.id for n, sg in service_sgs.items()}
        self.data_security_group_ids = {d: sg.id for d, sg in data_sgs.items()}
