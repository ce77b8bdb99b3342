"""Disaster recovery: backups, retention tiers and failover per platform."""
