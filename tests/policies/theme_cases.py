"""Passing, violating and unknown-value cases of the iam, exposure, pod-security and hsts rules.

`tests/policies/test_rules.py` registers them with its `case(...)` (one line), so they run through
the same offline evaluator, coverage check and SDK-name check as every other rule's cases."""

from __future__ import annotations

import json
from typing import Any, Callable

from tests.policies.support import U, deployment, k8s, k8s_container, res

RUNTIME_DEFAULT = {"seccompProfile": {"type": "RuntimeDefault"}}
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
BUCKET_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
PROJECT_POLICY = "gcp:projects/iAMPolicy:IAMPolicy"
RUN_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
FIREWALL = "gcp:compute/firewall:Firewall"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
BACKEND = "gcp:compute/backendService:BackendService"
BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig"
RELEASE = "kubernetes:helm.sh/v3:Release"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
HSTS = "Strict-Transport-Security: max-age=63072000; includeSubDomains"


def _firewall(**inputs: Any) -> dict[str, Any]:
    body = {"network": "vpc", "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
            "allows": [{"protocol": "tcp", "ports": ["443"]}]}
    body.update(inputs)
    return res(FIREWALL, body)


def _with_pod(pod: dict[str, Any]) -> dict[str, Any]:
    made = deployment(pod_sc=RUNTIME_DEFAULT)
    made["inputs"]["spec"]["template"]["spec"].update(pod)
    return made


def _headers_policy(**hsts: Any) -> dict[str, Any]:
    body = {"accessControlMaxAgeSec": 63072000, "includeSubdomains": True, "override": True}
    body.update(hsts)
    return res(HEADERS, {"name": "security", "securityHeadersConfig": {"strictTransportSecurity": body}}, name="headers")


def _distribution(policy: dict[str, Any], policy_id: Any = "headers-id", ordered: Any = None) -> list[dict[str, Any]]:
    inputs = {"enabled": True, "defaultCacheBehavior": {"targetOriginId": "alb", "responseHeadersPolicyId": policy_id}}
    if ordered is not None:
        inputs["orderedCacheBehaviors"] = ordered
    return [policy, res(DISTRIBUTION, inputs, deps=[policy])]


