"""CrossGuard policy pack of the project (see docs/policies.md).

`policies.pack` holds the pack's identity and rule list, `policies.rules` the rules by theme,
`policies.offline` evaluates the rules over an offline plan (used by tools/plan.py).
"""
