"""AWS keys and secret store (`ecs`): customer-managed KMS keys and Secrets Manager secrets.

`AwsKeys` creates one customer-managed KMS key per purpose, each with yearly automatic rotation and
a 30-day deletion window, so a leaked or misused grant stays confined to one concern:

- `data`: RDS, ElastiCache, DocumentDB storage and Performance Insights;
- `secrets`: Secrets Manager;
- `logs`: CloudWatch Logs (flow logs, container logs) and the alert SNS topic -- its key policy lets
  the CloudWatch Logs service, CloudWatch alarms, AWS Budgets and EventBridge rules (AWS Backup
  restore-job events) use it, scoped to this account;
- `backup`: the AWS Backup vault and the S3 backup bucket;
- in `regions.secondary`: `backup` (copy vault, replica bucket, replicated RDS backups) and
  `secrets` (replicas of every secret, so the standby can start without this region); with a
  standby (`aws.standby.mode` warm or pilotLight) also `data` (the cross-region replicas) and
  `logs` (the standby's flow and container logs);
- in us-east-1, when the primary region is another one: `global-logs` for the alert topic that
  Route 53 health-check and CloudFront alarms (whose metrics exist only in us-east-1) publish to.

Keys are stateful: deleting one makes everything it encrypted unreadable, so production protects them.

`AwsSecretStore` puts every application secret (provided, generated, and the data services'
connection URLs and passwords) into its own Secrets Manager secret, encrypted with the `secrets`
key, replicated to the secondary region when there is one. The value comes only from secret
Outputs (`SecretVersion.secret_string`); the ECS task definitions reference the secrets by ARN
(`secrets[].valueFrom`), never by value. Names are `<prefix>/<env-name-in-kebab-case>`: stable.
Deleted secrets stay restorable for 30 days in production and are deleted at once elsewhere
(`recovery_window_days`: a non-prod stack can then be destroyed and rebuilt at once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.config import StackContext
from components.platforms.aws_settings import standby_mode

PRIMARY_PURPOSES = ("data", "secrets", "logs", "backup")
SECONDARY_PURPOSES = ("backup", "secrets")
STANDBY_PURPOSES = ("data", "logs")  # the standby's replicas and its VPC flow/container logs


def _root_statement(account_id: str) -> dict:
    return {
        "Sid": "AccountAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def key_policy(purpose: str, account_id: str, region: str) -> str:
    """The key policy: the account administers the key through IAM; service principals get only
    what their integration needs, and only on behalf of this account."""
    statements = [_root_statement(account_id)]
    if purpose in ("logs", "global-logs"):
        statements.append(
            {
                "Sid": "CloudWatchLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:*"}
                },
            }
        )
        statements.append(
            {
                "Sid": "AlarmAndBudgetNotifications",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class AwsKeysArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    secondary_provider: Optional[pulumi.ProviderResource] = None
    # the us-east-1 provider; used only when the primary region is not us-east-1
    global_provider: Optional[pulumi.ProviderResource] = None


class AwsKeys(PlatformComponent):
    """Customer-managed KMS keys with rotation, per purpose and region (see the module docstring).

    Exposes `arn(purpose)`, `secondary_arn(purpose)` and `global_logs_arn`."""

    TYPE = "aiplatform:secrets:AwsKeys"

    def __init__(self, name: str, args: AwsKeysArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        self.keys: dict[str, aws.kms.Key] = {}
        self.secondary_keys: dict[str, aws.kms.Key] = {}
        for purpose in PRIMARY_PURPOSES:
            self.keys[purpose] = self._key(purpose, cfg.regions.primary, args.account_id, None)
        if cfg.regions.secondary and args.secondary_provider is not None:
            standby = STANDBY_PURPOSES if standby_mode(cfg) != "off" else ()
            for purpose in SECONDARY_PURPOSES + standby:
                self.secondary_keys[purpose] = self._key(
                    purpose, cfg.regions.secondary, args.account_id, args.secondary_provider, suffix="secondary"
                )
        if cfg.regions.primary == "us-east-1" or args.global_provider is None:
            self.global_logs_key = self.keys["logs"]
        else:
            self.global_logs_key = self._key("global-logs", "us-east-1", args.account_id, args.global_provider)
        self.register_outputs(
            {
                "keyArns": {p: k.arn for p, k in self.keys.items()},
                "secondaryKeyArns": {p: k.arn for p, k in self.secondary_keys.items()},
            }
        )

    def _key(
        self,
        purpose: str,
        region: str,
        account_id: pulumi.Input[str],
        provider: Optional[pulumi.ProviderResource],
        suffix: Optional[str] = None,
    ) -> aws.kms.Key:
        parts = (purpose, suffix) if suffix else (purpose,)
        extra = {"provider": provider} if provider is not None else {}
        key = aws.kms.Key(
            self.child_name(*parts),
            aws.kms.KeyArgs(
                description=f"{self.context.prefix} {purpose} ({region}), managed by Pulumi",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=30,
                policy=pulumi.Output.from_input(account_id).apply(lambda a: key_policy(purpose, a, region)),
                tags=self.labels,
            ),
            opts=self.child_opts(stateful=True, **extra),
        )
        aws.kms.Alias(
            self.child_name(*parts, "alias"),
            aws.kms.AliasArgs(
                name=f"alias/{self.context.prefix}-{'-'.join(parts)}",
                target_key_id=key.key_id,
            ),
            opts=self.child_opts(**extra),
        )
        return key

    def arn(self, purpose: str) -> pulumi.Output[str]:
        return self.keys[purpose].arn

    def secondary_arn(self, purpose: str) -> Optional[pulumi.Output[str]]:
        key = self.secondary_keys.get(purpose)
        return key.arn if key is not None else None

    @property
    def global_logs_arn(self) -> pulumi.Output[str]:
        return self.global_logs_key.arn


def recovery_window_days(production: bool) -> int:
    """Days a deleted secret stays restorable -- and its name reserved, so a stack that is destroyed
    and rebuilt cannot create it again before then. Production keeps the maximum, 30. Other stacks
    delete at once (0: "force delete without recovery"), so they can be rebuilt right away; the risk:
    a secret deleted there (a `destroy`, a removed service) cannot be restored -- provided values must
    be set again from their source, generated ones are generated anew."""
    return 30 if production else 0


def secret_path(prefix: str, env_name: str) -> str:
    """`aia-prod-aws` + `DATABASE_URL` -> `aia-prod-aws/database-url`."""
    return f"{prefix}/{env_name.lower().replace('_', '-')}"


@dataclass(frozen=True)
class AwsSecretStoreArgs:
    context: StackContext
    # env name -> secret Output with the value
    values: Mapping[str, pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    replica_kms_key_arn: Optional[pulumi.Input[str]] = None
    descriptions: Mapping[str, str] = field(default_factory=dict)
    # names `<path_prefix>/<env-name>` instead of `<prefix>/<env-name>` (the standby's own secrets)
    path_prefix: Optional[str] = None


class AwsSecretStore(PlatformComponent):
    """One Secrets Manager secret (+ its current version) per value, KMS-encrypted, replicated to
    `regions.secondary` when configured. Exposes `arns`: env name -> secret ARN (not a secret), and
    `versions`: env name -> the SecretVersion that writes its value. A consumer that reads a secret
    when it starts (an ECS task) must depend on the version, not on the secret: the secret exists
    long before its value (a connection URL is written only after its database is up)."""

    TYPE = "aiplatform:secrets:AwsSecretStore"

    def __init__(self, name: str, args: AwsSecretStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        replicas = None
        if cfg.regions.secondary and args.replica_kms_key_arn is not None:
            replicas = [aws.secretsmanager.SecretReplicaArgs(region=cfg.regions.secondary, kms_key_id=args.replica_kms_key_arn)]
        self.arns: dict[str, pulumi.Output[str]] = {}
        self.versions: dict[str, aws.secretsmanager.SecretVersion] = {}
        for env_name in sorted(args.values):
            slug = env_name.lower().replace("_", "-")
            secret = aws.secretsmanager.Secret(
                self.child_name(slug),
                aws.secretsmanager.SecretArgs(
                    name=secret_path(args.path_prefix or self.context.prefix, env_name),
                    description=args.descriptions.get(env_name, f"{env_name} for {self.context.stack}"),
                    kms_key_id=args.kms_key_arn,
                    recovery_window_in_days=recovery_window_days(cfg.is_production),
                    replicas=replicas,
                    tags=self.labels,
                ),
                opts=self.child_opts(),
            )
            self.versions[env_name] = aws.secretsmanager.SecretVersion(
                self.child_name(slug, "version"),
                aws.secretsmanager.SecretVersionArgs(
                    secret_id=secret.id,
                    secret_string=pulumi.Output.secret(args.values[env_name]),
                ),
                opts=self.child_opts(),
            )
            self.arns[env_name] = secret.arn
        self.register_outputs({"names": sorted(self.arns)})
