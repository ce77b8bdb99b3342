"""Every IAM identity policy of every stack grants each action on the narrowest resource it can.

An action that supports resource-level permissions must name its resources: neither "*" nor a
whole resource type ("arn:aws:ecr:<region>:<account>:repository/*", "...:secret:*"). Only actions
without resource-level support may use "*". The table below says which is which (AWS Service
Authorization Reference, "Actions defined by ..."); a policy with an action the table does not
know fails, so a new grant is looked up once rather than waved through. AWS-managed policies
(attached by ARN) are AWS's documents and not checked here; trust policies have no Resource.
"""

import json
import re

import pytest

from components.config import PROJECT
from tests.helpers import plan_of
from tools.plan import available_stacks, read_stack_config

# action -> does it support resource-level permissions?
RESOURCE_LEVEL: dict[str, bool] = {
    "ecr:GetAuthorizationToken": False,
    "ecr:BatchCheckLayerAvailability": True,
    "ecr:BatchGetImage": True,
    "ecr:GetDownloadUrlForLayer": True,
    "kms:Decrypt": True,
    "kms:Encrypt": True,
    "kms:GenerateDataKey": True,
    "kms:DescribeKey": True,
    "logs:CreateLogGroup": True,
    "logs:CreateLogStream": True,
    "logs:PutLogEvents": True,
    "logs:DescribeLogStreams": True,
    "logs:DescribeLogGroups": True,
    "secretsmanager:GetSecretValue": True,
    "secretsmanager:DescribeSecret": True,
    "secretsmanager:PutSecretValue": True,
    "secretsmanager:UpdateSecretVersionStage": True,
    "secretsmanager:GetRandomPassword": False,
    "s3:GetReplicationConfiguration": True,
    "s3:ListBucket": True,
    "s3:GetObject": True,
    "s3:PutObject": True,
    "s3:GetObjectVersionForReplication": True,
    "s3:GetObjectVersionAcl": True,
    "s3:GetObjectVersionTagging": True,
    "s3:ReplicateObject": True,
    "s3:ReplicateDelete": True,
    "s3:ReplicateTags": True,
    "sns:Publish": True,
    "cloudwatch:PutMetricData": False,
    # ECS moving a release's traffic (components/app/ecs_release.py)
    "elasticloadbalancing:DescribeListeners": False,
    "elasticloadbalancing:DescribeRules": False,
    "elasticloadbalancing:DescribeTargetGroups": False,
    "elasticloadbalancing:DescribeTargetHealth": False,
    "elasticloadbalancing:RegisterTargets": True,
    "elasticloadbalancing:DeregisterTargets": True,
    "elasticloadbalancing:ModifyRule": True,
}

# identity policy documents: (type token, input property holding the JSON document)
DOCUMENTS = (
    ("aws:iam/rolePolicy:RolePolicy", "policy"),
    ("aws:iam/policy:Policy", "policy"),
    ("aws:iam/userPolicy:UserPolicy", "policy"),
    ("aws:iam/groupPolicy:GroupPolicy", "policy"),
)

# a resource that spans every resource of a type (in some or every region/account): "*",
# "arn:aws:ecr:r:a:repository/*", "arn:aws:secretsmanager:r:a:secret:*", "arn:aws:kms:r:a:key/*", ...
_TYPE_WIDE = re.compile(
    r"^\*$|^arn:[^:]+:("
    r"ecr:[^:]*:[^:]*:repository/\*|secretsmanager:[^:]*:[^:]*:secret:\*|kms:[^:]*:[^:]*:(key|alias)/\*"
    r"|logs:[^:]*:[^:]*:(log-group:)?\*|s3:::\*|sns:[^:]*:[^:]*:\*|[a-z0-9-]+:[^:]*:[^:]*:\*"
    r")$"
)

# the stacks whose platform is ECS (read from the stack files, without planning at collection)
AWS_STACKS = [s for s in available_stacks() if read_stack_config(s)[1].get(f"{PROJECT}:platform") == "ecs"]


def _documents(plan):
    for reg in plan.capture.resources:
        for type_token, prop in DOCUMENTS:
            if reg.type == type_token and isinstance(reg.inputs.get(prop), str):
                yield reg, json.loads(reg.inputs[prop])
        if reg.type == "aws:iam/role:Role":
            for inline in reg.inputs.get("inlinePolicies") or []:
                yield reg, json.loads(inline["policy"])


def _listed(value):
    return value if isinstance(value, list) else [value]


def problems_of(document: dict) -> list[str]:
    found = []
    for statement in _listed(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        for action in _listed(statement.get("Action", [])):
            if action not in RESOURCE_LEVEL:
                found.append(f"{action}: not in the table (look up whether it supports resource-level permissions)")
                continue
            if not RESOURCE_LEVEL[action]:
                continue
            for resource in _listed(statement.get("Resource", [])):
                if _TYPE_WIDE.match(resource):
                    found.append(f"{action} on {resource}: name the resources it needs")
    return found


def test_aws_stacks_are_checked():
    assert "prod-aws" in AWS_STACKS


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_identity_policies_grant_on_scoped_resources(stack):
    checked = 0
    for reg, document in _documents(plan_of(stack)):
        assert problems_of(document) == [], reg.urn
        checked += 1
    assert checked


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": ["ecr:BatchGetImage"], "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/*"},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:123456789012:key/*"},
        {"Effect": "Allow", "Action": "ecr:*", "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/app"},
    ],
)
def test_the_rule_catches_type_wide_grants(statement):
    assert problems_of({"Statement": [statement]})


def test_the_rule_accepts_scoped_grants_and_star_for_actions_without_resource_level_support():
    assert problems_of({"Statement": [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "arn:aws:logs:us-east-1:1:log-group:/ecs/x:*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"},
    ]}) == []
