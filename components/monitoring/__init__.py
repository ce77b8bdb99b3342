"""Monitoring: metrics, alerts, dashboards, notifications and budgets per platform."""
