"""The ECS Fargate app layer alone."""

import json

import pulumi_aws as aws
import pytest

from components.app.ecs import EcsApp, EcsAppArgs, fargate_size
from components.data.connection import ENV_VARS
from tests.aws.helpers import ACCOUNT, assert_explicit_providers, on_primary, policy, run_aws

SECRET_NAMES = ["OPENAI_API_KEY", "JWT_SECRET_KEY", "SESSION_SECRET", *ENV_VARS.values()]


def _arn(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:aia-prod-aws/{name.lower()}-AbCdEf"


def _versions(providers):
    """Stand-ins for the secret store's versions, so the services' ordering is visible."""
    return {
        n: aws.secretsmanager.SecretVersion(
            f"version-{n.lower()}", secret_id=_arn(n), secret_string="x", opts=on_primary(providers)
        )
        for n in SECRET_NAMES
    }


def _build(context, providers):
    return EcsApp(
        "app",
        EcsAppArgs(
            context=context,
            account_id=ACCOUNT,
            vpc_id="vpc-1",
            private_subnet_ids=["private-a", "private-b", "private-c"],
            service_security_group_ids={n: f"sg-{n}" for n in context.config.enabled_services},
            secret_arns={n: _arn(n) for n in SECRET_NAMES},
            secret_versions=_versions(providers),
            secrets_kms_key_arn="arn:key/secrets",
            logs_kms_key_arn="arn:key/logs",
            target_group_arns={"frontend": "arn:tg/frontend", "api": "arn:tg/api"},
            alternate_target_group_arns={"frontend": "arn:tg/frontend-b", "api": "arn:tg/api-b"},
            production_rule_arns={"frontend": "arn:rule/frontend", "api": "arn:rule/api"},
            alb_arn_suffix="app/alb/1",
            target_group_dimensions={n: [f"targetgroup/{n}/1", f"targetgroup/{n}-b/2"] for n in ("frontend", "api")},
        ),
        opts=on_primary(providers),
    )


@pytest.fixture(scope="module")
def app():
    return run_aws(_build)


def _containers(app):
    """service -> (task definition inputs, its app container)"""
    tasks = {}
    for r in app.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        name = r.name.removeprefix("app-").removesuffix("-task-definition")
        tasks[name] = (r.inputs, next(c for c in json.loads(r.inputs["containerDefinitions"]) if c["name"] == name))
    return tasks


def test_cluster_has_container_insights(app):
    cluster = app.one("aws:ecs/cluster:Cluster").inputs
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert_explicit_providers(app)


def test_task_definitions_are_hardened_fargate_tasks(app):
    tasks = _containers(app)
    assert sorted(tasks) == ["api", "frontend", "mcp", "worker"]
    for name, (task, container) in tasks.items():
        assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
        assert container["user"] == "1000"
        assert container["readonlyRootFilesystem"] is True
        assert {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False} in container["mountPoints"]
        assert {"name": "tmp"} in task["volumes"]
        assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
        logs = container["logConfiguration"]
        assert logs["logDriver"] == "awslogs" and logs["options"]["awslogs-group"] == f"/ecs/aia-prod-aws/{name}"
    # seed prod sizes mapped to valid Fargate sizes
    assert (tasks["frontend"][0]["cpu"], tasks["frontend"][0]["memory"]) == ("2048", "4096")
    assert (tasks["api"][0]["cpu"], tasks["api"][0]["memory"]) == ("4096", "8192")
    assert (tasks["worker"][0]["cpu"], tasks["worker"][0]["memory"]) == ("1024", "2048")
    assert tasks["api"][1]["healthCheck"]["command"][1].startswith("curl -fsS -o /dev/null http://localhost:8080/health")
    assert tasks["worker"][1]["entryPoint"] == ["python", "-m", "app.worker"]
    # the worker has no HTTP port: its health check is the config's exec heartbeat check
    assert tasks["worker"][1]["healthCheck"]["command"][:3] == ["CMD", "sh", "-c"]
    assert "worker-heartbeat" in tasks["worker"][1]["healthCheck"]["command"][3]


def test_secrets_only_by_reference(app):
    tasks = _containers(app)
    api = tasks["api"][1]
    refs = {s["name"]: s["valueFrom"] for s in api["secrets"]}
    assert refs == {n: _arn(n) for n in ("OPENAI_API_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL",
                                         "MONGODB_CONNECTION_URI", "QUEUE_CONNECTIONURL")}
    for _, container in tasks.values():
        plain = {e["name"] for e in container["environment"]}
        assert not plain & set(SECRET_NAMES)
    assert {s["name"] for s in tasks["frontend"][1]["secrets"]} == {"SESSION_SECRET", "REDIS_URL"}


def test_execution_roles_read_only_their_own_secrets(app):
    policies = {r.name: policy(r) for r in app.of_type("aws:iam/rolePolicy:RolePolicy")}
    frontend = {s["Sid"]: s for s in policies["app-frontend-execution-policy"]["Statement"]}
    assert sorted(frontend["Secrets"]["Resource"]) == sorted([_arn("SESSION_SECRET"), _arn("REDIS_URL")])
    assert frontend["DecryptSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    assert frontend["Logs"]["Resource"].endswith(":*") and "*" != frontend["Logs"]["Resource"]
    for doc in policies.values():
        for statement in doc["Statement"]:
            assert statement["Action"] != "*" and "secretsmanager:*" not in str(statement["Action"])
    trust = policy(app.named("app-api-task"), "assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    # the task role (the application's identity) has no permissions attached here
    assert not [r for r in app.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"].endswith("-task-id")]


def test_services_private_with_circuit_breaker_and_full_capacity_rollouts(app):
    services = {r.inputs["name"]: r.inputs for r in app.of_type("aws:ecs/service:Service")}
    for name, svc in services.items():
        net = svc["networkConfiguration"]
        assert net["assignPublicIp"] is False and net["subnets"] == ["private-a", "private-b", "private-c"]
        assert net["securityGroups"] == [f"sg-{name}"]
        assert svc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert svc["deploymentMinimumHealthyPercent"] == 100
        assert svc["launchType"] == "FARGATE"
    assert services["api"]["loadBalancers"] == [
        {
            "targetGroupArn": "arn:tg/api",
            "containerName": "api",
            "containerPort": 8080,
            # prod releases are canaries: ECS moves traffic to the alternate group through the rule
            "advancedConfiguration": {
                "alternateTargetGroupArn": "arn:tg/api-b",
                "productionListenerRule": "arn:rule/api",
                "roleArn": "arn:aws:iam:us-east-1:123456789012:app-api-ecs-lb",
            },
        }
    ]
    assert "loadBalancers" not in services["worker"] and "serviceRegistries" not in services["worker"]
    assert "loadBalancers" not in services["mcp"] and services["mcp"]["serviceRegistries"]


def test_autoscaling_on_cpu_70_and_memory_80(app):
    targets = {r.name: r.inputs for r in app.of_type("aws:appautoscaling/target:Target")}
    assert targets["app-frontend-scaling"]["minCapacity"] == 2 and targets["app-frontend-scaling"]["maxCapacity"] == 10
    policies = {r.name: r.inputs["targetTrackingScalingPolicyConfiguration"]
                for r in app.of_type("aws:appautoscaling/policy:Policy")}
    assert len(policies) == 8
    assert policies["app-api-scale-cpu"]["targetValue"] == 70
    assert policies["app-api-scale-cpu"]["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert policies["app-api-scale-memory"]["targetValue"] == 80
    assert policies["app-api-scale-memory"]["scaleInCooldown"] == 300


@pytest.mark.parametrize(
    "cpu, memory, expected",
    [(250, 512, (256, 512)), (500, 1024, (512, 1024)), (1000, 2048, (1024, 2048)), (2000, 4096, (2048, 4096)),
     (4000, 30720, (4096, 30720)), (8000, 16384, (8192, 16384)), (16000, 122880, (16384, 122880))],
)
def test_fargate_size_is_the_configs_in_cpu_units(cpu, memory, expected):
    assert fargate_size(cpu, memory) == expected


def test_fargate_size_never_rounds():
    """A size Fargate does not offer is refused by the ecs adapter's problems (test_platform_checks);
    the task definition never gets a silently rounded one."""
    with pytest.raises(AssertionError):
        fargate_size(1000, 1024)


def _init(task):
    return next(c for c in json.loads(task["containerDefinitions"]) if c["name"] == "volume-init")


def test_writable_paths_are_handed_to_the_app_user_by_an_init_container(app):
    tasks = _containers(app)
    expected = {"frontend": ["/tmp", "/app/.next/cache"], "api": ["/tmp"], "mcp": ["/tmp"], "worker": ["/tmp"]}
    for name, (task, container) in tasks.items():
        paths = [m["containerPath"] for m in container["mountPoints"]]
        assert paths == expected[name]
        assert sorted(v["name"] for v in task["volumes"]) == sorted(m["sourceVolume"] for m in container["mountPoints"])
        init = _init(task)
        assert init["essential"] is False and init["user"] == "0" and init["readonlyRootFilesystem"] is True
        assert init["mountPoints"] == container["mountPoints"]
        assert init["command"] == [f"chmod 1777 {' '.join(paths)}"]
        assert init["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
        assert "secrets" not in init and "portMappings" not in init
        assert container["dependsOn"] == [{"containerName": "volume-init", "condition": "SUCCESS"}]


def test_services_wait_for_secret_values_and_the_agent_grant_and_for_steady_state(app):
    by_urn = {r.urn: r for r in app.resources}
    for svc in app.of_type("aws:ecs/service:Service"):
        name = svc.inputs["name"]
        # a canary/blue-green release outlasts `up`: the deploy workflow's release wait watches it
        assert svc.inputs["waitForSteadyState"] is ("advancedConfiguration" not in (svc.inputs.get("loadBalancers") or [{}])[0])
        deps = {by_urn[u].name for u in svc.dependencies}
        assert f"app-{name}-execution-policy" in deps
        _, container = _containers(app)[name]
        wanted = {f"version-{s['name'].lower()}" for s in container["secrets"]}
        assert wanted <= deps, name


def test_no_ecr_grant_when_no_image_is_in_ecr(app):
    for reg in app.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert not [s for s in policy(reg)["Statement"] if "'ecr:" in str(s["Action"]) or str(s["Action"]).startswith("ecr:")], reg.name


def test_ecr_grant_scoped_to_the_repositories_of_the_images():
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/api:1.2.3"
    run = run_aws(_build, overrides={"services": {"api": {"image": image}}})
    statements = {s["Sid"]: s for s in policy(run.named("app-api-execution-policy"))["Statement"]}
    assert statements["EcrPull"]["Resource"] == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/api"]
    assert statements["EcrToken"]["Resource"] == "*"  # GetAuthorizationToken has no resource-level permission
    frontend = policy(run.named("app-frontend-execution-policy"))["Statement"]
    assert not [s for s in frontend if "'ecr:" in str(s["Action"]) or str(s["Action"]).startswith("ecr:")]
