"""Pieces the AWS DR components share: a role only one AWS service of this account can assume,
and an alarm on the alert topic."""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent


def service_role(
    owner: PlatformComponent, account_id: pulumi.Input[str], key: str, name: str, description: str, service: str
) -> aws.iam.Role:
    """A role `<prefix>-<name>` that only the AWS service `service` can assume, and only on behalf of
    this account (`aws:SourceAccount`: no confused deputy)."""
    return aws.iam.Role(
        owner.child_name(key),
        aws.iam.RoleArgs(
            name=f"{owner.context.prefix}-{name}",
            description=description,
            assume_role_policy=pulumi.Output.from_input(account_id).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": service},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": a}},
                            }
                        ],
                    }
                )
            ),
            tags=owner.labels,
        ),
        opts=owner.child_opts(),
    )


def topic_alarm(
    owner: PlatformComponent, topic_arn: Optional[pulumi.Input[str]], key: str, description: str, *,
    notify_ok: bool = True, **metric: Any,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm `<prefix>-<key>` that notifies `topic_arn` (and, with `notify_ok`, its recovery)."""
    actions = [topic_arn] if topic_arn is not None else []
    return aws.cloudwatch.MetricAlarm(
        owner.child_name(key),
        aws.cloudwatch.MetricAlarmArgs(
            name=f"{owner.context.prefix}-{key}",
            alarm_description=description,
            alarm_actions=actions,
            ok_actions=actions if notify_ok else None,
            tags=owner.labels,
            **metric,
        ),
        opts=owner.child_opts(),
    )
