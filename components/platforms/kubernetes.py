"""Placeholder replaced below."""
def build(context):
    return {}
