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

The standby (aws.standby.mode warm or pilotLight): Amazon MQ has **no cross-region replication** of
any kind (no replica, no global broker, no backup to copy; RabbitMQ's own federation/shovel would need
the brokers to reach each other, and the two VPCs are not peered). So the standby gets its own empty
broker `<prefix>-rabbitmq-standby` in the standby VPC, with the same engine, host type and user
(the same generated password) and deployment mode in both standby modes (a broker cannot change
from single-instance to a cluster in place, and a broker takes ~20 minutes to create). The standby services
declare their queues on it at start, so it needs no definitions import. What a regional failover
loses: every message queued in the primary broker and not yet consumed (jobs in flight); they come
back only if the primary region returns with its broker's storage, and the runbook drains them then.
`standby_connection` is its `amqps://` URL.
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
        self.deployment_mode = "CLUSTER_MULTI_AZ" if mq.ha else "SINGLE_INSTANCE"
        self.password = generated_credential(self)
        self.broker = self._broker("broker", self.broker_name, self.deployment_mode, args.subnet_ids,
                                   args.security_group_id, self.labels, {})
        self.log_group_name = self.broker.id.apply(lambda broker_id: f"/aws/amazonmq/broker/{broker_id}/general")
        self.connection = self._connection(self.broker)
        self.standby_broker = None
        self.standby_broker_name: Optional[str] = None
        self.standby_connection: Optional[DataConnection] = None
        if args.standby is not None:
            # nothing replicates: an empty broker of the same engine, with the same user, for the standby
            # services to declare their queues on (module docstring: what a failover loses)
            standby = args.standby
            self.standby_broker_name = f"{self.broker_name}-standby"
            self.standby_broker = self._broker(
                "standby", self.standby_broker_name, self.deployment_mode, standby.subnet_ids, standby.security_group_id, {**self.labels, "role": "standby"}, standby.opts(),
            )
            self.standby_connection = self._connection(self.standby_broker)
        self.register_outputs({"brokerName": self.broker_name, "host": self.connection.host, "logGroup": self.log_group_name,
                               "standbyBrokerName": self.standby_broker_name})

    def _broker(self, key: str, broker_name: str, deployment_mode: str, subnet_ids: Any,
                security_group_id: pulumi.Input[str], tags: dict[str, str], opts: dict[str, Any]) -> aws.mq.Broker:
        cfg = self.config
        mq = cfg.data.rabbitmq
        start_day, start_time = cfg.dr.maintenance_window.split("-")[0].split(":", 1)
        days = {"MON": "MONDAY", "TUE": "TUESDAY", "WED": "WEDNESDAY", "THU": "THURSDAY",
                "FRI": "FRIDAY", "SAT": "SATURDAY", "SUN": "SUNDAY"}
        subnets = subnet_ids if deployment_mode == "CLUSTER_MULTI_AZ" else [subnet_ids[0]]
        return aws.mq.Broker(
            self.child_name(key),
            aws.mq.BrokerArgs(
                broker_name=broker_name,
                engine_type="RabbitMQ",
                engine_version=str(mq.version),
                host_instance_type=tier_of(cfg, "rabbitmq"),
                deployment_mode=deployment_mode,
                publicly_accessible=False,
                subnet_ids=subnets,
                security_groups=[security_group_id],
                users=[aws.mq.BrokerUserArgs(username=USERNAME, password=pulumi.Output.secret(self.password.result))],
                logs=aws.mq.BrokerLogsArgs(general=True),
                auto_minor_version_upgrade=True,
                maintenance_window_start_time=aws.mq.BrokerMaintenanceWindowStartTimeArgs(
                    day_of_week=days.get(start_day.upper(), "SUNDAY"), time_of_day=start_time, time_zone="UTC"
                ),
                apply_immediately=not cfg.is_production,
                tags=tags,
            ),
            opts=self.child_opts(stateful=True, **opts),
        )

    def _connection(self, broker: aws.mq.Broker) -> DataConnection:
        endpoint = broker.instances.apply(lambda inst: inst[0]["endpoints"][0] if isinstance(inst[0], dict)
                                          else inst[0].endpoints[0])
        host = endpoint.apply(lambda e: e.partition("://")[2].rsplit(":", 1)[0])
        url = pulumi.Output.all(endpoint, self.password.result).apply(lambda a: _with_credentials(a[0], a[1]))
        return DataConnection(service="rabbitmq", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        return {"RABBITMQ_PASSWORD": self.password.result}

    def monitoring_args(self) -> dict[str, Any]:
        return {"mq_broker_name": self.broker_name}

    def dr_args(self) -> dict[str, Any]:
        """Not backed up (in-flight work; Amazon MQ keeps its own durable storage); the runbook names
        the standby broker."""
        return {"mq_broker_name": self.broker_name, "mq_standby_broker_name": self.standby_broker_name}
