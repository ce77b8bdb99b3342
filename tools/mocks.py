"""Pulumi mocks for the offline plan and the tests.

Resources echo their inputs plus the few computed outputs the program reads (ids, ARNs, emails,
IP addresses), so dependent inputs are known and readable in the plan. Invokes answer from a small
table of fake but well-formed values. No network, no credentials.
"""

from __future__ import annotations

from typing import Any, Callable

import pulumi

FAKE_GCP_PROJECT = "offline-plan-project"
FAKE_AWS_ACCOUNT = "123456789012"


def _region(inputs: dict[str, Any]) -> str:
    return str(inputs.get("region") or inputs.get("location") or "us-central1")


FAKE_GCP_PROJECT_NUMBER = "123456789012"
# Service agent domains that do not follow `gcp-sa-<api>` (Google's service agents list).
_AGENT_DOMAINS = {"container": "container-engine-robot", "compute": "compute-system"}


def _service_agent(service: str) -> dict[str, Any]:
    """The email/member `generateServiceIdentity` answers for an API's service agent."""
    api = service.split(".")[0]
    email = f"service-{FAKE_GCP_PROJECT_NUMBER}@{_AGENT_DOMAINS.get(api, f'gcp-sa-{api}')}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


# Computed outputs by type token, merged over the inputs. Add an entry when a component reads an
# output that is not one of its own inputs.
COMPUTED: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    # a recognisable value, so tests can prove generated secrets never leak into plain inputs
    "random:index/randomPassword:RandomPassword": lambda n, i: {"result": f"mock-random-{n}"},
    "random:index/randomId:RandomId": lambda n, i: {"hex": "0a1b2c3d", "b64Url": "CxssPQ", "dec": "169552957"},
    "gcp:serviceaccount/account:Account": lambda n, i: {
        "email": f"{i.get('accountId', n)}@{FAKE_GCP_PROJECT}.iam.gserviceaccount.com",
        "member": f"serviceAccount:{i.get('accountId', n)}@{FAKE_GCP_PROJECT}.iam.gserviceaccount.com",
    },
    "gcp:sql/databaseInstance:DatabaseInstance": lambda n, i: {
        "privateIpAddress": "10.64.0.3",
        "connectionName": f"{FAKE_GCP_PROJECT}:{_region(i)}:{i.get('name', n)}",
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{FAKE_GCP_PROJECT}/instances/{i.get('name', n)}",
        "serviceAccountEmailAddress": "p123456789012-mock@gcp-sa-cloud-sql.iam.gserviceaccount.com",
    },
    "gcp:redis/instance:Instance": lambda n, i: {
        "host": "10.64.1.3",
        "port": 6378 if i.get("transitEncryptionMode") == "SERVER_AUTHENTICATION" else 6379,
        "authString": "mock-auth-string",
        "serverCaCerts": [{"cert": "-----BEGIN CERTIFICATE-----mock"}],
    },
    "gcp:compute/instance:Instance": lambda n, i: {
        "networkInterfaces": [{**(i.get("networkInterfaces") or [{}])[0], "networkIp": "10.10.0.5"}],
    },
    "gcp:compute/globalAddress:GlobalAddress": lambda n, i: {"address": i.get("address") or "203.0.113.10"},
    "gcp:cloudrunv2/service:Service": lambda n, i: {
        "uri": f"https://{i.get('name', n)}-mock.a.run.app",
    },
    "gcp:container/cluster:Cluster": lambda n, i: {
        "endpoint": "203.0.113.20",
        "masterAuth": {"clusterCaCertificate": "bW9jay1jYQ=="},
        "controlPlaneEndpointsConfig": {
            **(i.get("controlPlaneEndpointsConfig") or {}),
            "dnsEndpointConfig": {
                **((i.get("controlPlaneEndpointsConfig") or {}).get("dnsEndpointConfig") or {}),
                "endpoint": f"gke-0a1b2c3d4e5f-{i.get('name', n)}.{_region(i)}.gke.goog",
            },
        },
    },
    "gcp:kms/cryptoKey:CryptoKey": lambda n, i: {},
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": lambda n, i: {
        "dnsResourceRecords": [
            {
                "name": f"_acme-challenge.{i.get('domain', 'example.com')}.",
                "type": "CNAME",
                "data": f"0a1b2c3d.{i.get('domain', 'example.com')}.authorize.certificatemanager.goog.",
            }
        ],
    },
    "gcp:projects/serviceIdentity:ServiceIdentity": lambda n, i: _service_agent(str(i.get("service", n))),
    "gcp:storage/bucket:Bucket": lambda n, i: {"url": f"gs://{i.get('name', n)}"},
    "gcp:secretmanager/secretVersion:SecretVersion": lambda n, i: {
        "version": "1",
        "name": f"projects/123456789012/secrets/{i.get('secret', n)}/versions/1",
    },
    "gcp:firestore/database:Database": lambda n, i: {"uid": "0f1e2d3c-mock-uid"},
    "gcp:monitoring/notificationChannel:NotificationChannel": lambda n, i: {
        "name": f"projects/{FAKE_GCP_PROJECT}/notificationChannels/{n}",
    },
    # a recognisable value, so tests can prove the generated password never leaks into plain inputs
    "gcp:firestore/userCreds:UserCreds": lambda n, i: {"securePassword": f"mock-firestore-password-{n}"},
    "aws:rds/instance:Instance": lambda n, i: {
        "address": f"{n}.mock.us-east-1.rds.amazonaws.com",
        "endpoint": f"{n}.mock.us-east-1.rds.amazonaws.com:5432",
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i: {
        "primaryEndpointAddress": f"{n}.mock.cache.amazonaws.com",
    },
    "aws:docdb/cluster:Cluster": lambda n, i: {"endpoint": f"{n}.mock.docdb.amazonaws.com"},
    # AWS puts a five-letter region prefix before the suffix
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": lambda n, i: {
        "globalReplicationGroupId": f"ldgnf-{i.get('globalReplicationGroupIdSuffix', n)}",
    },
    "aws:mq/broker:Broker": lambda n, i: {
        "instances": [{"endpoints": [f"amqps://{n}.mq.us-east-1.amazonaws.com:5671"]}],
    },
    "aws:lb/loadBalancer:LoadBalancer": lambda n, i: {
        "dnsName": f"{n}.us-east-1.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": f"app/{n}/0123456789abcdef",
    },
    "aws:lb/targetGroup:TargetGroup": lambda n, i: {"arnSuffix": f"targetgroup/{n}/0123456789abcdef"},
    "aws:cloudfront/distribution:Distribution": lambda n, i: {
        "domainName": f"{n}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
    },
    "aws:s3/bucket:Bucket": lambda n, i: {
        "bucketDomainName": f"{i.get('bucket', n)}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{i.get('bucket', n)}.s3.us-east-1.amazonaws.com",
        "arn": f"arn:aws:s3:::{i.get('bucket', n)}",
    },
    "aws:kms/key:Key": lambda n, i: {"keyId": f"mock-key-{n}"},
    "aws:ecs/cluster:Cluster": lambda n, i: {"name": i.get("name", n)},
    "aws:acm/certificate:Certificate": lambda n, i: {
        "domainValidationOptions": [
            {
                "domainName": i.get("domainName", "example.com"),
                "resourceRecordName": "_mock.example.com",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_mock.acm-validations.aws",
            }
        ],
    },
}


