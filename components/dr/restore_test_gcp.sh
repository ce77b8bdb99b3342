#!/usr/bin/env bash
# Restore test of one managed GCP database: the latest backup into a throwaway target, a check,
# one JSON result line, and the target deleted whatever happened. The Cloud Run job of
# components/dr/restore_test_gcp.py runs it (image: google-cloud-cli, slim).
#
# Environment (set by the job):
#   METHOD          cloud-sql | firestore
#   SERVICE         the data service (postgres, mongodb): the metrics' `service` label
#   PROJECT         the GCP project
#   SOURCE          the Cloud SQL instance / the Firestore database id whose backups are tested
#   TARGET_PREFIX   the throwaway's name without its timestamp (`<prefix>--rt-<service>`); the
#                   job's IAM may delete and restore onto nothing else
#   REGION          cloud-sql: the region of the throwaway instance
#   NETWORK         cloud-sql: the VPC (private IP only, like the source)
#   TIER            cloud-sql: the throwaway instance's machine tier
#   EXPECTED        cloud-sql: comma-separated databases the restored instance must list
#   LOCATION        firestore: the database's location (backups live there)
#   LABELS          cloud-sql: labels of the throwaway (k=v,...)
#   LEFTOVER_HOURS  throwaways older than this are deleted at the start (a killed run's)
#   POLL_SECONDS    seconds between operation polls
#   WAIT_SECONDS    the longest a Firestore restore may take (Cloud SQL waits are bounded by the job)
set -Eeuo pipefail

POLL_SECONDS="${POLL_SECONDS:-30}"
WAIT_SECONDS="${WAIT_SECONDS:-10800}"
LEFTOVER_HOURS="${LEFTOVER_HOURS:-24}"
target="${TARGET_PREFIX}-$(date -u +%Y%m%d%H%M%S)"
status="failed"
step="start"
message=""
backup=""
backup_age=-1
restore_seconds=-1
checked=""
created=""

json_escape() {
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/ }"
  printf '%s' "${s//$'\r'/ }"
}

note() { printf '%s restore-test %s: %s\n' "$(date -u +%FT%TZ)" "$SERVICE" "$*" >&2; }

result() {
  local severity="INFO"
  [[ $status == succeeded ]] || severity="ERROR"
  printf '{"event":"restore_test","severity":"%s","service":"%s","method":"%s","status":"%s","step":"%s",' \
    "$severity" "$(json_escape "$SERVICE")" "$(json_escape "$METHOD")" "$status" "$(json_escape "$step")"
  printf '"source":"%s","target":"%s","backup":"%s","backup_age_seconds":%s,"restore_seconds":%s,' \
    "$(json_escape "$SOURCE")" "$(json_escape "$target")" "$(json_escape "$backup")" "$backup_age" "$restore_seconds"
  printf '"checked":"%s","message":"%s"}\n' "$(json_escape "$checked")" "$(json_escape "$message")"
}

fail() {
  message="$*"
  note "FAILED at $step: $*"
  exit 1
}

epoch() { date -u -d "$1" +%s; }

# --- Cloud SQL -------------------------------------------------------------------------------

sql_wait() {  # an operation id printed by an --async command; returns non-zero, never exits
  if [[ -z $1 ]]; then
    message="${message:-no operation id returned at $step}"
    return 1
  fi
  gcloud sql operations wait "$1" --project="$PROJECT" --timeout=unlimited --quiet >/dev/null
}

sql_delete() {  # safe inside the exit trap: returns non-zero on failure
  gcloud sql instances describe "$1" --project="$PROJECT" --format="value(name)" >/dev/null 2>&1 || return 0
  local op
  op="$(gcloud sql instances delete "$1" --project="$PROJECT" --async --quiet --format="value(name)")" || return 1
  sql_wait "$op" || return 1
}

sql_sweep() {
  local name created_at
  while read -r name created_at; do
    [[ -n $name && $name == "$TARGET_PREFIX"-* ]] || continue
    if (( $(date -u +%s) - $(epoch "$created_at") > LEFTOVER_HOURS * 3600 )); then
      note "deleting the leftover throwaway $name (created $created_at)"
      sql_delete "$name"
    fi
  done < <(gcloud sql instances list --project="$PROJECT" --filter="name~^${TARGET_PREFIX}-" \
             --format="value(name,createTime)")
}

