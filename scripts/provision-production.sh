#!/usr/bin/env bash
# Provisions what the production-path tests (test/production/) run, into .kvsweep/production/
# (git-ignored): the Temporal server and its schema tool (temporal-server, temporal-sql-tool) and
# the Temporal Web UI server, built with Go from the module proxy at pinned versions, and
# PostgreSQL from Debian's packages (installed when missing and this runs as root with apt-get).
# Idempotent and cached like scripts/provision-real-servers.sh: a step is redone only when its
# recipe changed or it never finished; one flock(1) serialises concurrent runs.
# Writes .kvsweep/production/provisioned.json (paths, versions, durations).
# The same steps by hand, for a deployment without Docker: docs/deployment.md.
#
# Usage: scripts/provision-production.sh
#   KVSWEEP_PRODUCTION_DIR  another cache folder (default: <project>/.kvsweep/production)
#   KVSWEEP_PG_BIN          PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin)
set -euo pipefail

# The server of the Temporal CLI that `npm install` provisions (temporal 1.9.1 = server 1.32.0,
# UI 2.54.1), and the images docker-compose.yml names.
readonly SERVER_MODULE=go.temporal.io/server SERVER_VERSION=v1.32.0
readonly UI_MODULE=github.com/temporalio/ui-server/v2 UI_VERSION=v2.54.1

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly project_root
root=${KVSWEEP_PRODUCTION_DIR:-$project_root/.kvsweep/production}
readonly root
readonly bin="$root/bin" stamps="$root/stamps" logs="$root/logs"

declare -A this_run=()
run_start="" lock_wait=0 go="" pg_bin="" pg_user="" pg_data_parent="" cpu_now=0

say() { printf 'provision-production: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# Runs a long command at low priority (2 shared cores), its output to a log; on failure, the tail.
run_logged() {
  local log=$1; shift
  if ! nice -n 10 "$@" >"$log" 2>&1; then
    say "command failed: $*"; tail -n 25 "$log" >&2; fail "see $log"
  fi
}
# CPU seconds (user + system) of every child this shell has waited for: a build's cost apart from
# how busy the machine was (on 2 idle cores it takes about half as long in wall time).
# `times` runs in this shell (not in a pipe's subshell, whose counts start at zero); sets cpu_now.
child_cpu() {
  times >"$logs/times.txt"
  cpu_now=$(tail -n 1 "$logs/times.txt" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] } printf "%.0f", n }')
}
# A step's stamp holds its recipe key on line 1 and its JSON record on line 2; written last.
stamp_key() { [[ -f "$stamps/$1" ]] && head -n 1 "$stamps/$1" || true; }
write_stamp() { printf '%s\n%s\n' "$2" "$3" >"$stamps/$1.partial" && mv "$stamps/$1.partial" "$stamps/$1"; }

