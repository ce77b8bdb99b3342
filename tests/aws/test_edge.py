"""Certificates, the ALB and CloudFront + WAF, each alone."""

import pulumi
import pytest

from components.edge.alb import TLS_POLICY, AwsLoadBalancer, AwsLoadBalancerArgs, path_patterns
from components.edge.aws import AwsCertificates, AwsCertificatesArgs
from components.edge.cloudfront import CACHING_DISABLED, AwsCdn, AwsCdnArgs
from tests.aws.helpers import ACCOUNT, assert_explicit_providers, on_primary, policy, run_aws


def _alb(context, providers):
    return AwsLoadBalancer(
        "alb",
        AwsLoadBalancerArgs(context, ACCOUNT, "vpc-1", ["public-a", "public-b", "public-c"], "sg-alb", "arn:cert/alb"),
        opts=on_primary(providers),
    )


@pytest.fixture(scope="module")
def alb():
    return run_aws(_alb)


def test_alb_hardening(alb):
    lb = alb.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert lb["dropInvalidHeaderFields"] is True
    assert lb["enableDeletionProtection"] is True
    assert lb["accessLogs"]["enabled"] is True and lb["accessLogs"]["bucket"] == "alb-logs-id"
    assert lb["internal"] is False and lb["securityGroups"] == ["sg-alb"]
    assert lb["idleTimeout"] == 600  # SSE streams
    assert_explicit_providers(alb)


def test_https_listener_tls13_policy_default_403_and_http_redirect(alb):
    listeners = {r.inputs["port"]: r.inputs for r in alb.of_type("aws:lb/listener:Listener")}
    https = listeners[443]
    assert https["protocol"] == "HTTPS" and https["sslPolicy"] == TLS_POLICY == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["defaultActions"][0]["type"] == "fixed-response"
    assert https["defaultActions"][0]["fixedResponse"]["statusCode"] == "403"
    http = listeners[80]["defaultActions"][0]
    assert http["type"] == "redirect" and http["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_rules_forward_only_requests_with_the_origin_secret(alb):
    rules = {r.name: r.inputs for r in alb.of_type("aws:lb/listenerRule:ListenerRule")}
    assert sorted(rules) == ["alb-api-rule", "alb-frontend-rule"]
    api = rules["alb-api-rule"]
    assert {"hostHeader": {"values": ["api.ai-assistant.example.com"]}} in api["conditions"]
    assert {"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": ["[secret]"]}} in api["conditions"]
    # prod releases are canaries: a weighted forward to both target groups, whose weights ECS moves
    assert api["actions"] == [{"type": "forward", "forward": {"targetGroups": [
        {"arn": "arn:aws:lb:us-east-1:123456789012:alb-api-tg", "weight": 100},
        {"arn": "arn:aws:lb:us-east-1:123456789012:alb-api-tg-alternate", "weight": 0},
    ]}}]
    tg = alb.named("alb-api-tg").inputs
    assert tg["targetType"] == "ip" and tg["healthCheck"]["path"] == "/ready"


