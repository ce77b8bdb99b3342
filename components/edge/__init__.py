"""The edge: ingress, CDN, WAF and TLS per platform."""
