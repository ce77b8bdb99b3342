"""ai-assistant-platform components: one concern per package, one platform per module."""
