"""Monitoring on Kubernetes (platforms `kubernetes` and `gke`): kube-prometheus-stack and what the
app adds to it.

Creates, when `monitoring.enabled`:
- a Namespace `kubernetes.monitoringNamespace` (the app's NetworkPolicies admit scrapes from it);
- a Grafana admin password (pulumi_random) in a Kubernetes Secret that the chart reads through
  `grafana.admin.existingSecret`: the password never appears in the Helm values or the state of
  the Release;
- kube-prometheus-stack as a `helm.v3.Release` pinned to `monitoring.prometheusStack.chartVersion`.
  A Release renders on the cluster at deploy time, so the offline plan needs no chart download.
  Prometheus keeps `retentionDays` of data on a `storageGi` volume (and at most 80 % of it, so the
  disk alert fires before Prometheus fills its own volume); it selects every ServiceMonitor and
  PrometheusRule (`*SelectorNilUsesHelmValues: false`), not only the chart's own. Grafana is served
  on `grafana.<domain>` through an Ingress (class `ingress_class`, nginx by default) and loads
  dashboards from ConfigMaps labelled `grafana_dashboard: "1"`. Control-plane scrapes (controller-manager, scheduler, etcd, kube-proxy)
  are off: managed control planes (GKE) and kind do not expose them, and their targets would only
  raise false TargetDown alerts;
- a ServiceMonitor per web service (port `http`, path `/metrics`) in the app namespace;
- a PodMonitor per scrape target the stack hands in (`scrape_targets`: the data services'
  exporters, the ingress-nginx controller), in the target's namespace, on its `metrics` container
  port, with `job` = the target's name (`jobLabel` reads the pods' `app.kubernetes.io/name`, which
  is that name for the data services; the controller's PodMonitor is named `ingress-nginx`);
- a PrometheusRule with the seeds' alerts (`components.monitoring.metrics.alert_rules`, thresholds
  from `monitoring.thresholds`); the data-service alerts read only metrics a target serves;
- the platform dashboard (`components.monitoring.dashboards`) as a ConfigMap;
- when Slack or PagerDuty is configured, an AlertmanagerConfig routing critical and warning alerts
  there, with the credentials in a Secret.

With `prometheusStack.install: false` the cluster already runs the Prometheus Operator and Grafana
(in `monitoringNamespace`); only the ServiceMonitors, rules, dashboards and routing are created.

The custom resources (ServiceMonitor, PrometheusRule, AlertmanagerConfig) depend on the Release:
their CRDs are installed by it, so they cannot be created before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.base import PlatformComponent
from components.config import ServiceConfig, StackContext
from components.dr.restore_test_kubernetes import restore_test_alert_rules
from components.kubernetes_objects import NAME_LABEL, ScrapeTarget
from components.monitoring import dashboards, metrics

PROMETHEUS_STACK_REPO = "https://prometheus-community.github.io/helm-charts"
PROMETHEUS_STACK_CHART = "kube-prometheus-stack"
RELEASE_NAME = "kube-prometheus-stack"
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
PART_OF = "ai-assistant-platform"
SLACK_POST_MESSAGE_URL = "https://slack.com/api/chat.postMessage"
MONITORING_API_VERSION = "monitoring.coreos.com/v1"


@dataclass(frozen=True)
class KubernetesMonitoringArgs:
    context: StackContext
    namespace: pulumi.Input[str]  # the app namespace (config.kubernetes.namespace)
    services: Mapping[str, ServiceConfig]  # enabled services; web ones (port set) get a ServiceMonitor
    # Optional, for other clusters (GKE): the Prometheus volume's StorageClass (default:
    # config.kubernetes.storageClass), Grafana's Ingress class and extra annotations (None: no
    # Grafana Ingress), and chart values deep-merged over ours (e.g. a BackendConfig annotation on
    # Grafana's Service). Never put secrets in `chart_values`: they would land in the Release state.
    storage_class: Optional[pulumi.Input[str]] = None
    ingress_class: Optional[str] = "nginx"
    ingress_annotations: Mapping[str, str] = field(default_factory=dict)
    chart_values: Mapping[str, Any] = field(default_factory=dict)
    # pods serving Prometheus metrics besides the web services (exporters, ingress controller)
    scrape_targets: Sequence[ScrapeTarget] = ()


class KubernetesMonitoring(PlatformComponent):
    """kube-prometheus-stack, ServiceMonitors, alert rules, dashboards (see the module docstring).

    `grafana_url`: the Grafana URL when this component installs Grafana behind an Ingress, else None.
    """

    TYPE = "aiplatform:monitoring:KubernetesMonitoring"

    grafana_url: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: KubernetesMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.grafana_url = None
        monitoring = self.config.monitoring
        if not monitoring.enabled:
            self.register_outputs({})
            return

        self._component_labels = {
            **self.labels,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/component": "monitoring",
        }
        stack = monitoring.prometheus_stack
        release: Optional[k8s.helm.v3.Release] = None
        if stack.install:
            namespace = k8s.core.v1.Namespace(
                self.child_name("namespace"),
                metadata=self._metadata(self.config.kubernetes.monitoring_namespace, namespace=None),
                opts=self.child_opts(),
            )
            monitoring_namespace: pulumi.Input[str] = namespace.metadata.name
            admin_secret = self._grafana_admin_secret(monitoring_namespace)
            release = self._prometheus_stack(monitoring_namespace, admin_secret, args)
            if args.ingress_class is not None:
                self.grafana_url = pulumi.Output.from_input(self._grafana_url())
        else:
            monitoring_namespace = self.config.kubernetes.monitoring_namespace
        crd_opts = self.child_opts(depends_on=[release] if release is not None else None)

        web_services = sorted(n for n, s in args.services.items() if s.enabled and s.port is not None)
        self.service_monitors = [
            self._service_monitor(service, args.namespace, crd_opts) for service in web_services
        ]
        self.pod_monitors = [self._pod_monitor(target, crd_opts) for target in args.scrape_targets]
        exporters = {target.name: target.metrics for target in args.scrape_targets}
        self.rules = self._prometheus_rule(monitoring_namespace, args.namespace, web_services, exporters, crd_opts)
        self.dashboard = self._dashboard(monitoring_namespace, args.namespace)
        self.alert_routing = self._alert_routing(monitoring_namespace, crd_opts)

        self.register_outputs(
            {
                "grafanaUrl": self.grafana_url,
                "serviceMonitors": web_services,
                "podMonitors": sorted(exporters),
                "monitoringNamespace": monitoring_namespace,
            }
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _metadata(
        self,
        name: str,
        namespace: Optional[pulumi.Input[str]],
        extra_labels: Optional[Mapping[str, str]] = None,
    ) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=namespace,
            labels={**self._component_labels, **(extra_labels or {})},
        )

    def _grafana_host(self) -> str:
        return f"grafana.{self.config.domain}"

    def _grafana_url(self) -> str:
        scheme = "https" if self.config.edge.tls_cluster_issuer else "http"
        return f"{scheme}://{self._grafana_host()}"

    # --- kube-prometheus-stack -------------------------------------------------------------------

    def _grafana_admin_secret(self, namespace: pulumi.Input[str]) -> k8s.core.v1.Secret:
        password = random.RandomPassword(
            self.child_name("grafana-admin-password"),
            random.RandomPasswordArgs(length=32, special=False),
            opts=self.child_opts(),
        )
        return k8s.core.v1.Secret(
            self.child_name("grafana-admin"),
            metadata=self._metadata(GRAFANA_ADMIN_SECRET, namespace),
            type="Opaque",
            string_data={
                GRAFANA_USER_KEY: GRAFANA_ADMIN_USER,
                GRAFANA_PASSWORD_KEY: pulumi.Output.secret(password.result),
            },
            opts=self.child_opts(),
        )

    def _prometheus_stack(
        self, namespace: pulumi.Input[str], admin_secret: k8s.core.v1.Secret, args: KubernetesMonitoringArgs
    ) -> k8s.helm.v3.Release:
        stack = self.config.monitoring.prometheus_stack
        return k8s.helm.v3.Release(
            self.child_name("kube-prometheus-stack"),
            k8s.helm.v3.ReleaseArgs(
                name=RELEASE_NAME,
                chart=PROMETHEUS_STACK_CHART,
                version=stack.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=PROMETHEUS_STACK_REPO),
                namespace=namespace,
                values=_deep_merge(
                    self._prometheus_stack_values(admin_secret.metadata.name, args), args.chart_values
                ),
                cleanup_on_fail=True,
                max_history=5,
                timeout=900,
            ),
            opts=self.child_opts(),
        )

    def _prometheus_stack_values(
        self, admin_secret_name: pulumi.Input[str], args: KubernetesMonitoringArgs
    ) -> dict[str, Any]:
        """Chart values. No secret in here: Grafana reads its admin login from `admin_secret_name`."""
        config = self.config
        stack = config.monitoring.prometheus_stack
        storage: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{stack.storage_gi}Gi"}},
        }
        storage_class = args.storage_class if args.storage_class is not None else config.kubernetes.storage_class
        if storage_class:
            storage["storageClassName"] = storage_class
        grafana_ingress: dict[str, Any] = {"enabled": False}
        if args.ingress_class is not None:
            annotations = dict(args.ingress_annotations)
            grafana_ingress = {
                "enabled": True,
                "ingressClassName": args.ingress_class,
                "hosts": [self._grafana_host()],
                "path": "/",
                "pathType": "Prefix",
                "labels": dict(self._component_labels),
            }
            if config.edge.tls_cluster_issuer:
                annotations["cert-manager.io/cluster-issuer"] = config.edge.tls_cluster_issuer
                grafana_ingress["tls"] = [{"secretName": "grafana-tls", "hosts": [self._grafana_host()]}]
            if annotations:
                grafana_ingress["annotations"] = annotations
        part_of = {"app.kubernetes.io/part-of": PART_OF}
        return {
            "commonLabels": dict(self.labels),
            "crds": {"enabled": True},
            # Not reachable on managed control planes (GKE) nor on kind: only false TargetDown alerts.
            "kubeControllerManager": {"enabled": False},
            "kubeScheduler": {"enabled": False},
            "kubeEtcd": {"enabled": False},
            "kubeProxy": {"enabled": False},
            "prometheus": {
                "prometheusSpec": {
                    "retention": f"{stack.retention_days}d",
                    # stop at 80 % of the volume: the 85 % disk alert is for real problems
                    "retentionSize": f"{max(1, int(stack.storage_gi * 0.8))}GB",
                    "storageSpec": {"volumeClaimTemplate": {"spec": storage}},
                    # select every ServiceMonitor/PodMonitor/Probe/PrometheusRule in the cluster,
                    # not only those labelled for this Helm release
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "probeSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    "scrapeConfigSelectorNilUsesHelmValues": False,
                    "resources": {
                        "requests": {"cpu": "200m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "2Gi"},
                    },
                },
            },
            "alertmanager": {
                "alertmanagerSpec": {
                    "alertmanagerConfigSelector": {"matchLabels": part_of},
                    # our routes match on severity, not on the namespace of the AlertmanagerConfig
                    "alertmanagerConfigMatcherStrategy": {"type": "None"},
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "64Mi"},
                        "limits": {"cpu": "200m", "memory": "256Mi"},
                    },
                },
            },
            "grafana": {
                "admin": {
                    "existingSecret": admin_secret_name,
                    "userKey": GRAFANA_USER_KEY,
                    "passwordKey": GRAFANA_PASSWORD_KEY,
                },
                "defaultDashboardsTimezone": "utc",
                "ingress": grafana_ingress,
                "grafana.ini": {
                    "server": {"root_url": self._grafana_url()},
                    "users": {"allow_sign_up": False},
                    "auth.anonymous": {"enabled": False},
                    "analytics": {"reporting_enabled": False, "check_for_updates": False},
                },
                "sidecar": {
                    "dashboards": {
                        "enabled": True,
                        "label": DASHBOARD_LABEL,
                        "labelValue": DASHBOARD_LABEL_VALUE,
                    },
                },
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"},
                },
            },
        }

    # --- what the app adds ---------------------------------------------------------------------

    def _service_monitor(
        self, service: str, app_namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        """Scrapes `/metrics` on the `http` port of the Service named after `service`."""
        return k8s.apiextensions.CustomResource(
            self.child_name("servicemonitor", service),
            api_version=MONITORING_API_VERSION,
            kind="ServiceMonitor",
            metadata=self._metadata(service, app_namespace, {"app.kubernetes.io/name": service}),
            spec={
                "selector": {
                    "matchLabels": {"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": PART_OF}
                },
                "namespaceSelector": {"matchNames": [app_namespace]},
                "endpoints": [
                    {
                        "port": metrics.METRICS_PORT_NAME,
                        "path": metrics.METRICS_PATH,
                        "scheme": "http",
                        "interval": "30s",
                        "scrapeTimeout": "10s",
                    }
                ],
            },
            opts=opts,
        )

    def _pod_monitor(self, target: ScrapeTarget, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        """Scrapes `target.path` on the container port `target.port_name` of the target's pods."""
        return k8s.apiextensions.CustomResource(
            self.child_name("podmonitor", target.name),
            api_version=MONITORING_API_VERSION,
            kind="PodMonitor",
            metadata=self._metadata(target.name, target.namespace, {NAME_LABEL: target.name}),
            spec={
                "jobLabel": NAME_LABEL,
                "selector": {"matchLabels": dict(target.pod_labels)},
                "namespaceSelector": {"matchNames": [target.namespace]},
                "podMetricsEndpoints": [
                    {
                        "port": target.port_name,
                        "path": target.path,
                        "scheme": "http",
                        "interval": "30s",
                        "scrapeTimeout": "10s",
                        **(
                            {
                                "authorization": {
                                    "type": "Bearer",
                                    "credentials": {"name": target.bearer_secret[0], "key": target.bearer_secret[1]},
                                }
                            }
                            if target.bearer_secret is not None
                            else {}
                        ),
                    }
                ],
            },
            opts=opts,
        )

    def _prometheus_rule(
        self,
        monitoring_namespace: pulumi.Input[str],
        app_namespace: pulumi.Input[str],
        web_services: list[str],
        exporters: Mapping[str, tuple[str, ...]],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        thresholds = self.config.monitoring.thresholds

        def groups(namespace: str) -> list[dict[str, Any]]:
            return [
                {"name": f"{PART_OF}.{group}", "rules": [rule.as_prometheus_rule() for rule in rules]}
                for group, rules in metrics.alert_rules(namespace, web_services, thresholds, exporters).items()
            ] + [  # the in-cluster restore tests (components/dr/restore_test_kubernetes.py)
                {"name": f"{PART_OF}.restore-tests", "rules": [rule.as_prometheus_rule() for rule in restore_rules]}
                for restore_rules in [restore_test_alert_rules(namespace, self.config)] if restore_rules
            ]

        return k8s.apiextensions.CustomResource(
            self.child_name("alerts"),
            api_version=MONITORING_API_VERSION,
            kind="PrometheusRule",
            metadata=self._metadata(f"{PART_OF}-alerts", monitoring_namespace),
            spec={"groups": pulumi.Output.from_input(app_namespace).apply(groups)},
            opts=opts,
        )

    def _dashboard(
        self, monitoring_namespace: pulumi.Input[str], app_namespace: pulumi.Input[str]
    ) -> k8s.core.v1.ConfigMap:
        """The platform dashboard as a ConfigMap the Grafana sidecar provisions (a core object:
        it needs the namespace, not the chart's CRDs)."""
        monitoring = self.config.monitoring

        def render(namespace: str) -> str:
            return dashboards.dashboard_json(
                dashboards.platform_dashboard(
                    metrics.namespace_selector(namespace),
                    thresholds=monitoring.thresholds,
                    targets=monitoring.targets,
                )
            )

        return k8s.core.v1.ConfigMap(
            self.child_name("dashboard"),
            metadata=self._metadata(
                f"grafana-dashboard-{dashboards.DASHBOARD_UID}",
                monitoring_namespace,
                {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            ),
            data={f"{dashboards.DASHBOARD_UID}.json": pulumi.Output.from_input(app_namespace).apply(render)},
            opts=self.child_opts(),
        )

    def _alert_routing(
        self, monitoring_namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> Optional[k8s.apiextensions.CustomResource]:
        """Slack (bot token, chat.postMessage) and PagerDuty (Events API v2) receivers for the
        seeds' critical and warning alerts. Email needs an SMTP relay the config does not describe."""
        notifications = self.config.monitoring.notifications
        provided = self.context.provided_secrets
        slack = notifications.slack_channel is not None and notifications.slack_token_secret in provided
        pagerduty = notifications.pagerduty_key_secret is not None and notifications.pagerduty_key_secret in provided
        if not (slack or pagerduty):
            return None

        string_data: dict[str, pulumi.Input[str]] = {}
        if slack:
            string_data["slack-api-url"] = SLACK_POST_MESSAGE_URL
            string_data["slack-token"] = pulumi.Output.secret(provided[notifications.slack_token_secret])
        if pagerduty:
            string_data["pagerduty-routing-key"] = pulumi.Output.secret(
                provided[notifications.pagerduty_key_secret]
            )
        secret = k8s.core.v1.Secret(
            self.child_name("alertmanager-notifications"),
            metadata=self._metadata("alertmanager-notifications", monitoring_namespace),
            type="Opaque",
            string_data=string_data,
            opts=self.child_opts(),
        )
        secret_name = secret.metadata.name  # data flow: the routing needs the Secret first

        receivers: list[dict[str, Any]] = []
        if slack:
            receivers.append(
                {
                    "name": "slack",
                    "slackConfigs": [
                        {
                            "apiURL": {"name": secret_name, "key": "slack-api-url"},
                            "channel": notifications.slack_channel,
                            "sendResolved": True,
                            "httpConfig": {
                                "authorization": {
                                    "type": "Bearer",
                                    "credentials": {"name": secret_name, "key": "slack-token"},
                                }
                            },
                        }
                    ],
                }
            )
        if pagerduty:
            receivers.append(
                {
                    "name": "pagerduty",
                    "pagerdutyConfigs": [
                        {"routingKey": {"name": secret_name, "key": "pagerduty-routing-key"}, "sendResolved": True}
                    ],
                }
            )
        route: dict[str, Any] = {
            "receiver": receivers[0]["name"],
            # the seeds' alerts only; the chart's Watchdog/InfoInhibitor (severity none) stay out
            "matchers": [{"name": "severity", "value": "critical|warning", "matchType": "=~"}],
            "groupBy": ["alertname", "namespace"],
            "groupWait": "30s",
            "groupInterval": "5m",
            "repeatInterval": "4h",
        }
        if slack and pagerduty:
            # critical alerts page on-call and go to Slack; warnings only to Slack (seed 001)
            route["routes"] = [
                {
                    "receiver": "pagerduty",
                    "matchers": [{"name": "severity", "value": "critical", "matchType": "="}],
                    "continue": True,
                },
                {"receiver": "slack"},
            ]
        return k8s.apiextensions.CustomResource(
            self.child_name("alert-routing"),
            api_version="monitoring.coreos.com/v1alpha1",
            kind="AlertmanagerConfig",
            metadata=self._metadata(f"{PART_OF}-routing", monitoring_namespace),
            spec={"route": route, "receivers": receivers},
            opts=opts,
        )


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