def test_log_bucket_private_tls_only_and_writable_by_elb(alb):
    block = alb.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    statements = {s["Sid"]: s for s in policy(alb.one("aws:s3/bucketPolicy:BucketPolicy"))["Statement"]}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert statements["AlbAccessLogsElbAccount"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert statements["AlbAccessLogsService"]["Resource"].endswith(f"/alb/AWSLogs/{ACCOUNT}/*")
    assert alb.one("aws:s3/bucket:Bucket").protect is True
    assert alb.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"


def test_path_patterns():
    assert path_patterns(["/"]) == []
    assert path_patterns(["/api", "/v1/"]) == ["/api", "/api/*", "/v1", "/v1/*"]


def test_certificates_cloudfront_in_us_east_1_and_validated_by_one_record():
    run = run_aws(lambda c, p: AwsCertificates("certificates", AwsCertificatesArgs(c, p.us_east_1), opts=on_primary(p)))
    cert = run.one("aws:acm/certificate:Certificate")
    assert run.provider_name(cert) == "aws-us-east-1"
    assert cert.inputs["domainName"] == "ai-assistant.example.com"
    assert cert.inputs["subjectAlternativeNames"] == ["*.ai-assistant.example.com"]
    assert cert.inputs["validationMethod"] == "DNS"
    record = run.one("aws:route53/record:Record").inputs
    assert record["zoneId"] == "Z0123456789EXAMPLE" and record["type"] == "CNAME"
    validation = run.one("aws:acm/certificateValidation:CertificateValidation")
    assert validation.inputs["validationRecordFqdns"] and run.provider_name(validation) == "aws-us-east-1"
    # a primary region other than us-east-1 gets its own regional certificate for the ALB
    west = run_aws(
        lambda c, p: AwsCertificates("certificates", AwsCertificatesArgs(c, p.us_east_1), opts=on_primary(p)),
        overrides={"regions": {"primary": "eu-west-1", "secondary": "eu-central-1"}},
    )
    providers = sorted(west.provider_name(r) for r in west.of_type("aws:acm/certificate:Certificate"))
    assert providers == ["aws-primary", "aws-us-east-1"]


def _cdn(context, providers):
    return AwsCdn(
        "edge",
        AwsCdnArgs(
            context,
            origin_domain="origin.ai-assistant.example.com",
            origin_secret=pulumi.Output.secret("s3cr3t-origin"),
            certificate_arn="arn:cert/us-east-1",
            logs_bucket_domain_name="logs.s3.amazonaws.com",
            log_kms_key_arn="arn:key/logs-us-east-1",
        ),
        opts=pulumi.ResourceOptions(providers={"aws": providers.us_east_1}),
    )


@pytest.fixture(scope="module")
def cdn():
    return run_aws(_cdn)


def test_distributions_tls_and_origin(cdn):
    dists = {r.name: r.inputs for r in cdn.of_type("aws:cloudfront/distribution:Distribution")}
    assert sorted(dists) == ["edge-api", "edge-frontend"]
    for d in dists.values():
        assert d["viewerCertificate"] == {
            "acmCertificateArn": "arn:cert/us-east-1", "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"
        }
        assert d["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
        origin = d["origins"][0]
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
        assert origin["customOriginConfig"]["originReadTimeout"] == 60
        assert origin["customHeaders"] == [{"name": "X-Origin-Verify", "value": "[secret]"}]
        assert d["loggingConfig"]["bucket"] == "logs.s3.amazonaws.com"
        assert d["webAclId"] == "arn:aws:wafv2:us-east-1:123456789012:edge-waf"
    assert dists["edge-api"]["aliases"] == ["api.ai-assistant.example.com"]
    assert "s3cr3t" not in str([r.inputs for r in cdn.resources])
    assert {cdn.provider_name(r) for r in cdn.resources if r.type.startswith("aws:")} == {"aws-us-east-1"}


def test_frontend_cached_api_uncached(cdn):
    dists = {r.name: r.inputs for r in cdn.of_type("aws:cloudfront/distribution:Distribution")}
    frontend = dists["edge-frontend"]
    assert frontend["defaultCacheBehavior"]["cachePolicyId"] == "edge-frontend-cache-id"
    assert frontend["orderedCacheBehaviors"][0]["pathPattern"] == "/api/*"
    assert frontend["orderedCacheBehaviors"][0]["cachePolicyId"] == CACHING_DISABLED
    assert dists["edge-api"]["defaultCacheBehavior"]["cachePolicyId"] == CACHING_DISABLED
    assert "orderedCacheBehaviors" not in dists["edge-api"]


def test_waf_managed_rules_and_rate_limits_per_minute(cdn):
    acl = cdn.one("aws:wafv2/webAcl:WebAcl").inputs
    assert acl["scope"] == "CLOUDFRONT"
    rules = {r["name"]: r for r in acl["rules"]}
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                  "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
    rates = {n: r["statement"]["rateBasedStatement"] for n, r in rules.items() if n.startswith("rate-")}
    assert {n: (r["limit"], r["evaluationWindowSec"]) for n, r in rates.items()} == {
        "rate-ai-routes": (30, 60), "rate-per-client-api": (60, 60), "rate-global-per-ip": (1000, 60)
    }
    assert all(rules[n]["action"] == {"block": {}} for n in rates)
    api_scope = rates["rate-per-client-api"]["scopeDownStatement"]["byteMatchStatement"]
    assert api_scope["searchString"] == "api.ai-assistant.example.com"
    ai_paths = rates["rate-ai-routes"]["scopeDownStatement"]["orStatement"]["statements"]
    assert [s["byteMatchStatement"]["searchString"] for s in ai_paths] == ["/api/chat", "/api/ai", "/v1/chat"]


def test_alias_records_point_hosts_at_their_distribution(cdn):
    records = [r.inputs for r in cdn.of_type("aws:route53/record:Record")]
    assert sorted((r["name"], r["type"]) for r in records) == [
        ("api.ai-assistant.example.com", "A"), ("api.ai-assistant.example.com", "AAAA"),
        ("app.ai-assistant.example.com", "A"), ("app.ai-assistant.example.com", "AAAA"),
    ]
    assert records[0]["aliases"][0]["zoneId"] == "Z2FDTNDATAQYW2"


def test_waf_body_rules_block_on_ai_paths_too_when_configured():
    run = run_aws(_cdn, overrides={"aws": {"wafAiBodyRules": "block"}})
    rules = {r["name"]: r for r in run.one("aws:wafv2/webAcl:WebAcl").inputs["rules"]}
    statement = rules["block-body-injection"]["statement"]
    assert "andStatement" not in statement  # no AI-path exception
    assert len(statement["orStatement"]["statements"]) == 3


def test_waf_logs_to_an_encrypted_aws_waf_logs_group_with_credentials_redacted(cdn):
    group = cdn.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert group["name"] == "aws-waf-logs-aia-prod-aws" and group["retentionInDays"] == 365  # aws.logRetentionDays
    assert group["kmsKeyId"] == "arn:key/logs-us-east-1"
    logging = cdn.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    assert logging["resourceArn"] == "arn:aws:wafv2:us-east-1:123456789012:edge-waf"
    assert logging["redactedFields"] == [{"singleHeader": {"name": "authorization"}}, {"singleHeader": {"name": "cookie"}}]
