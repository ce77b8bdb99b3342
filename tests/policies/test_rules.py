"""Every rule of the pack: passing, violating and unknown-value resources, built small and explicit.

Each case runs one policy (mandatory, everything else disabled) through the offline evaluator, so
props reach the rule as the SDK's proxies with numbers as floats, exactly as under the CLI.
Expected verdicts: "pass" (no violation), "fail" (a mandatory violation; `contains` must appear in
a message), "unknown" (no mandatory violation, one advisory "cannot verify ..." instead).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Callable, NamedTuple, Optional

import pytest

from policies.pack import ALL_POLICIES
from tests.policies import theme_cases
from tests.policies.support import (
    S,
    U,
    cloudrun_container,
    cloudrun_service,
    cronjob,
    deployment,
    ecs_container,
    ecs_task,
    hpa,
    k8s,
    k8s_container,
    network_policy,
    pdb,
    res,
    run,
    verdict,
    with_sc,
)


class Case(NamedTuple):
    policy: str
    id: str
    build: Callable[[], list[dict[str, Any]]]
    expected: str
    contains: Optional[str] = None
    config: Optional[dict[str, Any]] = None


CASES: list[Case] = []


def case(policy: str, id: str, build: Callable[[], Any], expected: str, contains: Optional[str] = None, config: Optional[dict[str, Any]] = None) -> None:
    def resources() -> list[dict[str, Any]]:
        built = build()
        return built if isinstance(built, list) else [built]

    CASES.append(Case(policy, id, resources, expected, contains, config))


# --- containers --------------------------------------------------------------------------------

P = "container-non-root"
case(P, "hardened deployment", lambda: deployment(), "pass")
case(P, "pod-level runAsNonRoot", lambda: deployment([k8s_container(securityContext=with_sc(runAsNonRoot=None, runAsUser=None))], pod_sc={"runAsNonRoot": True}), "pass")
case(P, "no non-root setting", lambda: deployment([k8s_container(securityContext=with_sc(runAsNonRoot=None, runAsUser=None))]), "fail", "may run as root")
case(P, "runAsUser 0", lambda: deployment([k8s_container(securityContext=with_sc(runAsUser=0))]), "fail", "runAsUser: 0")
case(P, "root init container", lambda: deployment(init=[k8s_container(name="migrate", securityContext=with_sc(runAsNonRoot=None, runAsUser=None))]), "fail", "init container 'migrate'")
case(P, "root cronjob", lambda: cronjob([k8s_container(securityContext={})]), "fail")
case(P, "ecs with user", lambda: ecs_task(), "pass")
case(P, "ecs without user", lambda: ecs_task([ecs_container(user=None)]), "fail", "runs as root")
case(P, "ecs user root", lambda: ecs_task([ecs_container(user="root:root")]), "fail")
_INIT = {"name": "volume-init", "essential": False, "user": "0", "portMappings": None, "secrets": None, "healthCheck": None}
_AWAIT = {"dependsOn": [{"containerName": "volume-init", "condition": "SUCCESS"}]}
case(P, "ecs root init step awaited with SUCCESS", lambda: ecs_task([ecs_container(**_INIT), ecs_container(**_AWAIT)]), "pass")
case(P, "ecs root init step awaited to START only", lambda: ecs_task([ecs_container(**_INIT), ecs_container(dependsOn=[{"containerName": "volume-init", "condition": "START"}])]), "fail", "runs as root")
case(P, "ecs root init step with capabilities", lambda: ecs_task([ecs_container(**_INIT, linuxParameters={"capabilities": {"drop": ["NET_RAW"]}}), ecs_container(**_AWAIT)]), "fail", "runs as root")
case(P, "ecs root init step with secrets", lambda: ecs_task([ecs_container(**{**_INIT, "secrets": [{"name": "X", "valueFrom": "arn:x"}]}), ecs_container(**_AWAIT)]), "fail", "runs as root")
case(P, "ecs root essential container awaited", lambda: ecs_task([ecs_container(**{**_INIT, "essential": True}), ecs_container(**_AWAIT)]), "fail", "runs as root")
case(P, "runAsUser unknown", lambda: deployment([k8s_container(securityContext=with_sc(runAsNonRoot=None, runAsUser=U))]), "unknown")
case(P, "containers unknown", lambda: deployment(U), "unknown")
case(P, "ecs definitions unknown", lambda: ecs_task(U), "unknown")
case(P, "ecs definitions not json", lambda: ecs_task("{not json"), "fail", "not valid JSON")

P = "container-read-only-root-fs"
case(P, "read-only", lambda: deployment(), "pass")
case(P, "writable", lambda: deployment([k8s_container(securityContext=with_sc(readOnlyRootFilesystem=False))]), "fail", "writable root filesystem")
case(P, "unset", lambda: deployment([k8s_container(securityContext=with_sc(readOnlyRootFilesystem=None))]), "fail")
case(P, "ecs read-only", lambda: ecs_task(), "pass")
case(P, "ecs writable", lambda: ecs_task([ecs_container(readonlyRootFilesystem=None)]), "fail", "readonlyRootFilesystem")
case(P, "unknown", lambda: deployment([k8s_container(securityContext=with_sc(readOnlyRootFilesystem=U))]), "unknown")

P = "container-no-privilege-escalation"
case(P, "locked down", lambda: deployment(), "pass")
case(P, "escalation not disabled", lambda: deployment([k8s_container(securityContext=with_sc(allowPrivilegeEscalation=None))]), "fail", "escalate")
case(P, "privileged", lambda: deployment([k8s_container(securityContext=with_sc(privileged=True))]), "fail", "is privileged")
case(P, "ecs privileged", lambda: ecs_task([ecs_container(privileged=True)]), "fail", "privileged")
case(P, "ecs fine", lambda: ecs_task(), "pass")
case(P, "unknown", lambda: deployment([k8s_container(securityContext=with_sc(allowPrivilegeEscalation=U))]), "unknown")

P = "container-capabilities-dropped"
case(P, "drop ALL", lambda: deployment(), "pass")
case(P, "adds NET_BIND_SERVICE", lambda: deployment([k8s_container(securityContext=with_sc(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}))]), "pass")
case(P, "drops nothing", lambda: deployment([k8s_container(securityContext=with_sc(capabilities=None))]), "fail", "does not drop all")
case(P, "adds SYS_ADMIN", lambda: deployment([k8s_container(securityContext=with_sc(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}))]), "fail", "SYS_ADMIN")
case(P, "ecs drops nothing", lambda: ecs_task([ecs_container(linuxParameters=None)]), "fail")
case(P, "ecs drops ALL", lambda: ecs_task(), "pass")
case(P, "unknown drop list", lambda: deployment([k8s_container(securityContext=with_sc(capabilities={"drop": U}))]), "unknown")

P = "container-resources"
case(P, "requests and limits", lambda: deployment(), "pass")
case(P, "no cpu limit", lambda: deployment([k8s_container(resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}})]), "fail", "limits.cpu")
case(P, "no resources", lambda: deployment([k8s_container(resources=None)]), "fail", "requests.cpu")
case(P, "init container exempt", lambda: deployment(init=[k8s_container(name="init", resources=None)]), "pass")
case(P, "cloud run limits", lambda: cloudrun_service(), "pass")
case(P, "cloud run no limits", lambda: cloudrun_service([cloudrun_container(resources=None)]), "fail", "limits.cpu")
case(P, "ecs task-level", lambda: ecs_task(), "pass")
case(P, "ecs container-level", lambda: ecs_task([ecs_container(cpu=256, memoryReservation=512)], cpu=None, memory=None), "pass")
case(P, "ecs none", lambda: ecs_task(cpu=None, memory=None), "fail", "no cpu/memory")
case(P, "unknown request", lambda: deployment([k8s_container(resources={"requests": {"cpu": U, "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})]), "unknown")

P = "container-probes"
case(P, "liveness and readiness", lambda: deployment(), "pass")
case(P, "no liveness", lambda: deployment([k8s_container(livenessProbe=None)]), "fail", "no livenessProbe or startupProbe")
case(P, "startup instead of liveness", lambda: deployment([k8s_container(livenessProbe=None, startupProbe={"tcpSocket": {"port": 8080}})]), "pass")
case(P, "ports without readiness", lambda: deployment([k8s_container(readinessProbe=None)]), "fail", "readinessProbe")
case(P, "worker with exec liveness", lambda: deployment([k8s_container(ports=None, readinessProbe=None, livenessProbe={"exec": {"command": ["true"]}})]), "pass")
case(P, "cronjob exempt", lambda: cronjob([k8s_container(livenessProbe=None, readinessProbe=None)]), "pass")
case(P, "one-shot pod exempt", lambda: res("kubernetes:core/v1:Pod", {"kind": "Pod", "metadata": {"name": "once"}, "spec": {"restartPolicy": "Never", "containers": [k8s_container(livenessProbe=None, readinessProbe=None)]}}), "pass")
case(P, "long-running pod", lambda: res("kubernetes:core/v1:Pod", {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [k8s_container(livenessProbe=None)]}}), "fail")
case(P, "cloud run no probes", lambda: cloudrun_service([cloudrun_container(startupProbe=None, livenessProbe=None)]), "fail", "startupProbe")
case(P, "cloud run startup probe", lambda: cloudrun_service([cloudrun_container(livenessProbe=None)]), "pass")
case(P, "cloud run job exempt", lambda: res("gcp:cloudrunv2/job:Job", {"template": {"template": {"containers": [cloudrun_container(startupProbe=None, livenessProbe=None)]}}}), "pass")
case(P, "ecs health check", lambda: ecs_task(), "pass")
case(P, "ecs essential without health check", lambda: ecs_task([ecs_container(healthCheck=None)]), "fail", "healthCheck")
case(P, "ecs non-essential sidecar", lambda: ecs_task([ecs_container(), ecs_container(name="log", essential=False, healthCheck=None)]), "pass")
case(P, "unknown liveness", lambda: deployment([k8s_container(livenessProbe=U)]), "unknown")

P = "container-image-pinned"
case(P, "version tag", lambda: deployment(), "pass")
case(P, "digest", lambda: cloudrun_service(), "pass")
case(P, "registry port and tag", lambda: deployment([k8s_container(image="localhost:5000/app:1.0")]), "pass")
case(P, "latest", lambda: deployment([k8s_container(image="ghcr.io/org/api:latest")]), "fail", "':latest'")
case(P, "untagged", lambda: deployment([k8s_container(image="redis")]), "fail", "untagged")
case(P, "registry port untagged", lambda: deployment([k8s_container(image="localhost:5000/app")]), "fail", "untagged")
case(P, "init container latest", lambda: deployment(init=[k8s_container(name="wait", image="busybox:latest")]), "fail", "init container 'wait'")
case(P, "cloud run latest", lambda: cloudrun_service([cloudrun_container(image="gcr.io/p/api:latest")]), "fail")
case(P, "ecs untagged", lambda: ecs_task([ecs_container(image="nginx")]), "fail")
case(P, "unknown image", lambda: deployment([k8s_container(image=U)]), "unknown")

# --- secrets -------------------------------------------------------------------------------------

P = "no-plain-secret-env"
case(P, "secret refs only", lambda: deployment(), "pass")
case(P, "api key as value", lambda: deployment([k8s_container(env=[{"name": "OPENAI_API_KEY", "value": "sk-live-123"}])]), "fail", "OPENAI_API_KEY names a secret")
case(P, "connection string as value", lambda: deployment([k8s_container(env=[{"name": "DATABASE_URL", "value": "postgres://db:5432/app"}])]), "fail", "connection string")
case(P, "secret output in benign name", lambda: deployment([k8s_container(env=[{"name": "UPSTREAM", "value": S}])]), "fail", "holds a secret value")
case(P, "credentials in url", lambda: deployment([k8s_container(env=[{"name": "UPSTREAM", "value": "amqp://user:hunter2@mq:5672/"}])]), "fail", "embedded credentials")
case(P, "metadata names are fine", lambda: deployment([k8s_container(env=[{"name": "JWT_SECRET_FILE", "value": "/run/secrets/jwt"}, {"name": "TOKEN_EXPIRY_MINUTES", "value": "30"}])]), "pass")
case(P, "cloud run plain secret", lambda: cloudrun_service([cloudrun_container(envs=[{"name": "SESSION_SECRET", "value": "x"}])]), "fail", "valueSource.secretKeyRef")
case(P, "ecs environment secret", lambda: ecs_task([ecs_container(environment=[{"name": "REDIS_URL", "value": "rediss://:pw@cache:6379"}])]), "fail", "`secrets` with valueFrom")
case(P, "ecs secrets block", lambda: ecs_task(), "pass")
case(P, "ecs definitions are a secret", lambda: ecs_task(S), "fail", "interpolated")
case(P, "cloud run secret in a neutral name", lambda: cloudrun_service([cloudrun_container(envs=[{"name": "UPSTREAM_HOST", "value": S}])]), "fail", "holds a secret value")
case(P, "configmap secret in a neutral key", lambda: res("kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"UPSTREAM": S}}), "fail", "holds a secret value")
case(P, "configmap secret key", lambda: res("kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"API_KEY": "abc", "LOG_LEVEL": "info"}}), "fail", "ConfigMap key API_KEY")
case(P, "configmap plain settings", lambda: res("kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"LOG_LEVEL": "info", "APP_NAME": "AI"}}), "pass")
case(P, "unknown value of benign name", lambda: deployment([k8s_container(env=[{"name": "API_BASE", "value": U}])]), "unknown")
case(P, "unknown value of secret name still fails", lambda: deployment([k8s_container(env=[{"name": "DB_PASSWORD", "value": U}])]), "fail", "DB_PASSWORD")
case(P, "unknown env list", lambda: deployment([k8s_container(env=U)]), "unknown")


def test_secret_values_are_never_echoed() -> None:
    leaked = "sk-live-DO-NOT-PRINT"
    found = run(
        "no-plain-secret-env",
        [
            deployment([k8s_container(env=[{"name": "OPENAI_API_KEY", "value": leaked}, {"name": "X", "value": f"https://u:{leaked}@h/"}])]),
            ecs_task([ecs_container(environment=[{"name": "TOKEN", "value": leaked}])]),
            res("kubernetes:core/v1:ConfigMap", {"metadata": {"name": "c"}, "data": {"PASSWORD": leaked}}),
        ],
    )
    assert len(found) == 4
    assert all(leaked not in v["message"] for v in found)


# --- network -------------------------------------------------------------------------------------

P = "default-deny-network-policy"
case(P, "one deny-all policy", lambda: [deployment(), network_policy()], "pass")
case(P, "ingress and egress in two policies", lambda: [deployment(), network_policy("deny-in", policyTypes=["Ingress"]), network_policy("deny-out", policyTypes=["Egress"])], "pass")
case(P, "no policy", lambda: [deployment()], "fail", "namespace 'ai-assistant'")
case(P, "ingress only", lambda: [deployment(), network_policy(policyTypes=["Ingress"])], "fail", "for egress")
case(P, "policy in another namespace", lambda: [deployment(), network_policy(namespace="other")], "fail")
case(P, "selects some pods only", lambda: [deployment(), network_policy(podSelector={"matchLabels": {"app": "x"}})], "fail")
case(P, "allow-all is not deny", lambda: [deployment(), network_policy(ingress=[{}], egress=[{}])], "fail")
case(P, "no workloads, nothing to protect", lambda: [network_policy(namespace="empty")], "pass")
case(P, "default namespace counts", lambda: [deployment(namespace=None)], "fail", "namespace 'default'")
case(P, "unknown workload namespace", lambda: [deployment(namespace=U), network_policy()], "unknown")

P = "no-public-load-balancer-service"
case(P, "cluster ip", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": "ClusterIP"}), "pass")
case(P, "public load balancer", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": "LoadBalancer"}), "fail", "reachable from the internet")
case(P, "internal load balancer", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": "LoadBalancer"}, annotations={"networking.gke.io/load-balancer-type": "Internal"}), "pass")
case(P, "unknown type", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": U}), "unknown")

P = "gke-private-nodes"
CLUSTER = "gcp:container/cluster:Cluster"
case(P, "private cluster", lambda: res(CLUSTER, {"location": "us-central1", "privateClusterConfig": {"enablePrivateNodes": True}}), "pass")
case(P, "public nodes", lambda: res(CLUSTER, {"location": "us-central1"}), "fail", "enablePrivateNodes")
case(P, "inline pool overrides", lambda: res(CLUSTER, {"privateClusterConfig": {"enablePrivateNodes": True}, "nodePools": [{"networkConfig": {"enablePrivateNodes": False}}]}), "fail", "node pool 0")
case(P, "node pool public", lambda: res("gcp:container/nodePool:NodePool", {"cluster": "c", "networkConfig": {"enablePrivateNodes": False}}), "fail")
case(P, "node pool inherits", lambda: res("gcp:container/nodePool:NodePool", {"cluster": "c"}), "pass")
case(P, "unknown", lambda: res(CLUSTER, {"privateClusterConfig": {"enablePrivateNodes": U}}), "unknown")

P = "ecs-no-public-ip"
ECS_SVC = "aws:ecs/service:Service"
case(P, "private tasks", lambda: res(ECS_SVC, {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": False}}), "pass")
case(P, "public ip", lambda: res(ECS_SVC, {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": True}}), "fail", "assignPublicIp")
case(P, "unknown", lambda: res(ECS_SVC, {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": U}}), "unknown")

P = "cloudrun-ingress-restricted"
case(P, "load balancer only", lambda: cloudrun_service(), "pass")
case(P, "internal only", lambda: cloudrun_service(ingress="INGRESS_TRAFFIC_INTERNAL_ONLY"), "pass")
case(P, "unset means all", lambda: cloudrun_service(ingress=None), "fail", "INGRESS_TRAFFIC_ALL")
case(P, "all", lambda: cloudrun_service(ingress="INGRESS_TRAFFIC_ALL"), "fail")
case(P, "unknown", lambda: cloudrun_service(ingress=U), "unknown")

# --- transport -----------------------------------------------------------------------------------

ING = "kubernetes:networking.k8s.io/v1:Ingress"
FC = "kubernetes:networking.gke.io/v1beta1:FrontendConfig"
CF = "aws:cloudfront/distribution:Distribution"
LST = "aws:lb/listener:Listener"


def ingress(tls: Any = ("app.example.com",), host: str = "app.example.com", annotations: Optional[dict[str, Any]] = None, cls: str = "nginx") -> dict[str, Any]:
    spec: dict[str, Any] = {"ingressClassName": cls, "rules": [{"host": host, "http": {"paths": []}}]}
    if tls == U:
        spec["tls"] = U
    elif tls:
        spec["tls"] = [{"hosts": list(tls), "secretName": "tls"}]
    return k8s(ING, "Ingress", spec=spec, annotations=annotations or {})


def cloudfront(**overrides: Any) -> dict[str, Any]:
    body = {
        "enabled": True,
        "webAclId": "arn:aws:wafv2:us-east-1:1:global/webacl/x",
        "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https", "targetOriginId": "alb"},
        "viewerCertificate": {"acmCertificateArn": "arn:aws:acm:cert", "minimumProtocolVersion": "TLSv1.2_2021", "sslSupportMethod": "sni-only"},
        "origins": [{"originId": "alb", "domainName": "alb.example.com", "customOriginConfig": {"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"]}}],
    }
    body.update(overrides)
    return res(CF, body)


P = "https-only"
case(P, "ingress with tls", lambda: ingress(), "pass")
case(P, "ingress wildcard tls", lambda: ingress(tls=("*.example.com",)), "pass")
case(P, "ingress without tls", lambda: ingress(tls=()), "fail", "no TLS")
case(P, "host not covered", lambda: ingress(tls=("api.example.com",)), "fail", "app.example.com is served without TLS")
case(P, "ssl redirect off", lambda: ingress(annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "false"}), "fail", "ssl-redirect")
case(P, "gke managed cert with frontend config", lambda: ingress(tls=(), cls="gce", annotations={"networking.gke.io/managed-certificates": "cert", "networking.gke.io/v1beta1.FrontendConfig": "fc"}), "pass")
case(P, "gke ingress allowing http", lambda: ingress(tls=(), cls="gce", annotations={"networking.gke.io/managed-certificates": "cert"}), "fail", "plain HTTP")
case(P, "frontend config redirects", lambda: k8s(FC, "FrontendConfig", spec={"redirectToHttps": {"enabled": True}, "sslPolicy": "p"}), "pass")
case(P, "frontend config without redirect", lambda: k8s(FC, "FrontendConfig", spec={"sslPolicy": "p"}), "fail", "redirectToHttps")
case(P, "https proxy with cert", lambda: res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", {"urlMap": "m", "sslCertificates": ["c"], "sslPolicy": "p"}), "pass")
case(P, "https proxy cert unknown during preview counts as set", lambda: res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", {"urlMap": "m", "certificateMap": U}), "pass")
case(P, "https proxy with certificate manager", lambda: res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", {"urlMap": "m", "certificateManagerCertificates": ["c"]}), "pass")
case(P, "https proxy without cert", lambda: res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", {"urlMap": "m"}), "fail", "no certificate")
case(P, "cloudfront https", lambda: cloudfront(), "pass")
case(P, "cloudfront allow-all behavior", lambda: cloudfront(orderedCacheBehaviors=[{"pathPattern": "/static/*", "viewerProtocolPolicy": "allow-all"}]), "fail", "orderedCacheBehaviors[0]")
case(P, "http listener redirects", lambda: res(LST, {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}), "pass")
case(P, "http listener forwards", lambda: res(LST, {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}]}), "fail", "does not redirect")
case(P, "https listener without cert", lambda: res("aws:alb/listener:Listener", {"protocol": "HTTPS", "port": 443, "defaultActions": []}), "fail", "certificateArn")
case(P, "listener protocol not a string", lambda: res("aws:lb/listener:Listener", {"protocol": 443, "port": 443}), "fail", "not a string")
case(P, "unknown viewer policy", lambda: cloudfront(defaultCacheBehavior={"viewerProtocolPolicy": U}), "unknown")
case(P, "unknown tls block", lambda: ingress(tls=U), "unknown")

P = "tls-1-2-minimum"
SSL = "gcp:compute/sSLPolicy:SSLPolicy"
case(P, "modern tls 1.2", lambda: res(SSL, {"minTlsVersion": "TLS_1_2", "profile": "MODERN"}), "pass")
case(P, "defaults", lambda: res(SSL, {}), "fail", "TLS_1_0")
case(P, "compatible profile", lambda: res(SSL, {"minTlsVersion": "TLS_1_2", "profile": "COMPATIBLE"}), "fail", "COMPATIBLE")
case(P, "proxy without ssl policy", lambda: res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", {"urlMap": "m", "sslCertificates": ["c"]}), "fail", "no sslPolicy")
case(P, "frontend config without ssl policy", lambda: k8s(FC, "FrontendConfig", spec={"redirectToHttps": {"enabled": True}}), "fail", "sslPolicy")
case(P, "cloudfront tls 1.2", lambda: cloudfront(), "pass")
case(P, "cloudfront default certificate", lambda: cloudfront(viewerCertificate={"cloudfrontDefaultCertificate": True}), "fail", "default *.cloudfront.net")
case(P, "cloudfront tls 1.1", lambda: cloudfront(viewerCertificate={"acmCertificateArn": "a", "minimumProtocolVersion": "TLSv1.1_2016"}), "fail", "TLSv1.1_2016")
case(P, "alb old policy", lambda: res(LST, {"protocol": "HTTPS", "certificateArn": "c", "sslPolicy": "ELBSecurityPolicy-2016-08", "defaultActions": []}), "fail", "ELBSecurityPolicy-2016-08")
case(P, "alb tls13 policy", lambda: res(LST, {"protocol": "HTTPS", "certificateArn": "c", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "defaultActions": []}), "pass")
case(P, "http listener not concerned", lambda: res(LST, {"protocol": "HTTP", "defaultActions": []}), "pass")
case(P, "unknown version", lambda: res(SSL, {"minTlsVersion": U, "profile": "MODERN"}), "unknown")

P = "origin-https-only"
case(P, "https-only origin", lambda: cloudfront(), "pass")
case(P, "http origin", lambda: cloudfront(origins=[{"originId": "a", "domainName": "d", "customOriginConfig": {"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "http-only", "originSslProtocols": ["TLSv1.2"]}}]), "fail", "http-only")
case(P, "tls 1.1 to origin", lambda: cloudfront(origins=[{"originId": "a", "domainName": "d", "customOriginConfig": {"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.1", "TLSv1.2"]}}]), "fail", "TLSv1.1")
case(P, "s3 origin", lambda: cloudfront(origins=[{"originId": "s3", "domainName": "b.s3.amazonaws.com", "originAccessControlId": "oac"}]), "pass")
case(P, "unknown protocol policy", lambda: cloudfront(origins=[{"originId": "a", "domainName": "d", "customOriginConfig": {"originProtocolPolicy": U, "originSslProtocols": ["TLSv1.2"]}}]), "unknown")


def _http_frontend(redirect: Any) -> list[dict[str, Any]]:
    url_map = res("gcp:compute/uRLMap:URLMap", {"defaultUrlRedirect": {"httpsRedirect": redirect, "stripQuery": False}} if redirect is not None else {"defaultService": "bs"}, name="redirect-map")
    proxy = res("gcp:compute/targetHttpProxy:TargetHttpProxy", {"urlMap": "https://www.googleapis.com/mock/redirect-map"}, deps=[url_map], name="http-proxy")
    return [url_map, proxy]


P = "http-redirects-to-https"
case(P, "redirect map", lambda: _http_frontend(True), "pass")
case(P, "serving map on port 80", lambda: _http_frontend(None), "fail", "does not redirect to HTTPS")
case(P, "map outside the stack", lambda: res("gcp:compute/targetHttpProxy:TargetHttpProxy", {"urlMap": "projects/p/global/urlMaps/x"}), "unknown")
case(P, "unknown redirect flag", lambda: _http_frontend(U), "unknown")

# --- waf -----------------------------------------------------------------------------------------

BS = "gcp:compute/backendService:BackendService"
P = "waf-on-public-edge"
case(P, "armor attached", lambda: res(BS, {"loadBalancingScheme": "EXTERNAL_MANAGED", "securityPolicy": "armor"}), "pass")
case(P, "armor unknown during preview counts as set", lambda: res(BS, {"loadBalancingScheme": "EXTERNAL_MANAGED", "securityPolicy": U}), "pass")
case(P, "external without armor", lambda: res(BS, {"loadBalancingScheme": "EXTERNAL_MANAGED"}), "fail", "Cloud Armor")
case(P, "default scheme is external", lambda: res(BS, {}), "fail")
case(P, "internal backend", lambda: res(BS, {"loadBalancingScheme": "INTERNAL_MANAGED"}), "pass")
case(P, "backend config with armor", lambda: k8s("kubernetes:cloud.google.com/v1:BackendConfig", "BackendConfig", spec={"securityPolicy": {"name": "armor"}}), "pass")
case(P, "backend config without armor", lambda: k8s("kubernetes:cloud.google.com/v1:BackendConfig", "BackendConfig", spec={"cdn": {"enabled": True}}), "fail", "securityPolicy")
case(P, "cloudfront with waf", lambda: cloudfront(), "pass")
case(P, "cloudfront without waf", lambda: cloudfront(webAclId=None), "fail", "webAclId")
case(P, "unknown scheme", lambda: res(BS, {"loadBalancingScheme": U}), "unknown")

ARMOR = "gcp:compute/securityPolicy:SecurityPolicy"
WAF_RULE = {"action": "deny(403)", "priority": 1000, "match": {"expr": {"expression": "evaluatePreconfiguredWaf('sqli-v33-stable')"}}}
THROTTLE = {"action": "throttle", "priority": 2000, "match": {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["*"]}}, "rateLimitOptions": {"enforceOnKey": "IP"}}
ACL = "aws:wafv2/webAcl:WebAcl"
MANAGED = {"name": "common", "priority": 1, "statement": {"managedRuleGroupStatement": {"name": "AWSManagedRulesCommonRuleSet", "vendorName": "AWS"}}}
RATE = {"name": "rate", "priority": 2, "statement": {"rateBasedStatement": {"limit": 1000, "aggregateKeyType": "IP"}}}

P = "waf-managed-rules-and-rate-limits"
case(P, "armor with waf and throttle", lambda: res(ARMOR, {"rules": [WAF_RULE, THROTTLE]}), "pass")
case(P, "armor without rate limit", lambda: res(ARMOR, {"rules": [WAF_RULE]}), "fail", "no rate limit")
case(P, "armor waf rule in preview only", lambda: res(ARMOR, {"rules": [dict(WAF_RULE, preview=True), THROTTLE]}), "fail", "no managed WAF rules")
case(P, "armor rules as separate resources", lambda: (lambda p: [p, res("gcp:compute/securityPolicyRule:SecurityPolicyRule", dict(WAF_RULE, securityPolicy="armor"), deps=[p]), res("gcp:compute/securityPolicyRule:SecurityPolicyRule", dict(THROTTLE, securityPolicy="armor"), deps=[p])])(res(ARMOR, {"rules": []})), "pass")
case(P, "edge policy is not a waf", lambda: res(ARMOR, {"type": "CLOUD_ARMOR_EDGE", "rules": []}), "pass")
case(P, "web acl managed and rate", lambda: res(ACL, {"scope": "CLOUDFRONT", "rules": [MANAGED, RATE]}), "pass")
case(P, "web acl without managed rules", lambda: res(ACL, {"scope": "CLOUDFRONT", "rules": [RATE]}), "fail", "no managed WAF rules")
case(P, "web acl rules as json", lambda: res(ACL, {"scope": "CLOUDFRONT", "ruleJson": json.dumps([{"Name": "m", "Statement": {"ManagedRuleGroupStatement": {"Name": "x", "VendorName": "AWS"}}}, {"Name": "r", "Statement": {"RateBasedStatement": {"Limit": 100}}}])}), "pass")
case(P, "unknown rules", lambda: res(ARMOR, {"rules": U}), "unknown")
case(P, "unknown action does not fail", lambda: res(ARMOR, {"rules": [dict(WAF_RULE, action=U), THROTTLE]}), "unknown")

# --- data ----------------------------------------------------------------------------------------

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
RDS = "aws:rds/instance:Instance"
EC = "aws:elasticache/replicationGroup:ReplicationGroup"


def cloud_sql(settings: Optional[dict[str, Any]] = None, **top: Any) -> dict[str, Any]:
    base = {
        "tier": "db-custom-2-7680",
        "availabilityType": "REGIONAL",
        "deletionProtectionEnabled": True,
        "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "projects/p/global/networks/vpc", "sslMode": "ENCRYPTED_ONLY"},
        "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True, "transactionLogRetentionDays": 7, "backupRetentionSettings": {"retainedBackups": 30, "retentionUnit": "COUNT"}},
        "userLabels": {"app": "ai-assistant-platform", "environment": "prod", "managed-by": "pulumi"},
    }
    base.update(settings or {})
    return res(SQL, {"databaseVersion": "POSTGRES_16", "region": "us-central1", "deletionProtection": True, "settings": base, **top})


P = "data-private-only"
case(P, "private cloud sql", lambda: cloud_sql(), "pass")
case(P, "cloud sql through psc", lambda: cloud_sql({"ipConfiguration": {"ipv4Enabled": False, "pscConfigs": [{"pscEnabled": True}]}}), "pass")
case(P, "public ipv4 by default", lambda: cloud_sql({"ipConfiguration": {"privateNetwork": "vpc", "sslMode": "ENCRYPTED_ONLY"}}), "fail", "public IPv4")
case(P, "authorized networks", lambda: cloud_sql({"ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "vpc", "authorizedNetworks": [{"value": "0.0.0.0/0"}]}}), "fail", "authorizedNetworks")
case(P, "no private network", lambda: cloud_sql({"ipConfiguration": {"ipv4Enabled": False}}), "fail", "no private network")
case(P, "memorystore in vpc", lambda: res(REDIS, {"memorySizeGb": 1, "authorizedNetwork": "vpc"}), "pass")
case(P, "memorystore default network", lambda: res(REDIS, {"memorySizeGb": 1}), "fail", "authorizedNetwork")
case(P, "vm without external ip", lambda: res("gcp:compute/instance:Instance", {"networkInterfaces": [{"subnetwork": "s"}]}), "pass")
case(P, "vm with external ip", lambda: res("gcp:compute/instance:Instance", {"networkInterfaces": [{"subnetwork": "s", "accessConfigs": [{}]}]}), "fail", "external address")
case(P, "vm with external ipv6", lambda: res("gcp:compute/instance:Instance", {"networkInterfaces": [{"subnetwork": "s", "ipv6AccessConfigs": [{"networkTier": "PREMIUM"}]}]}), "fail", "ipv6AccessConfigs")
case(P, "public rds", lambda: res(RDS, {"publiclyAccessible": True}), "fail", "publiclyAccessible")
case(P, "private mq", lambda: res("aws:mq/broker:Broker", {"publiclyAccessible": False}), "pass")
case(P, "public aurora cluster instance", lambda: res("aws:rds/clusterInstance:ClusterInstance", {"clusterIdentifier": "c", "publiclyAccessible": True}), "fail", "publiclyAccessible is true")
case(P, "private aurora cluster instance", lambda: res("aws:rds/clusterInstance:ClusterInstance", {"clusterIdentifier": "c"}), "pass")
case(P, "rds cluster left at its public default", lambda: res("aws:rds/cluster:Cluster", {"engine": "postgres", "dbClusterInstanceClass": "db.m6gd.large"}), "fail", "makes such a cluster public")
case(P, "rds cluster in the default subnet group", lambda: res("aws:rds/cluster:Cluster", {"engine": "postgres", "dbSubnetGroupName": "default"}), "fail", "makes such a cluster public")
case(P, "rds cluster in a private subnet group", lambda: res("aws:rds/cluster:Cluster", {"engine": "postgres", "dbSubnetGroupName": "private"}), "pass")
case(P, "rds cluster explicitly private", lambda: res("aws:rds/cluster:Cluster", {"engine": "postgres", "publiclyAccessible": False}), "pass")
case(P, "rds cluster subnet group unknown", lambda: res("aws:rds/cluster:Cluster", {"engine": "postgres", "dbSubnetGroupName": U}), "unknown")
case(P, "unknown ipv4", lambda: cloud_sql({"ipConfiguration": {"ipv4Enabled": U, "privateNetwork": "vpc"}}), "unknown")

P = "data-encrypted-at-rest"
case(P, "encrypted rds", lambda: res(RDS, {"storageEncrypted": True}), "pass")
case(P, "unencrypted rds", lambda: res(RDS, {}), "fail", "storageEncrypted")
case(P, "unencrypted docdb", lambda: res("aws:docdb/cluster:Cluster", {"storageEncrypted": False}), "fail")
case(P, "redis without at-rest encryption", lambda: res(EC, {"engine": "redis"}), "fail", "atRestEncryptionEnabled")
case(P, "valkey encrypts by default", lambda: res(EC, {"engine": "valkey"}), "pass")
# a global datastore's secondary: the provider refuses the flag, the datastore's primary sets it
case(P, "global datastore secondary", lambda: res(EC, {"globalReplicationGroupId": "ldgnf-x", "kmsKeyId": "k"}), "pass")
case(P, "docdb secondary still needs storage encryption", lambda: res("aws:docdb/cluster:Cluster", {"globalClusterIdentifier": "g"}), "fail", "storageEncrypted")
case(P, "unknown", lambda: res(RDS, {"storageEncrypted": U}), "unknown")

P = "data-encrypted-in-transit"
case(P, "cloud sql encrypted only", lambda: cloud_sql(), "pass")
case(P, "cloud sql allows plaintext", lambda: cloud_sql({"ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "vpc"}}), "fail", "ENCRYPTED_ONLY")
case(P, "memorystore tls", lambda: res(REDIS, {"transitEncryptionMode": "SERVER_AUTHENTICATION"}), "pass")
case(P, "memorystore plaintext", lambda: res(REDIS, {}), "fail", "SERVER_AUTHENTICATION")
case(P, "elasticache tls", lambda: res(EC, {"transitEncryptionEnabled": True, "transitEncryptionMode": "required"}), "pass")
case(P, "elasticache preferred", lambda: res(EC, {"transitEncryptionEnabled": True, "transitEncryptionMode": "preferred"}), "fail", "preferred")
case(P, "global datastore secondary", lambda: res(EC, {"globalReplicationGroupId": "ldgnf-x"}), "pass")
case(P, "elasticache without tls", lambda: res(EC, {"globalReplicationGroupId": None}), "fail", "transitEncryptionEnabled")
case(P, "rds postgres 16 forces tls", lambda: res(RDS, {"engine": "postgres", "engineVersion": "16.4"}), "pass")
case(P, "rds postgres 14 default group", lambda: res(RDS, {"engine": "postgres", "engineVersion": "14.10"}), "fail", "rds.force_ssl=1")
case(P, "rds postgres 14 own group", lambda: res(RDS, {"engine": "postgres", "engineVersion": "14.10", "parameterGroupName": "pg14-tls"}), "pass")
case(P, "rds postgres 14 named default group", lambda: res(RDS, {"engine": "postgres", "engineVersion": "14.10", "parameterGroupName": "default.postgres14"}), "fail", "default.postgres14 is the engine default")
case(P, "rds mysql named default group", lambda: res(RDS, {"engine": "mysql", "engineVersion": "8.0", "parameterGroupName": "default.mysql8.0"}), "fail", "engine default")
case(P, "rds postgres 16 named default group", lambda: res(RDS, {"engine": "postgres", "engineVersion": "16.4", "parameterGroupName": "default.postgres16"}), "pass")
case(P, "rds postgres without version gets the default major", lambda: res(RDS, {"engine": "postgres"}), "pass")
case(P, "rds mysql without version", lambda: res(RDS, {"engine": "mysql"}), "fail", "does not force TLS by default")
case(P, "aurora named default cluster group", lambda: res("aws:rds/cluster:Cluster", {"engine": "aurora-postgresql", "dbClusterParameterGroupName": "default.aurora-postgresql14"}), "fail", "engine default")
case(P, "parameter group forcing tls", lambda: res("aws:rds/parameterGroup:ParameterGroup", {"family": "postgres14", "parameters": [{"name": "rds.force_ssl", "value": "1"}]}), "pass")
case(P, "parameter group turning tls off", lambda: res("aws:rds/parameterGroup:ParameterGroup", {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": 0}]}), "fail", "off")
case(P, "docdb tls disabled", lambda: res("aws:docdb/clusterParameterGroup:ClusterParameterGroup", {"family": "docdb5.0", "parameters": [{"name": "tls", "value": "disabled"}]}), "fail", "tls=disabled")
case(P, "aurora default cluster group", lambda: res("aws:rds/cluster:Cluster", {"engine": "aurora-postgresql"}), "fail", "default cluster parameter group")
case(P, "aurora own cluster group", lambda: res("aws:rds/cluster:Cluster", {"engine": "aurora-postgresql", "dbClusterParameterGroupName": "tls"}), "pass")
case(P, "unknown ssl mode", lambda: cloud_sql({"ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "vpc", "sslMode": U}}), "unknown")

P = "data-auth-enabled"
case(P, "memorystore auth", lambda: res(REDIS, {"authEnabled": True}), "pass")
case(P, "memorystore no auth", lambda: res(REDIS, {}), "fail", "authEnabled")
case(P, "elasticache token (secret)", lambda: res(EC, {"authToken": S}), "pass")
case(P, "elasticache token unknown during preview counts as set", lambda: res(EC, {"authToken": U}), "pass")
case(P, "elasticache rbac", lambda: res(EC, {"userGroupIds": ["g"]}), "pass")
case(P, "elasticache write-only token", lambda: res(EC, {"authTokenWo": S, "authTokenWoVersion": 1}), "pass")
case(P, "elasticache open", lambda: res(EC, {}), "fail", "unauthenticated")
case(P, "unknown auth flag", lambda: res(REDIS, {"authEnabled": U}), "unknown")

# --- backups -------------------------------------------------------------------------------------

DISK = "gcp:compute/disk:Disk"
FS = "gcp:firestore/database:Database"

P = "backups-enabled"
case(P, "cloud sql backups", lambda: cloud_sql(), "pass")
case(P, "cloud sql no backups", lambda: cloud_sql({"backupConfiguration": {"enabled": False}}), "fail", "automated backups are off")
case(P, "replica needs none", lambda: cloud_sql({"backupConfiguration": {}}, masterInstanceName="primary"), "pass")
case(P, "memorystore rdb", lambda: res(REDIS, {"persistenceConfig": {"persistenceMode": "RDB"}}), "pass")
case(P, "memorystore no persistence", lambda: res(REDIS, {}), "fail", "RDB")
case(P, "firestore with schedule", lambda: (lambda db: [db, res("gcp:firestore/backupSchedule:BackupSchedule", {"retention": "2592000s", "dailyRecurrence": {}}, deps=[db])])(res(FS, {"name": "mongo", "type": "FIRESTORE_NATIVE", "locationId": "nam5"})), "pass")
case(P, "firestore without schedule", lambda: res(FS, {"name": "mongo"}), "fail", "BackupSchedule")
case(P, "disk with attachment", lambda: (lambda d: [d, res("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", {"disk": "data", "name": "snap"}, deps=[d])])(res(DISK, {"name": "data", "size": 20})), "pass")
case(P, "disk with resource policies", lambda: res(DISK, {"resourcePolicies": ["snap"]}), "pass")
case(P, "disk without snapshots", lambda: res(DISK, {"name": "data"}), "fail", "snapshot schedule")
case(P, "rds backups off", lambda: res(RDS, {"backupRetentionPeriod": 0}), "fail", "backupRetentionPeriod: 0")
case(P, "rds default retention", lambda: res(RDS, {}), "pass")
case(P, "rds read replica", lambda: res(RDS, {"replicateSourceDb": "primary", "backupRetentionPeriod": 0}), "pass")
case(P, "firestore schedule found by name", lambda: [res(FS, {"name": "mongo"}), res("gcp:firestore/backupSchedule:BackupSchedule", {"database": "mongo", "retention": "2592000s"})], "pass")
case(P, "elasticache no snapshots", lambda: res(EC, {"snapshotRetentionLimit": 0}), "fail", "snapshotRetentionLimit")
case(P, "unknown enabled", lambda: cloud_sql({"backupConfiguration": {"enabled": U}}), "unknown")

P = "backups-meet-rpo"
case(P, "pitr and 30 backups", lambda: cloud_sql(), "pass")
case(P, "config floats as the CLI sends them", lambda: cloud_sql(), "pass", config={"rpoMinutes": 60.0, "retentionDays": 30.0})
case(P, "no pitr", lambda: cloud_sql({"backupConfiguration": {"enabled": True, "backupRetentionSettings": {"retainedBackups": 30}}}), "fail", "point-in-time recovery")
case(P, "daily rpo needs no pitr", lambda: cloud_sql({"backupConfiguration": {"enabled": True, "backupRetentionSettings": {"retainedBackups": 30}}}), "pass", config={"rpoMinutes": 1440})
case(P, "default 7 backups", lambda: cloud_sql({"backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True}}), "fail", "keeps 7 daily backups")
case(P, "firestore pitr", lambda: res(FS, {"pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_ENABLED"}), "pass")
case(P, "firestore without pitr", lambda: res(FS, {}), "fail", "PITR")
case(P, "firestore schedule 30 days", lambda: res("gcp:firestore/backupSchedule:BackupSchedule", {"retention": "2592000s"}), "pass")
case(P, "firestore schedule 7 days", lambda: res("gcp:firestore/backupSchedule:BackupSchedule", {"retention": "604800s"}), "fail", "keeps 7 days")
case(P, "hourly snapshots", lambda: res("gcp:compute/resourcePolicy:ResourcePolicy", {"snapshotSchedulePolicy": {"schedule": {"hourlySchedule": {"hoursInCycle": 1, "startTime": "00:00"}}, "retentionPolicy": {"maxRetentionDays": 30}}}), "pass")
case(P, "daily snapshots vs 1 h rpo", lambda: res("gcp:compute/resourcePolicy:ResourcePolicy", {"snapshotSchedulePolicy": {"schedule": {"dailySchedule": {"daysInCycle": 1, "startTime": "02:00"}}, "retentionPolicy": {"maxRetentionDays": 30}}}), "fail", "every 1440 min")
case(P, "weekly snapshots", lambda: res("gcp:compute/resourcePolicy:ResourcePolicy", {"snapshotSchedulePolicy": {"schedule": {"weeklySchedule": {"dayOfWeeks": [{"day": "SUNDAY", "startTime": "02:00"}]}}, "retentionPolicy": {"maxRetentionDays": 90}}}), "fail", "every 10080 min")
case(P, "rds 35 days", lambda: res(RDS, {"backupRetentionPeriod": 35}), "pass")
case(P, "rds 7 days", lambda: res(RDS, {"backupRetentionPeriod": 7}), "fail", "requires 30")
case(P, "docdb default 1 day", lambda: res("aws:docdb/cluster:Cluster", {}), "fail", "is 1 days")
case(P, "backup plan with long tier", lambda: res("aws:backup/plan:Plan", {"rules": [{"ruleName": "daily", "lifecycle": {"deleteAfter": 30}}, {"ruleName": "yearly", "lifecycle": {"deleteAfter": 2555}}]}), "pass")
case(P, "backup plan 7 days", lambda: res("aws:backup/plan:Plan", {"rules": [{"ruleName": "daily", "lifecycle": {"deleteAfter": 7}}]}), "fail", "no backup rule keeps")
case(P, "unknown retention", lambda: cloud_sql({"backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True, "backupRetentionSettings": {"retainedBackups": U}}}), "unknown")

# --- protection ----------------------------------------------------------------------------------

P = "deletion-protection"
case(P, "cloud sql protected", lambda: cloud_sql(), "pass")
case(P, "cloud sql api flag off", lambda: cloud_sql({"deletionProtectionEnabled": False}), "fail", "deletionProtectionEnabled")
case(P, "cloud sql pulumi flag off", lambda: cloud_sql(deletionProtection=False), "fail", "deletionProtection is false")
case(P, "memorystore default", lambda: res(REDIS, {}), "pass")
case(P, "memorystore off", lambda: res(REDIS, {"deletionProtection": False}), "fail")
case(P, "firestore protected", lambda: res(FS, {"deleteProtectionState": "DELETE_PROTECTION_ENABLED"}), "pass")
case(P, "firestore delete policy", lambda: res(FS, {"deleteProtectionState": "DELETE_PROTECTION_ENABLED", "deletionPolicy": "DELETE"}), "fail", "deletionPolicy is DELETE")
case(P, "gke off", lambda: res("gcp:container/cluster:Cluster", {"deletionProtection": False}), "fail")
case(P, "bucket force destroy", lambda: res("gcp:storage/bucket:Bucket", {"forceDestroy": True}), "fail", "forceDestroy")
case(P, "disk final snapshot", lambda: res(DISK, {"createSnapshotBeforeDestroy": True}), "pass")
case(P, "disk unprotected", lambda: res(DISK, {}), "fail", "createSnapshotBeforeDestroy")
case(P, "disk deletion policy", lambda: res(DISK, {"deletionPolicy": "PREVENT"}), "pass")
case(P, "rds protected", lambda: res(RDS, {"deletionProtection": True, "finalSnapshotIdentifier": "final"}), "pass")
case(P, "rds skip final snapshot", lambda: res(RDS, {"deletionProtection": True, "skipFinalSnapshot": True}), "fail", "skipFinalSnapshot")
# AWS refuses FinalDBSnapshotIdentifier when deleting a read replica
case(P, "rds read replica skips its final snapshot", lambda: res(RDS, {"deletionProtection": True, "skipFinalSnapshot": True, "replicateSourceDb": "arn:aws:rds:us-east-1:1:db:p"}), "pass")
case(P, "rds read replica unprotected", lambda: res(RDS, {"deletionProtection": False, "skipFinalSnapshot": True, "replicateSourceDb": "arn:aws:rds:us-east-1:1:db:p"}), "fail", "deletionProtection")
case(P, "elasticache final snapshot", lambda: res(EC, {"finalSnapshotIdentifier": "final"}), "pass")
case(P, "elasticache no final snapshot", lambda: res(EC, {}), "fail", "finalSnapshotIdentifier")
case(P, "s3 force destroy", lambda: res("aws:s3/bucket:Bucket", {"forceDestroy": True}), "fail")
case(P, "statefulset deletes pvcs", lambda: deployment(kind="StatefulSet", extra_spec={"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}}), "fail", "whenDeleted")
case(P, "unknown", lambda: res(RDS, {"deletionProtection": U, "finalSnapshotIdentifier": "f"}), "unknown")

P = "stateful-resources-protected"
case(P, "protected database", lambda: res(SQL, {}, protect=True), "pass")
case(P, "unprotected database", lambda: res(SQL, {}), "fail", "not protected")
case(P, "stateless statefulset", lambda: deployment(kind="StatefulSet"), "pass")
case(P, "statefulset with volumes", lambda: deployment(kind="StatefulSet", extra_spec={"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}), "fail", "StatefulSet")
case(P, "unprotected pvc", lambda: k8s("kubernetes:core/v1:PersistentVolumeClaim", "PersistentVolumeClaim", spec={}), "fail")
case(P, "unknown volume templates", lambda: deployment(kind="StatefulSet", extra_spec={"volumeClaimTemplates": U}), "unknown")

# --- availability --------------------------------------------------------------------------------

P = "ha-in-production"
case(P, "regional cloud sql", lambda: cloud_sql(), "pass")
case(P, "zonal cloud sql", lambda: cloud_sql({"availabilityType": "ZONAL"}), "fail", "REGIONAL")
case(P, "zonal replica is fine", lambda: cloud_sql({"availabilityType": "ZONAL"}, masterInstanceName="primary"), "pass")
case(P, "basic memorystore", lambda: res(REDIS, {"tier": "BASIC"}), "fail", "STANDARD_HA")
case(P, "zonal gke", lambda: res("gcp:container/cluster:Cluster", {"location": "us-central1-a"}), "fail", "not a region")
case(P, "regional gke", lambda: res("gcp:container/cluster:Cluster", {"location": "us-central1"}), "pass")
case(P, "single-az rds", lambda: res(RDS, {"multiAz": False}), "fail", "multiAz")
case(P, "elasticache with failover", lambda: res(EC, {"automaticFailoverEnabled": True, "multiAzEnabled": True, "numCacheClusters": 2}), "pass")
case(P, "elasticache single node", lambda: res(EC, {"automaticFailoverEnabled": True, "multiAzEnabled": True, "numCacheClusters": 1}), "fail", "no replica node")
case(P, "elasticache cluster mode replicas", lambda: res(EC, {"automaticFailoverEnabled": True, "multiAzEnabled": True, "replicasPerNodeGroup": 1}), "pass")
case(P, "docdb two instances", lambda: (lambda c: [c] + [res("aws:docdb/clusterInstance:ClusterInstance", {"clusterIdentifier": "c"}, deps=[c]) for _ in range(2)])(res("aws:docdb/cluster:Cluster", {})), "pass")
case(P, "docdb one instance", lambda: (lambda c: [c, res("aws:docdb/clusterInstance:ClusterInstance", {"clusterIdentifier": "c"}, deps=[c])])(res("aws:docdb/cluster:Cluster", {})), "fail", "1 cluster instance")
case(P, "docdb dr secondary with one instance", lambda: (lambda c: [c, res("aws:docdb/clusterInstance:ClusterInstance", {"clusterIdentifier": "c"}, deps=[c])])(res("aws:docdb/cluster:Cluster", {"globalClusterIdentifier": "g"})), "pass")
case(P, "docdb global primary with one instance", lambda: (lambda c: [c, res("aws:docdb/clusterInstance:ClusterInstance", {"clusterIdentifier": "c"}, deps=[c])])(res("aws:docdb/cluster:Cluster", {"globalClusterIdentifier": "g", "masterUsername": "u"})), "fail", "1 cluster instance")
case(P, "single-instance mq", lambda: res("aws:mq/broker:Broker", {"deploymentMode": "SINGLE_INSTANCE"}), "fail", "CLUSTER_MULTI_AZ")
case(P, "clustered mq", lambda: res("aws:mq/broker:Broker", {"deploymentMode": "CLUSTER_MULTI_AZ"}), "pass")
case(P, "unknown availability", lambda: cloud_sql({"availabilityType": U}), "unknown")

P = "min-replicas"
case(P, "two replicas", lambda: deployment(replicas=2), "pass")
case(P, "one replica", lambda: deployment(replicas=1), "fail", "spec.replicas is 1")
case(P, "default replicas", lambda: deployment(replicas=None), "fail")
case(P, "hpa minimum two", lambda: (lambda d: [d, hpa(d, 2)])(deployment(replicas=1)), "pass")
case(P, "hpa minimum one", lambda: (lambda d: [d, hpa(d, 1)])(deployment(replicas=None)), "fail", "minReplicas is 1")
case(P, "hpa found through dependency", lambda: (lambda d: [d, res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", {"metadata": {"namespace": "ai-assistant"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": U}, "minReplicas": 3}}, deps=[d])])(deployment(replicas=None)), "pass")
case(P, "cloud run two instances", lambda: cloudrun_service(), "pass")
case(P, "cloud run one instance", lambda: cloudrun_service(template={"containers": [cloudrun_container()], "scaling": {"minInstanceCount": 1}}), "fail", "minInstanceCount is 1")
case(P, "cloud run service-level minimum", lambda: cloudrun_service(template={"containers": [cloudrun_container()]}, scaling={"minInstanceCount": 2}), "pass")
case(P, "worker pool minimum one", lambda: res("gcp:cloudrunv2/workerPool:WorkerPool", {"scaling": {"minInstanceCount": 1}}), "fail")
case(P, "ecs daemon service", lambda: res("aws:ecs/service:Service", {"schedulingStrategy": "DAEMON"}), "pass")
case(P, "worker pool manual count", lambda: res("gcp:cloudrunv2/workerPool:WorkerPool", {"scaling": {"manualInstanceCount": 2}}), "pass")
case(P, "ecs desired count", lambda: res("aws:ecs/service:Service", {"desiredCount": 2}), "pass")
case(P, "ecs scaling target minimum one", lambda: (lambda s: [s, res("aws:appautoscaling/target:Target", {"minCapacity": 1, "maxCapacity": 4, "serviceNamespace": "ecs"}, deps=[s])])(res("aws:ecs/service:Service", {"desiredCount": 2})), "fail", "minCapacity is 1")
case(P, "configured minimum three", lambda: deployment(replicas=2), "fail", "at least 3", config={"minReplicas": 3})
case(P, "unknown replicas", lambda: deployment(replicas=U), "unknown")

P = "pdb-for-multi-replica"
LABELS = {"app.kubernetes.io/name": "api"}
case(P, "matching budget", lambda: [deployment(replicas=2), pdb({"matchLabels": LABELS})], "pass")
case(P, "no budget", lambda: [deployment(replicas=2)], "fail", "no PodDisruptionBudget")
case(P, "budget in another namespace", lambda: [deployment(replicas=2), pdb({"matchLabels": LABELS}, namespace="other")], "fail")
case(P, "budget selects other pods", lambda: [deployment(replicas=2), pdb({"matchLabels": {"app.kubernetes.io/name": "web"}})], "fail")
case(P, "budget by expression", lambda: [deployment(replicas=2), pdb({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": ["api", "web"]}]})], "pass")
case(P, "budget blocks evictions", lambda: [deployment(replicas=2), pdb({"matchLabels": LABELS}, maxUnavailable=0)], "fail", "allows no eviction")


def _without_selector(budget: dict[str, Any]) -> dict[str, Any]:
    del budget["inputs"]["spec"]["selector"]
    return budget


# policy/v1: a null selector matches no pods, an empty one ({}) every pod of the namespace
case(P, "budget without selector selects nothing", lambda: [deployment(replicas=2), _without_selector(pdb(None))], "fail", "no PodDisruptionBudget")
case(P, "budget with null selector selects nothing", lambda: [deployment(replicas=2), pdb(None)], "fail", "no PodDisruptionBudget")
case(P, "empty selector selects the whole namespace", lambda: [deployment(replicas=2), pdb({})], "pass")
case(P, "min available equals replicas", lambda: [deployment(replicas=2), pdb({"matchLabels": LABELS}, minAvailable=2)], "fail", "allows no eviction")
case(P, "single replica needs none", lambda: [deployment(replicas=1)], "pass")
case(P, "hpa minimum makes it multi-replica", lambda: (lambda d: [d, hpa(d, 2)])(deployment(replicas=None)), "fail")
case(P, "unknown pod labels", lambda: [deployment(replicas=2, pod_labels=U), pdb({"matchLabels": LABELS})], "unknown")

# --- storage -------------------------------------------------------------------------------------

GCS = "gcp:storage/bucket:Bucket"
S3B = "aws:s3/bucket:Bucket"


def gcs(**overrides: Any) -> dict[str, Any]:
    body = {
        "location": "US",
        "publicAccessPrevention": "enforced",
        "uniformBucketLevelAccess": True,
        "versioning": {"enabled": True},
        "lifecycleRules": [{"action": {"type": "Delete"}, "condition": {"age": 2555}}],
    }
    body.update(overrides)
    return res(GCS, {k: v for k, v in body.items() if v is not None})


def s3(*siblings: tuple[str, dict[str, Any]], **inputs: Any) -> list[dict[str, Any]]:
    bucket = res(S3B, inputs, name="backups")
    return [bucket] + [res(t, dict(body, bucket="backups-id"), deps=[bucket]) for t, body in siblings]


BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True})
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Enabled"}})
LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", {"rules": [{"id": "expire", "status": "Enabled", "expiration": {"days": 30}}]})

P = "bucket-public-access-prevented"
case(P, "gcs enforced", lambda: gcs(), "pass")
case(P, "gcs inherited", lambda: gcs(publicAccessPrevention=None), "fail", "inherited")
case(P, "gcs fine-grained acls", lambda: gcs(uniformBucketLevelAccess=False), "fail", "uniformBucketLevelAccess")
case(P, "s3 with block", lambda: s3(BLOCK), "pass")
case(P, "s3 without block", lambda: s3(), "fail", "no BucketPublicAccessBlock")
case(P, "s3 partial block", lambda: s3((BLOCK[0], dict(BLOCK[1], restrictPublicBuckets=False))), "fail", "restrictPublicBuckets")
case(P, "s3 public acl", lambda: s3(BLOCK, acl="public-read"), "fail", "public-read")
case(P, "unknown", lambda: gcs(publicAccessPrevention=U), "unknown")

P = "bucket-versioning"
case(P, "gcs versioned", lambda: gcs(), "pass")
case(P, "gcs unversioned", lambda: gcs(versioning=None), "fail", "versioning is off")
case(P, "gcs retained, unversioned", lambda: gcs(versioning=None, retentionPolicy={"retentionPeriod": 86400}), "pass")
case(P, "gcs versioned and retained", lambda: gcs(retentionPolicy={"retentionPeriod": 86400}), "fail", "refuses both")
case(P, "s3 versioning resource", lambda: s3(VERSIONING), "pass")
case(P, "s3 suspended", lambda: s3(("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Suspended"}})), "fail")
case(P, "s3 none", lambda: s3(), "fail", "no BucketVersioning")
case(P, "s3 inline versioning", lambda: s3(versioning={"enabled": True}), "pass")
case(P, "unknown status", lambda: s3(("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": U}})), "unknown")

P = "bucket-retention-lifecycle"
case(P, "gcs lifecycle", lambda: gcs(), "pass")
case(P, "gcs retention policy", lambda: gcs(lifecycleRules=None, retentionPolicy={"retentionPeriod": "2592000"}), "pass")
case(P, "gcs neither", lambda: gcs(lifecycleRules=None), "fail", "no lifecycle rules")
case(P, "s3 lifecycle", lambda: s3(LIFECYCLE), "pass")
case(P, "s3 disabled lifecycle", lambda: s3((LIFECYCLE[0], {"rules": [{"id": "x", "status": "Disabled"}]})), "fail")
case(P, "s3 object lock", lambda: s3(objectLockEnabled=True), "pass")
case(P, "s3 inline lifecycle", lambda: s3(lifecycleRules=[{"enabled": True, "expiration": {"days": 30}}]), "pass")
case(P, "s3 nothing", lambda: s3(), "fail", "no enabled lifecycle rule")
case(P, "unknown rules", lambda: gcs(lifecycleRules=U), "unknown")

# --- tagging -------------------------------------------------------------------------------------

GOOD = {"app": "ai-assistant-platform", "environment": "prod", "managed-by": "pulumi", "stack": "prod"}
P = "resource-labels"
case(P, "kubernetes labels", lambda: deployment(labels=GOOD), "pass")
case(P, "kubernetes unlabelled", lambda: deployment(labels={}), "fail", "lacks app, environment, managed-by")
case(P, "custom resource labelled", lambda: k8s("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "PrometheusRule", spec={}, labels={"app": "x"}), "fail", "app='x'")
case(P, "cloud sql user labels", lambda: cloud_sql(), "pass")
case(P, "cloud sql without labels", lambda: cloud_sql({"userLabels": None}), "fail", "settings.userLabels")
case(P, "node pool resource labels", lambda: res("gcp:container/nodePool:NodePool", {"nodeConfig": {"resourceLabels": GOOD}}), "pass")
case(P, "aws tags", lambda: res(RDS, {"tags": GOOD}), "pass")
case(P, "aws wrong app tag", lambda: res(RDS, {"tags": dict(GOOD, app="other")}), "fail", "expected 'ai-assistant-platform'")
case(P, "environment must match the stack", lambda: res(RDS, {"tags": dict(GOOD, environment="dev")}), "fail", "expected 'prod'", config={"environment": "prod"})
case(P, "type without labels", lambda: res("random:index/randomPassword:RandomPassword", {"length": 32}), "pass")
case(P, "helm release is not a kubernetes object", lambda: res("kubernetes:helm.sh/v3:Release", {"chart": "x"}), "pass")
case(P, "firestore tags are not labels", lambda: res(FS, {}), "pass")
case(P, "unknown tags", lambda: res(RDS, {"tags": U}), "unknown")
case(P, "unknown label value", lambda: res(RDS, {"tags": dict(GOOD, environment=U)}), "unknown")


# ---------------------------------------------------------------------------------------------


theme_cases.register(case)  # iam, exposure, pod-security, hsts (tests/policies/theme_cases.py)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.policy}: {c.id}" for c in CASES])
def test_rule(case: Case) -> None:
    violations = run(case.policy, case.build(), case.config)
    assert {v["policy"] for v in violations} <= {case.policy}
    got = verdict(violations)
    assert got == case.expected, violations
    if case.contains:
        assert any(case.contains in v["message"] for v in violations if v["enforcement"] == "mandatory"), violations
    if case.expected == "unknown":
        assert all(v["enforcement"] == "advisory" for v in violations)


def test_every_rule_has_a_passing_a_violating_and_an_unknown_case() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for c in CASES:
        seen[c.policy].add(c.expected)
    missing = {p.name: {"pass", "fail", "unknown"} - seen[p.name] for p in ALL_POLICIES}
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}
    assert set(seen) <= {p.name for p in ALL_POLICIES}
