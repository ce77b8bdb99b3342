"""The Cloud Workflows source of the nightly backup export (`ScheduledBackupExports`).

Each run computes the due tiers (daily; weekly on Sundays; monthly on the 1st; yearly on 1 January),
exports PostgreSQL (serverless Cloud SQL export, retried with backoff while the instance answers
409 operationInProgress) to `daily/postgres/<date>-<execution id>.sql.gz`, copies it to the other due
tiers with `ifGenerationMatch=0` (never over an existing object), and exports Firestore to
`<tier>/firestore/<date>-<execution id>` for each due tier. The execution id keeps every object name
new: the bucket's retention policy refuses to overwrite an earlier run's export.
"""

from __future__ import annotations

from typing import Optional

_WORKFLOW = """
main:
  steps:
    - init:
        assign:
          - project: ${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}
          - bucket: "__BUCKET__"
          - now: ${sys.now()}
          - day: ${text.substring(time.format(now), 0, 10)}
          # run-unique object names: the retention policy refuses to overwrite an earlier run's export
          - run: ${day + "-" + sys.get_env("GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID")}
          - tiers: ["daily"]
    - weekly:
        switch:
          - condition: ${int(now / 86400 + 4) % 7 == 0}
            steps:
              - add_weekly:
                  assign:
                    - tiers: ${list.concat(tiers, "weekly")}
    - monthly:
        switch:
          - condition: ${text.substring(day, 8, 10) == "01"}
            steps:
              - add_monthly:
                  assign:
                    - tiers: ${list.concat(tiers, "monthly")}
    - yearly:
        switch:
          - condition: ${text.substring(day, 5, 10) == "01-01"}
            steps:
              - add_yearly:
                  assign:
                    - tiers: ${list.concat(tiers, "yearly")}
__POSTGRES____FIRESTORE__    - done:
        return: ${tiers}
__BUSY__"""

_POSTGRES = """    - export_postgres:
        # Cloud SQL runs one admin operation at a time: retry while a backup, maintenance or another
        # operation holds the instance (HTTP 409 operationInProgress). `offload`: serverless export,
        # which reads from a temporary instance instead of loading the primary.
        try:
          call: googleapis.sqladmin.v1.instances.export
          args:
            project: ${project}
            instance: "__INSTANCE__"
            body:
              exportContext:
                fileType: SQL
                databases: ["__DATABASE__"]
                offload: true
                uri: ${"gs://" + bucket + "/daily/postgres/" + run + ".sql.gz"}
        retry:
          predicate: ${cloud_sql_busy}
          max_retries: __RETRIES__
          backoff:
            initial_delay: 60
            max_delay: 900
            multiplier: 2
    - copy_postgres:
        for:
          value: tier
          in: ${tiers}
          steps:
            - copy:
                switch:
                  - condition: ${tier != "daily"}
                    steps:
                      - copy_object:
                          call: googleapis.storage.v1.objects.copy
                          args:
                            sourceBucket: ${bucket}
                            sourceObject: ${text.url_encode("daily/postgres/" + run + ".sql.gz")}
                            destinationBucket: ${bucket}
                            destinationObject: ${text.url_encode(tier + "/postgres/" + run + ".sql.gz")}
                            ifGenerationMatch: 0
"""

# HTTP 409 from the Cloud SQL Admin API: another operation (backup, maintenance, export) is running.
_BUSY = """cloud_sql_busy:
  params: [e]
  steps:
    - check:
        switch:
          - condition: ${"code" in e and e.code == 409}
            return: true
          - condition: ${text.match_regex(json.encode_to_string(e), "operationInProgress")}
            return: true
    - other:
        return: false
"""
# How often the export retries a busy instance (backoff 1, 2, 4, 8, 15, 15 ... min: about 2 h).
EXPORT_RETRIES = 10

_FIRESTORE = """    - export_firestore:
        for:
          value: tier
          in: ${tiers}
          steps:
            - export:
                call: googleapis.firestore.v1.projects.databases.exportDocuments
                args:
                  name: ${"projects/" + project + "/databases/__FS_DATABASE__"}
                  body:
                    outputUriPrefix: ${"gs://" + bucket + "/" + tier + "/firestore/" + run}
"""


# Start a Firestore export and follow its long-running operation; nothing that imports or writes.
FIRESTORE_EXPORT_PERMISSIONS = (
    "datastore.databases.export",
    "datastore.databases.getMetadata",
    "datastore.operations.get",
    "datastore.operations.list",
)


def backup_workflow_source(bucket: str, postgres: Optional[tuple[str, str]], firestore_database: Optional[str]) -> str:
    """Workflows YAML of the daily export; `postgres` is (instance, database)."""
    pg = (
        _POSTGRES.replace("__INSTANCE__", postgres[0])
        .replace("__DATABASE__", postgres[1])
        .replace("__RETRIES__", str(EXPORT_RETRIES))
        if postgres
        else ""
    )
    fs = _FIRESTORE.replace("__FS_DATABASE__", firestore_database) if firestore_database else ""
    source = _WORKFLOW.replace("__BUCKET__", bucket).replace("__POSTGRES__", pg).replace("__FIRESTORE__", fs)
    return source.replace("__BUSY__", _BUSY if postgres else "").lstrip()