find_go() {
  go=$(command -v go || true)
  [[ -n $go ]] || { [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go; } || fail "go not found on PATH"
}

# The folder of a module version in Go's module cache. Not `go install MOD@VER`: it asks the proxy
# for the module's version list first, which the proxy here refuses (docs/real-servers.md).
module_dir() {
  (cd "$root" && "$go" mod download -json "$1@$2" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error", "no Dir")))') ||
    fail "go mod download $1@$2"
}

# PostgreSQL's server binaries; Debian's package when they are missing and we may install it.
provision_postgresql() {
  local dir
  if [[ -n ${KVSWEEP_PG_BIN:-} ]]; then
    pg_bin=$KVSWEEP_PG_BIN
  else
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do pg_bin=$dir; done
  fi
  if [[ -z $pg_bin || ! -x $pg_bin/initdb ]]; then
    [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null ||
      fail "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): install Debian's 'postgresql' package, or set KVSWEEP_PG_BIN"
    say "installing Debian's postgresql package"
    local start; start=$(now)
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends postgresql >"$logs/apt-postgresql.log" 2>&1; then
      run_logged "$logs/apt-update.log" apt-get update
      run_logged "$logs/apt-postgresql.log" apt-get install -y --no-install-recommends postgresql
    fi
    this_run[postgresql]=$(elapsed "$start")
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do pg_bin=$dir; done
    [[ -x $pg_bin/initdb ]] || fail "Debian's postgresql package installed, but no /usr/lib/postgresql/*/bin/initdb"
  else
    this_run[postgresql]=cached
  fi
  # initdb and postgres refuse to run as root: as root, the tests run them as Debian's postgres user.
  if [[ $EUID -eq 0 ]]; then
    pg_user=postgres
    id -u "$pg_user" >/dev/null 2>&1 || fail "running as root, PostgreSQL needs the user 'postgres' (Debian's package creates it)"
  else
    pg_user=$(id -un)
  fi
  # The tests put PostgreSQL's data folders under the cache folder when that user can reach it
  # (a checkout under a private home folder is not), else under the temp folder.
  pg_data_parent="$root/runs"
  mkdir -p "$pg_data_parent"
  if [[ $EUID -eq 0 ]] && ! runuser -u "$pg_user" -- test -x "$pg_data_parent"; then
    pg_data_parent=${TMPDIR:-/tmp}
    say "user $pg_user cannot enter $root: PostgreSQL's test data goes under $pg_data_parent"
  fi
}

# build STEP MODULE VERSION PACKAGE... : `go build` of main packages of a module version into bin/.
build_module() {
  local step=$1 module=$2 version=$3; shift 3
  local key start dir
  key="$module@$version $("$go" env GOVERSION) $*"
  local -a outputs=()
  for package in "$@"; do outputs+=("$bin/${package##*:}"); done
  local present=1 out
  for out in "${outputs[@]}"; do [[ -x $out ]] || present=0; done
  if [[ $(stamp_key "$step") == "$key" && $present == 1 ]]; then this_run[$step]=cached; return; fi
  say "building $module@$version (Go, several minutes cold on 2 cores; log: $logs/$step-build.log)"
  start=$(now)
  child_cpu; local cpu_start=$cpu_now
  rm -f "$stamps/$step"
  dir=$(module_dir "$module" "$version")
  local package
  for package in "$@"; do
    # PACKAGE is path:name; the server's own Makefile builds with CGO_ENABLED=0 and this tag.
    (cd "$dir" && run_logged "$logs/$step-build.log" env CGO_ENABLED=0 "$go" build -trimpath \
      -tags disable_grpc_modules -o "$bin/${package##*:}.partial" "./${package%%:*}")
    mv "$bin/${package##*:}.partial" "$bin/${package##*:}"
  done
  local seconds cpu; seconds=$(elapsed "$start"); child_cpu; cpu=$((cpu_now - cpu_start))
  write_stamp "$step" "$key" "{\"build_seconds\": $seconds, \"build_cpu_seconds\": $cpu, \"module\": \"$module\", \"version\": \"$version\", \"module_dir\": \"$dir\"}"
  this_run[$step]=$seconds
  say "$module@$version built in ${seconds}s (${cpu} CPU seconds)"
}

# The Web UI server reads its configuration from a folder (config/docker.yaml, as in its image).
provision_ui_config() {
  local dir; dir=$(module_dir "$UI_MODULE" "$UI_VERSION")
  if [[ ! -f $root/ui/config/docker.yaml || $(stamp_key ui-config) != "$UI_VERSION" ]]; then
    rm -rf "$root/ui"; mkdir -p "$root/ui"
    cp -r "$dir/config" "$root/ui/config"; chmod -R u+w "$root/ui"
    write_stamp ui-config "$UI_VERSION" '{}'
  fi
}

write_record() {
  local steps_json="{" name
  for name in "${!this_run[@]}"; do steps_json+="\"$name\": \"${this_run[$name]}\", "; done
  steps_json="${steps_json%, }}"
  python3 - "$root" "$steps_json" "$(elapsed "$run_start")" "$lock_wait" "$pg_bin" "$pg_user" "$pg_data_parent" <<PY
import json, os, subprocess, sys
root, steps, seconds, lock_wait, pg_bin, pg_user, pg_data_parent = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
def stamp(name):
    return json.loads(open(os.path.join(root, "stamps", name)).read().splitlines()[1])
pg_version = subprocess.run([os.path.join(pg_bin, "postgres"), "--version"], capture_output=True, text=True).stdout.strip()
record = {
    "root": root,
    "temporal_server": {"binary": os.path.join(root, "bin/temporal-server"), "sql_tool": os.path.join(root, "bin/temporal-sql-tool"), **stamp("temporal-server")},
    "temporal_ui": {"binary": os.path.join(root, "bin/temporal-ui-server"), "root": os.path.join(root, "ui"), **stamp("temporal-ui")},
    "postgresql": {"bin": pg_bin, "user": pg_user, "version": pg_version, "data_parent": pg_data_parent},
    "last_run": {"seconds": seconds, "lock_wait_seconds": lock_wait, "steps": {k: (v if v == "cached" else float(v)) for k, v in steps.items()}},
}
tmp = os.path.join(root, "provisioned.json.partial")
with open(tmp, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
os.replace(tmp, os.path.join(root, "provisioned.json"))
print(json.dumps(record["last_run"]))
PY
}

main() {
  case ${1:-} in
    "") ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) fail "unknown argument: $1 (this script takes none)" ;;
  esac
  mkdir -p "$root" "$stamps" "$logs" "$bin"
  chmod 755 "$root"
  run_start=$(now)
  exec 9>"$root/.lock"
  if ! flock -n 9; then
    say "another provisioning run holds $root/.lock; waiting (up to 60 min)"
    flock -w 3600 9 || fail "timed out waiting for $root/.lock"
  fi
  lock_wait=$(elapsed "$run_start")
  find_go
  provision_postgresql
  build_module temporal-server "$SERVER_MODULE" "$SERVER_VERSION" cmd/server:temporal-server cmd/tools/sql:temporal-sql-tool
  build_module temporal-ui "$UI_MODULE" "$UI_VERSION" cmd/server:temporal-ui-server
  provision_ui_config
  summary=$(write_record)
  say "ready in $(elapsed "$run_start")s: $summary; record: $root/provisioned.json"
}

main "$@"
