"""Day 2 on AWS: config changes that replace a resource must be able to finish.

Pulumi replaces create-before-destroy (deleteBeforeReplace off): the new resource exists next to
the old one for a moment, so a replacement with the same fixed physical name fails ("a target
group with the same name exists"). A name that carries the replacing property avoids that.
"""

from components.edge.alb import AwsLoadBalancer, AwsLoadBalancerArgs, target_group_name
from tests.aws.helpers import ACCOUNT, on_primary, run_aws

# properties that replace an ALB target group (Terraform aws_lb_target_group: ForceNew) and that
# come from the config
TARGET_GROUP_REPLACED_BY = ("port",)


def _alb(context, providers):
    return AwsLoadBalancer(
        "alb",
        AwsLoadBalancerArgs(context, ACCOUNT, "vpc-1", ["public-a", "public-b", "public-c"], "sg-alb", "arn:cert/alb"),
        opts=on_primary(providers),
    )


def _target_groups(run):
    return {r.name: r.inputs for r in run.of_type("aws:lb/targetGroup:TargetGroup")}


def test_a_port_change_gives_the_target_group_a_new_name():
    before = _target_groups(run_aws(_alb))
    after = _target_groups(run_aws(_alb, overrides={"services": {"api": {"port": 9090}, "frontend": {"port": 3001}}}))
    assert sorted(before) == sorted(after) == [
        "alb-api-tg", "alb-api-tg-alternate", "alb-frontend-tg", "alb-frontend-tg-alternate"
    ]
    for logical in before:
        for prop in TARGET_GROUP_REPLACED_BY:
            assert before[logical][prop] != after[logical][prop]
        assert before[logical]["name"] != after[logical]["name"], f"{logical}: a port change could not be replaced"
    assert after["alb-api-tg"]["name"] == "aia-prod-aws-api-9090"
    assert after["alb-api-tg-alternate"]["name"] == "aia-prod-aws-api-9090-b"


def test_target_group_names_fit_even_for_long_service_names():
    name = target_group_name("aia-production-e", "conversation-summariser", 8080)
    assert len(name) <= 32 and not name.endswith("-")
    assert name != target_group_name("aia-production-e", "conversation-summariser", 8081)