sql_restore() {
  step="sweep"
  sql_sweep
  step="find-backup"
  local id started version disk
  read -r id started < <(gcloud sql backups list --instance="$SOURCE" --project="$PROJECT" \
    --filter="status=SUCCESSFUL" --sort-by=~startTime --limit=1 --format="value(id,startTime)") || true
  [[ -n ${id:-} ]] || fail "no successful backup of $SOURCE"
  backup="$id"
  backup_age=$(( $(date -u +%s) - $(epoch "$started") ))
  read -r version disk < <(gcloud sql instances describe "$SOURCE" --project="$PROJECT" \
    --format="value(databaseVersion,settings.dataDiskSizeGb)") || true
  [[ -n ${version:-} && -n ${disk:-} ]] || fail "cannot read the version and disk size of $SOURCE"
  note "restoring backup $id of $SOURCE (taken $started) into $target"
  local begin
  begin=$(date -u +%s)
  step="create-target"
  created="$target"  # from here on the exit trap deletes it, whatever happens
  sql_wait "$(gcloud sql instances create "$target" --project="$PROJECT" --region="$REGION" \
    --database-version="$version" --edition=enterprise --tier="$TIER" --storage-type=SSD \
    --storage-size="${disk}GB" --availability-type=zonal --network="$NETWORK" --no-assign-ip \
    --no-backup --labels="$LABELS" --async --format="value(name)")"
  step="restore"
  sql_wait "$(gcloud sql backups restore "$id" --restore-instance="$target" --backup-instance="$SOURCE" \
    --project="$PROJECT" --async --quiet --format="value(name)")"
  restore_seconds=$(( $(date -u +%s) - begin ))
  step="check"
  local state
  state="$(gcloud sql instances describe "$target" --project="$PROJECT" --format="value(state)")"
  [[ $state == RUNNABLE ]] || fail "the restored instance is $state, not RUNNABLE"
  local databases wanted
  databases="$(gcloud sql databases list --instance="$target" --project="$PROJECT" --format="value(name)")"
  IFS=',' read -r -a wanted <<<"$EXPECTED"
  for db in "${wanted[@]}"; do
    grep -qx -- "$db" <<<"$databases" || fail "the restored instance has no database $db (it has: ${databases//$'\n'/ })"
  done
  checked="instance RUNNABLE; databases ${EXPECTED}"
}

# --- Firestore -------------------------------------------------------------------------------

fs_delete() {  # safe inside the exit trap: returns non-zero on failure
  gcloud firestore databases describe --database="$1" --project="$PROJECT" --format="value(name)" >/dev/null 2>&1 \
    || return 0
  gcloud firestore databases delete --database="$1" --project="$PROJECT" --quiet >/dev/null || return 1
}

fs_sweep() {
  local name created_at id
  while read -r name created_at; do
    id="${name##*/}"
    [[ -n $id && $id == "$TARGET_PREFIX"-* ]] || continue
    if (( $(date -u +%s) - $(epoch "$created_at") > LEFTOVER_HOURS * 3600 )); then
      note "deleting the leftover throwaway $id (created $created_at)"
      fs_delete "$id"
    fi
  done < <(gcloud firestore databases list --project="$PROJECT" --format="value(name,createTime)")
}

fs_restore() {
  step="sweep"
  fs_sweep
  step="find-backup"
  local name snapshot
  read -r name snapshot < <(gcloud firestore backups list --location="$LOCATION" --project="$PROJECT" \
    --filter="database=projects/${PROJECT}/databases/${SOURCE} AND state=READY" --sort-by=~snapshotTime \
    --limit=1 --format="value(name,snapshotTime)") || true
  [[ -n ${name:-} ]] || fail "no READY backup of $SOURCE in $LOCATION"
  backup="$name"
  backup_age=$(( $(date -u +%s) - $(epoch "$snapshot") ))
  note "restoring $name (snapshot $snapshot) into $target"
  local begin op finished error
  begin=$(date -u +%s)
  step="restore"
  created="$target"
  op="$(gcloud firestore databases restore --project="$PROJECT" --source-backup="$name" \
    --destination-database="$target" --format="value(name)")"
  [[ -n $op ]] || fail "the restore returned no operation"
  local deadline=$(( begin + WAIT_SECONDS ))
  while :; do
    IFS=$'\t' read -r finished error < <(gcloud firestore operations describe "$op" --project="$PROJECT" \
      --format="value(done,error.message)") || true
    [[ ${finished:-} == True ]] && break
    (( $(date -u +%s) < deadline )) || fail "the restore did not finish within ${WAIT_SECONDS} s"
    sleep "$POLL_SECONDS"
  done
  [[ -z ${error:-} ]] || fail "the restore failed: $error"
  restore_seconds=$(( $(date -u +%s) - begin ))
  step="check"
  local restored
  restored="$(gcloud firestore databases describe --database="$target" --project="$PROJECT" --format="value(name)")"
  [[ $restored == "projects/${PROJECT}/databases/${target}" ]] || fail "the restored database is not readable"
  checked="restore operation done without error; database readable"
}

# --- always: delete the throwaway, then the one result line --------------------------------------

finish() {
  local rc=$?
  trap - EXIT
  if [[ -n $created ]]; then
    note "deleting $created"
    if ! { case "$METHOD" in cloud-sql) sql_delete "$created" ;; firestore) fs_delete "$created" ;; esac; }; then
      rc=1
      message="${message:+$message; }could not delete $created (the next run deletes it after ${LEFTOVER_HOURS} h)"
    fi
  fi
  (( rc == 0 )) || status="failed"
  result
  exit "$rc"
}
trap finish EXIT
trap 'message="stopped by a signal"; exit 143' TERM INT

case "$METHOD" in
  cloud-sql) sql_restore ;;
  firestore) fs_restore ;;
  *) fail "unknown METHOD ${METHOD:-}" ;;
esac
status="succeeded"
step="done"