def _aws_arn(type_token: str, name: str) -> str:
    service = type_token.split(":")[1].split("/")[0]
    return f"arn:aws:{service}:us-east-1:{FAKE_AWS_ACCOUNT}:{name}"


INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": FAKE_AWS_ACCOUNT,
        "arn": f"arn:aws:iam::{FAKE_AWS_ACCOUNT}:user/offline",
        "userId": "OFFLINE",
        "id": FAKE_AWS_ACCOUNT,
    },
    "aws:index/getRegion:getRegion": lambda a: {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"},
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "names": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
        "id": "us-east-1",
    },
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:elb/getServiceAccount:getServiceAccount": lambda a: {
        "arn": "arn:aws:iam::127311923021:root",
        "id": "127311923021",
    },
    # CloudFront's origin-facing list, or Route 53's health checkers' (their AWS ids and weights)
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": lambda a: (
        {"id": "pl-0e8c7d3a9b1f2e4c6", "name": a["name"], "maxEntries": 25, "entries": []}
        if "route53-healthchecks" in str(a.get("name"))
        else {"id": "pl-3b927c52", "name": a.get("name", "com.amazonaws.global.cloudfront.origin-facing"),
              "maxEntries": 55, "entries": []}
    ),
    "gcp:organizations/getProject:getProject": lambda a: {
        "projectId": FAKE_GCP_PROJECT,
        "number": "123456789012",
        "name": FAKE_GCP_PROJECT,
        "id": f"projects/{FAKE_GCP_PROJECT}",
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda a: {
        "project": FAKE_GCP_PROJECT,
        "region": "us-central1",
        "accessToken": "mock-token",
        "id": "mock",
    },
}


class PlanMocks(pulumi.runtime.Mocks):
    """Echo inputs, add the computed outputs above, answer invokes from the table."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("aws:"):
            state.setdefault("arn", _aws_arn(args.typ, args.name))
        if args.typ.startswith("gcp:"):
            state.setdefault("project", FAKE_GCP_PROJECT)
            state.setdefault("selfLink", f"https://www.googleapis.com/mock/{args.name}")
        computed = COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, args.inputs))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        answer = INVOKES.get(args.token)
        # (return value, check failures): the failures must be a list, never None
        return (answer(dict(args.args)) if answer else {}), []
