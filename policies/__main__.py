"""Entry point the Pulumi CLI runs for this policy pack: builds the PolicyPack and serves it.

    pulumi preview --stack prod --policy-pack policies --policy-pack-config policies/config/prod.json

`PolicyPack(...)` starts the analyzer gRPC server and never returns, so nothing imports this
file: the rules live in `rules/`, the pack's identity in `pack.py`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pulumi_policy import PolicyPack  # noqa: E402

from pack import keep_secrets_marked, pack_kwargs  # noqa: E402

keep_secrets_marked()  # rules see engine secrets as "[secret]", like the offline plan (pack.py)
PolicyPack(**pack_kwargs())