def register(case: Callable[..., None]) -> None:
    # --- iam ---------------------------------------------------------------------------------
    P = "no-primitive-iam-roles"
    case(P, "predefined role", lambda: res(PROJECT_MEMBER, {"project": "p", "role": "roles/cloudtrace.agent", "member": "serviceAccount:a@p.iam.gserviceaccount.com"}), "pass")
    case(P, "editor", lambda: res(PROJECT_MEMBER, {"project": "p", "role": "roles/editor", "member": "serviceAccount:a@p.iam.gserviceaccount.com"}), "fail", "roles/editor")
    case(P, "owner in a binding", lambda: res(BUCKET_BINDING, {"bucket": "b", "role": "roles/owner", "members": ["group:ops@example.com"]}), "fail", "roles/owner")
    case(P, "viewer in policy data", lambda: res(PROJECT_POLICY, {"project": "p", "policyData": json.dumps({"bindings": [{"role": "roles/viewer", "members": ["user:a@example.com"]}]})}), "fail", "roles/viewer")
    case(P, "policy data not JSON", lambda: res(PROJECT_POLICY, {"project": "p", "policyData": "{"}), "fail", "not valid JSON")
    case(P, "unknown role", lambda: res(PROJECT_MEMBER, {"project": "p", "role": U, "member": "user:a@example.com"}), "unknown")
    case(P, "unknown policy data", lambda: res(PROJECT_POLICY, {"project": "p", "policyData": U}), "unknown")
    P = "no-public-iam-members"
    case(P, "service account invoker", lambda: res(RUN_MEMBER, {"name": "api", "role": "roles/run.invoker", "member": "serviceAccount:a@p.iam.gserviceaccount.com"}), "pass")
    case(P, "allUsers invoker", lambda: res(RUN_MEMBER, {"name": "api", "role": "roles/run.invoker", "member": "allUsers"}), "fail", "allUsers")
    case(P, "allAuthenticatedUsers in a binding", lambda: res(BUCKET_BINDING, {"bucket": "b", "role": "roles/storage.objectViewer", "members": ["group:g@example.com", "allAuthenticatedUsers"]}), "fail", "allAuthenticatedUsers")
    case(P, "allUsers in policy data", lambda: res(PROJECT_POLICY, {"project": "p", "policyData": json.dumps({"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]})}), "fail", "allUsers")
    case(P, "unknown member", lambda: res(RUN_MEMBER, {"name": "api", "role": "roles/run.invoker", "member": U}), "unknown")
    case(P, "unknown members", lambda: res(BUCKET_BINDING, {"bucket": "b", "role": "roles/storage.objectViewer", "members": U}), "unknown")

    # --- exposure ----------------------------------------------------------------------------
    P = "no-internet-open-non-edge-ports"
    case(P, "https from anywhere", lambda: _firewall(), "pass")
    case(P, "ssh from the vpc", lambda: _firewall(sourceRanges=["10.0.0.0/8"], allows=[{"protocol": "tcp", "ports": ["22"]}]), "pass")
    case(P, "deny all from anywhere", lambda: _firewall(allows=None, denies=[{"protocol": "all"}]), "pass")
    case(P, "disabled rule", lambda: _firewall(disabled=True, allows=[{"protocol": "tcp", "ports": ["22"]}]), "pass")
    case(P, "egress", lambda: _firewall(direction="EGRESS", destinationRanges=["0.0.0.0/0"], sourceRanges=None, allows=[{"protocol": "all"}]), "pass")
    case(P, "icmp from anywhere", lambda: _firewall(allows=[{"protocol": "icmp"}]), "pass")
    case(P, "ssh from anywhere", lambda: _firewall(allows=[{"protocol": "tcp", "ports": ["22"]}]), "fail", "tcp port 22")
    case(P, "port range from ::/0", lambda: _firewall(sourceRanges=["::/0"], allows=[{"protocol": "tcp", "ports": ["80-443"]}]), "fail", "ports 80-443")
    case(P, "all protocols from anywhere", lambda: _firewall(allows=[{"protocol": "all"}]), "fail", "every")
    case(P, "unknown source ranges", lambda: _firewall(sourceRanges=U, allows=[{"protocol": "tcp", "ports": ["22"]}]), "unknown")
    case(P, "unknown ports", lambda: _firewall(allows=[{"protocol": "tcp", "ports": U}]), "unknown")
    case(P, "sg https from anywhere", lambda: res(SG, {"vpcId": "v", "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]}), "pass")
    case(P, "sg postgres from anywhere", lambda: res(SG, {"vpcId": "v", "ingress": [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}]}), "fail", "tcp port 5432")
    case(P, "sg everything from ::/0", lambda: res(SG, {"vpcId": "v", "ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}]}), "fail", "every")
    case(P, "sg unknown cidr", lambda: res(SG, {"vpcId": "v", "ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": U}]}), "unknown")
    case(P, "ingress rule from the alb group", lambda: res(SG_INGRESS, {"securityGroupId": "sg", "ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "referencedSecurityGroupId": "alb"}), "pass")
    case(P, "ingress rule https from anywhere", lambda: res(SG_INGRESS, {"securityGroupId": "sg", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}), "pass")
    case(P, "ingress rule redis from anywhere", lambda: res(SG_INGRESS, {"securityGroupId": "sg", "ipProtocol": "tcp", "fromPort": 6379, "toPort": 6379, "cidrIpv4": "0.0.0.0/0"}), "fail", "tcp port 6379")
    case(P, "ingress rule unknown port", lambda: res(SG_INGRESS, {"securityGroupId": "sg", "ipProtocol": "tcp", "fromPort": U, "toPort": U, "cidrIpv4": "0.0.0.0/0"}), "unknown")
    case(P, "classic rule ssh from anywhere", lambda: res(SG_RULE, {"type": "ingress", "securityGroupId": "sg", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}), "fail", "tcp port 22")
    case(P, "classic egress rule", lambda: res(SG_RULE, {"type": "egress", "securityGroupId": "sg", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}), "pass")

    # --- pod security ------------------------------------------------------------------------
    P = "pod-seccomp-profile"
    case(P, "pod RuntimeDefault", lambda: deployment(pod_sc=RUNTIME_DEFAULT), "pass")
    case(P, "container Localhost", lambda: deployment([k8s_container(securityContext={"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}})]), "pass")
    case(P, "unset", lambda: deployment(), "fail", "Unconfined")
    case(P, "container overrides to Unconfined", lambda: deployment([k8s_container(securityContext={"seccompProfile": {"type": "Unconfined"}})], pod_sc=RUNTIME_DEFAULT), "fail", "Unconfined")
    case(P, "unknown profile", lambda: deployment(pod_sc={"seccompProfile": {"type": U}}), "unknown")
    P = "pod-no-host-access"
    case(P, "plain pod", lambda: deployment(), "pass")
    case(P, "emptyDir volume", lambda: _with_pod({"volumes": [{"name": "tmp", "emptyDir": {}}]}), "pass")
    case(P, "host network", lambda: _with_pod({"hostNetwork": True}), "fail", "hostNetwork")
    case(P, "host pid", lambda: _with_pod({"hostPID": True}), "fail", "hostPID")
    case(P, "hostPath volume", lambda: _with_pod({"volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]}), "fail", "hostPath")
    case(P, "unknown hostIPC", lambda: _with_pod({"hostIPC": U}), "unknown")
    case(P, "unknown volumes", lambda: _with_pod({"volumes": U}), "unknown")
    P = "pod-service-account-token"
    def sa(automount: Any) -> dict[str, Any]:
        return res("kubernetes:core/v1:ServiceAccount", {"kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "ai-assistant"},
                                                         "automountServiceAccountToken": automount}, name="sa")

    def binding() -> dict[str, Any]:
        return res("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {"kind": "RoleBinding", "metadata": {"name": "api", "namespace": "ai-assistant"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}, "subjects": [{"kind": "ServiceAccount", "name": "api"}]}, name="rb")

    case(P, "pod opts out", lambda: _with_pod({"serviceAccountName": "api", "automountServiceAccountToken": False}), "pass")
    case(P, "service account opts out", lambda: [sa(False), _with_pod({"serviceAccountName": "api"})], "pass")
    case(P, "bound account may mount", lambda: [binding(), _with_pod({"serviceAccountName": "api"})], "pass")
    case(P, "default account mounted", lambda: deployment(), "fail", "'default'")
    case(P, "pod overrides the account's opt-out", lambda: [sa(False), _with_pod({"serviceAccountName": "api", "automountServiceAccountToken": True})], "fail", "'api'")
    case(P, "unknown automount", lambda: _with_pod({"serviceAccountName": "api", "automountServiceAccountToken": U}), "unknown")
    case(P, "unknown binding subjects", lambda: [res("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {"kind": "RoleBinding", "metadata": {"name": "x", "namespace": "ai-assistant"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}, "subjects": U}), _with_pod({"automountServiceAccountToken": False})], "unknown")
    P = "no-nodeport-service"
    case(P, "cluster ip", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": "ClusterIP", "ports": [{"port": 80}]}), "pass")
    case(P, "node port", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": "NodePort", "ports": [{"port": 80}]}), "fail", "NodePort")
    case(P, "unknown type", lambda: k8s("kubernetes:core/v1:Service", "Service", spec={"type": U}), "unknown")

    # --- hsts --------------------------------------------------------------------------------
    P = "hsts-on-public-edge"
    case(P, "external backend with hsts", lambda: res(BACKEND, {"loadBalancingScheme": "EXTERNAL_MANAGED", "customResponseHeaders": [HSTS]}), "pass")
    case(P, "internal backend without", lambda: res(BACKEND, {"loadBalancingScheme": "INTERNAL_MANAGED"}), "pass")
    case(P, "external backend without", lambda: res(BACKEND, {"loadBalancingScheme": "EXTERNAL_MANAGED", "customResponseHeaders": ["X-Frame-Options: DENY"]}), "fail", "no Strict-Transport-Security")
    case(P, "default scheme, short max-age", lambda: res(BACKEND, {"customResponseHeaders": ["Strict-Transport-Security: max-age=300"]}), "fail", "max-age is below")
    case(P, "unknown headers", lambda: res(BACKEND, {"loadBalancingScheme": "EXTERNAL_MANAGED", "customResponseHeaders": U}), "unknown")
    case(P, "backend config with hsts", lambda: k8s(BACKEND_CONFIG, "BackendConfig", spec={"customResponseHeaders": {"headers": [HSTS]}}), "pass")
    case(P, "backend config without", lambda: k8s(BACKEND_CONFIG, "BackendConfig", spec={"timeoutSec": 30}), "fail", "no Strict-Transport-Security")
    case(P, "ingress-nginx default", lambda: res(RELEASE, {"chart": "ingress-nginx", "values": {"controller": {"config": {"ssl-protocols": "TLSv1.2 TLSv1.3"}}}}), "pass")
    case(P, "ingress-nginx hsts off", lambda: res(RELEASE, {"chart": "ingress-nginx", "values": {"controller": {"config": {"hsts": "false"}}}}), "fail", "hsts")
    case(P, "other chart", lambda: res(RELEASE, {"chart": "kube-prometheus-stack", "values": {}}), "pass")
    case(P, "ingress-nginx unknown config", lambda: res(RELEASE, {"chart": "ingress-nginx", "values": {"controller": {"config": U}}}), "unknown")
    P = "cloudfront-hsts"
    case(P, "policy with hsts", lambda: _distribution(_headers_policy()), "pass")
    case(P, "managed security headers policy", lambda: [res(DISTRIBUTION, {"enabled": True, "defaultCacheBehavior": {"targetOriginId": "a", "responseHeadersPolicyId": "67f7725c-6f97-4210-82d7-5512b31e9d03"}})], "pass")
    case(P, "no policy on a behavior", lambda: _distribution(_headers_policy(), ordered=[{"pathPattern": "/api/*", "targetOriginId": "alb"}]), "fail", "orderedCacheBehaviors[0] attaches no response headers policy")
    case(P, "short max-age", lambda: _distribution(_headers_policy(accessControlMaxAgeSec=3600)), "fail", "max-age below")
    case(P, "no override", lambda: _distribution(_headers_policy(override=False)), "fail", "override")
    case(P, "unknown policy id", lambda: _distribution(_headers_policy(), policy_id=U), "unknown")

    # --- releases ----------------------------------------------------------------------------
    P = "automatic-rollback-in-production"
    ECS = "aws:ecs/service:Service"
    ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
    RUN = "gcp:cloudrunv2/service:Service"
    LB = [{"targetGroupArn": "arn:tg", "containerName": "api", "containerPort": 8080}]
    NO_BREAKER = {"enable": True, "rollback": False}
    alarms = {"alarmNames": ["aia-api-release-5xx"], "enable": True, "rollback": True}
    case(P, "ecs alarms rollback", lambda: res(ECS, {"loadBalancers": LB, "alarms": alarms, "deploymentCircuitBreaker": NO_BREAKER}), "pass")
    case(P, "ecs circuit breaker rollback", lambda: res(ECS, {"loadBalancers": LB, "deploymentCircuitBreaker": {"enable": True, "rollback": True}}), "pass")
    case(P, "ecs alarms without rollback", lambda: res(ECS, {"loadBalancers": LB, "alarms": dict(alarms, rollback=False), "deploymentCircuitBreaker": NO_BREAKER}), "fail", "no automatic rollback")
    case(P, "ecs nothing", lambda: res(ECS, {"loadBalancers": LB}), "fail", "no automatic rollback")
    case(P, "ecs without load balancer is not public", lambda: res(ECS, {"deploymentCircuitBreaker": NO_BREAKER}), "pass")
    case(P, "ecs unknown alarms", lambda: res(ECS, {"loadBalancers": LB, "alarms": {"alarmNames": ["a"], "enable": True, "rollback": U}, "deploymentCircuitBreaker": NO_BREAKER}), "unknown")

    def rollout(strategy: Any) -> dict[str, Any]:
        return k8s(ROLLOUT, "Rollout", spec={"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "strategy": strategy})

    analysis = {"templates": [{"templateName": "error-rate"}]}
    case(P, "rollout canary step analysis", lambda: rollout({"canary": {"steps": [{"setWeight": 10}, {"analysis": analysis}]}}), "pass")
    case(P, "rollout canary background analysis", lambda: rollout({"canary": {"analysis": analysis, "steps": [{"setWeight": 10}, {"pause": {"duration": "30m"}}]}}), "pass")
    case(P, "rollout blue-green pre-promotion", lambda: rollout({"blueGreen": {"activeService": "api", "previewService": "api-preview", "prePromotionAnalysis": analysis}}), "pass")
    case(P, "rollout canary pauses only", lambda: rollout({"canary": {"steps": [{"setWeight": 10}, {"pause": {}}]}}), "fail", "no analysis")
    case(P, "rollout analysis without templates", lambda: rollout({"blueGreen": {"activeService": "api", "prePromotionAnalysis": {"templates": []}}}), "fail", "no analysis")
    case(P, "rollout without strategy", lambda: rollout({}), "fail", "neither a canary nor a blueGreen")
    case(P, "rollout unknown steps", lambda: rollout({"canary": {"steps": U}}), "unknown")

    def run_service(ingress: Any, **labels: Any) -> dict[str, Any]:
        return res(RUN, {"name": "api", "location": "europe-west1", "ingress": ingress, "labels": labels, "template": {"containers": [{"image": "x"}]}})

    LB_ONLY = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    case(P, "cloud run canary automatic", lambda: run_service(LB_ONLY, **{"release-strategy": "canary", "release-rollback": "automatic"}), "pass")
    case(P, "cloud run internal only", lambda: run_service("INGRESS_TRAFFIC_INTERNAL_ONLY", **{"release-strategy": "rolling"}), "pass")
    case(P, "cloud run rolling", lambda: run_service(LB_ONLY, **{"release-strategy": "rolling", "release-rollback": "automatic"}), "fail", "release-strategy='rolling'")
    case(P, "cloud run manual rollback", lambda: run_service(LB_ONLY, **{"release-strategy": "bluegreen", "release-rollback": "manual"}), "fail", "release-rollback='manual'")
    case(P, "cloud run unlabelled", lambda: run_service(LB_ONLY), "fail", "no automatic rollback")
    case(P, "cloud run unknown label", lambda: run_service(LB_ONLY, **{"release-strategy": U, "release-rollback": "automatic"}), "unknown")
