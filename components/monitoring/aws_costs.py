"""AWS cost alerts (`ecs`), seed 000: infrastructure 500/month, storage 50/month, AI spend 100/day.

- `budgets`: AWS Budgets for the monthly infrastructure cost and the monthly storage cost -- the
  Cost Explorer usage type groups `aws.storageUsageTypeGroups` (S3, RDS, DocumentDB, ElastiCache
  and AWS Backup storage; not "EC2 - Other", which is NAT, EBS and data transfer); alerts at 80 %
  and 100 % of actual spend and at 100 % of the forecast, to the alert topic and the emails. AWS
  Budgets see the whole account: keep one account per environment, or activate the `app` cost
  allocation tag and add a tag filter.
- AI spend is paid to the model provider (OpenAI), which AWS Budgets never see: it is watched on
  the app's own metric (AwsMonitoring's `ai-spend-daily` alarm). The contract (docs/deploy-aws.md):
  namespace `AIAssistant`, metrics `AiSpendUsd` (estimated USD of each model call) and `AiTokens`,
  dimension `Environment` (the task's `ENVIRONMENT`), emitted as CloudWatch embedded metric format
  log lines (no IAM grant needed).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent

AI_NAMESPACE = "AIAssistant"
AI_SPEND_METRIC = "AiSpendUsd"
AI_TOKENS_METRIC = "AiTokens"


def budgets(owner: PlatformComponent, topic_arn: pulumi.Input[str]) -> list[aws.budgets.Budget]:
    """The monthly infrastructure and storage budgets of `owner`'s stack, notifying `topic_arn`."""
    config = owner.config
    limits = config.monitoring.budgets
    emails = list(config.monitoring.notifications.emails) or None

    def notification(kind: str, pct: int) -> aws.budgets.BudgetNotificationArgs:
        return aws.budgets.BudgetNotificationArgs(
            comparison_operator="GREATER_THAN", notification_type=kind, threshold=pct,
            threshold_type="PERCENTAGE", subscriber_sns_topic_arns=[topic_arn], subscriber_email_addresses=emails,
        )

    storage = aws.budgets.BudgetCostFilterArgs(name="UsageTypeGroup", values=list(config.aws.storage_usage_type_groups))
    return [
        aws.budgets.Budget(
            owner.child_name("budget", key),
            aws.budgets.BudgetArgs(
                name=f"{owner.context.prefix}-{key}",
                budget_type="COST",
                time_unit="MONTHLY",
                limit_amount=f"{amount:.2f}",
                limit_unit="USD",
                cost_filters=[cost_filter] if cost_filter else None,
                notifications=[notification("ACTUAL", 80), notification("ACTUAL", 100), notification("FORECASTED", 100)],
                tags=owner.labels,
            ),
            opts=owner.child_opts(),
        )
        for key, amount, cost_filter in (
            ("infrastructure-monthly", limits.monthly_infrastructure, None),
            ("storage-monthly", limits.monthly_storage, storage),
        )
    ]
