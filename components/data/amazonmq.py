"""RabbitMQ on Amazon MQ (`ecs`).

Creates one broker: `CLUSTER_MULTI_AZ` (three nodes over three zones behind one endpoint) when
`data.rabbitmq.ha` (prod), `SINGLE_INSTANCE` otherwise; in the isolated subnets, not publicly
accessible, general logs to CloudWatch, minor versions upgraded automatically in the Sunday
maintenance window, and a random admin password (Amazon MQ forbids commas, colons and '=';
alphanumerics only).

Notes: Amazon MQ for RabbitMQ always encrypts at rest with an AWS-owned KMS key (customer-managed
keys are not supported for RabbitMQ), and it has no deletion protection of its own: in prod the
broker is `protect`ed. Only AMQPS (5671) is reachable.

General logs go to `/aws/amazonmq/broker/<broker-id>/general`, a group Amazon MQ creates itself
(through its service-linked role) while the broker starts. The broker id (`b-<uuid>`) is assigned by
AWS at creation and reaches Pulumi only once the broker is running, after the group exists, so the
group cannot be pre-created like the RDS/DocumentDB ones (creating it afterwards fails with
ResourceAlreadyExists). `log_group_name` names it; docs/deploy-aws.md gives the two commands that
set its retention and KMS key after the first `up`.

The admin password cannot be rotated through this resource: Amazon MQ does not update RabbitMQ
users through its API, so a change to `users` replaces the broker (docs/deploy-aws.md, rotation). Returns a `DataConnection` with an
`amqps://` URL as a secret Output.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data.aws import AwsDataArgs, generated_credential, tier_of
from components.data.connection import DataConnection

PORT = 5671
USERNAME = "aiassistant"


def _with_credentials(endpoint: str, password: str) -> str:
    """'amqps://b-1.mq.us-east-1.amazonaws.com:5671' -> 'amqps://user:pw@b-1...:5671'."""
    scheme, _, rest = endpoint.partition("://")
    return f"{scheme}://{USERNAME}:{password}@{rest}"


class AmazonMqRabbitMq(PlatformComponent):
    """Amazon MQ RabbitMQ broker. Exposes `connection`, `password` (secret), `broker`, `broker_name`,
    `deployment_mode`, `log_group_name` (the general log group Amazon MQ creates)."""

    TYPE = "aiplatform:data:AmazonMqRabbitMq"

    def __init__(self, name: str, args: AwsDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        mq = cfg.data.rabbitmq
        self.broker_name = f"{self.context.prefix}-rabbitmq"
        cluster = mq.ha
        self.deployment_mode = "CLUSTER_MULTI_AZ" if cluster else "SINGLE_INSTANCE"
        start_day, start_time = cfg.dr.maintenance_window.split("-")[0].split(":", 1)
        days = {"MON": "MONDAY", "TUE": "TUESDAY", "WED": "WEDNESDAY", "THU": "THURSDAY",
                "FRI": "FRIDAY", "SAT": "SATURDAY", "SUN": "SUNDAY"}

        self.password = generated_credential(self)
        subnets = args.subnet_ids if cluster else [args.subnet_ids[0]]
        self.broker = aws.mq.Broker(
            self.child_name("broker"),
            aws.mq.BrokerArgs(
                broker_name=self.broker_name,
                engine_type="RabbitMQ",
                engine_version=str(mq.version),
                host_instance_type=tier_of(cfg, "rabbitmq"),
                deployment_mode=self.deployment_mode,
                publicly_accessible=False,
                subnet_ids=subnets,
                security_groups=[args.security_group_id],
                users=[aws.mq.BrokerUserArgs(username=USERNAME, password=pulumi.Output.secret(self.password.result))],
                logs=aws.mq.BrokerLogsArgs(general=True),
                auto_minor_version_upgrade=True,
                maintenance_window_start_time=aws.mq.BrokerMaintenanceWindowStartTimeArgs(
                    day_of_week=days.get(start_day.upper(), "SUNDAY"), time_of_day=start_time, time_zone="UTC"
                ),
                apply_immediately=not cfg.is_production,
                tags=self.labels,
            ),
            opts=self.child_opts(stateful=True),
        )
        endpoint = self.broker.instances.apply(lambda inst: inst[0]["endpoints"][0] if isinstance(inst[0], dict)
                                                else inst[0].endpoints[0])
        self.log_group_name = self.broker.id.apply(lambda broker_id: f"/aws/amazonmq/broker/{broker_id}/general")
        host = endpoint.apply(lambda e: e.partition("://")[2].rsplit(":", 1)[0])
        url = pulumi.Output.all(endpoint, self.password.result).apply(lambda a: _with_credentials(a[0], a[1]))
        self.connection = DataConnection(service="rabbitmq", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)
        self.register_outputs({"brokerName": self.broker_name, "host": host, "logGroup": self.log_group_name})

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        return {"RABBITMQ_PASSWORD": self.password.result}

    def monitoring_args(self) -> dict[str, Any]:
        return {"mq_broker_name": self.broker_name}

    def dr_args(self) -> dict[str, Any]:
        return {}  # queues: Amazon MQ keeps its own durable storage; jobs are re-enqueued
