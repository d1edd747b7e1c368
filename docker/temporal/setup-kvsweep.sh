#!/bin/sh
# One-shot set-up of a Temporal server for kvsweep: waits until the server answers, creates the
# namespace when it is missing, and registers kvsweep's custom search attributes (sweep tag, model,
# dataset, cache size, ...; the list is domain/names.ts SearchAttributeTypes, which
# docker-compose.yml passes in). Idempotent: run it again after an upgrade, or against any server.
# POSIX sh and the `temporal` CLI only: it runs in the temporalio/admin-tools image.
#
#   TEMPORAL_ADDRESS            the frontend, host:port (required)
#   TEMPORAL_NAMESPACE          namespace kvsweep uses (default: default)
#   KVSWEEP_SEARCH_ATTRIBUTES   "Name=Type Name=Type ..." (required)
#   KVSWEEP_NAMESPACE_RETENTION retention of a namespace this creates (default: 30d)
#   KVSWEEP_SETUP_ATTEMPTS, KVSWEEP_SETUP_DELAY_SECONDS  waiting for the server (default: 90 x 2 s)
#   TEMPORAL_CLI                the CLI to run (default: temporal)
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required: host:port of the Temporal frontend}"
: "${KVSWEEP_SEARCH_ATTRIBUTES:?KVSWEEP_SEARCH_ATTRIBUTES is required: Name=Type pairs separated by spaces}"
namespace=${TEMPORAL_NAMESPACE:-default}
attempts=${KVSWEEP_SETUP_ATTEMPTS:-90}
delay=${KVSWEEP_SETUP_DELAY_SECONDS:-2}
cli=${TEMPORAL_CLI:-temporal}

say() { echo "kvsweep-setup: $*"; }

# retry WHAT COMMAND...: reruns COMMAND until it succeeds; after the last attempt shows its error.
retry() {
  what=$1
  shift
  n=1
  until "$@" >/dev/null 2>&1; do
    if [ "$n" -ge "$attempts" ]; then
      say "gave up waiting for $what after $attempts attempts:" >&2
      "$@" >&2 || true
      exit 1
    fi
    n=$((n + 1))
    sleep "$delay"
  done
}

say "waiting for the Temporal server at $TEMPORAL_ADDRESS"
retry "the server at $TEMPORAL_ADDRESS" "$cli" operator cluster health --address "$TEMPORAL_ADDRESS"

if "$cli" operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$namespace" >/dev/null 2>&1; then
  say "namespace $namespace exists"
else
  say "creating namespace $namespace"
  "$cli" operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" --retention "${KVSWEEP_NAMESPACE_RETENTION:-30d}"
  retry "namespace $namespace" "$cli" operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$namespace"
fi

# Creating an attribute that exists with the same type succeeds; with another type it fails, and
# so does this script at once (kvsweep would write values of the wrong type). Other failures are
# retried: a namespace just created takes a few seconds to reach every server cache.
for pair in $KVSWEEP_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  if [ -z "$name" ] || [ -z "$type" ] || [ "$name" = "$pair" ]; then
    say "bad entry '$pair' in KVSWEEP_SEARCH_ATTRIBUTES (expected Name=Type)" >&2
    exit 1
  fi
  say "search attribute $name ($type)"
  n=1
  until output=$("$cli" operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" --name "$name" --type "$type" 2>&1); do
    case $output in
      *"different type"*) say "$output" >&2; exit 1 ;;
    esac
    if [ "$n" -ge "$attempts" ]; then
      say "could not create $name after $attempts attempts: $output" >&2
      exit 1
    fi
    n=$((n + 1))
    sleep "$delay"
  done
done

# Check what the server now holds: Keyword -> INDEXED_VALUE_TYPE_KEYWORD, KeywordList -> ..._KEYWORD_LIST.
registered=$("$cli" operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$namespace" --output json)
for pair in $KVSWEEP_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  indexed=INDEXED_VALUE_TYPE_$(printf '%s' "${pair#*=}" | sed 's/\([a-z]\)\([A-Z]\)/\1_\2/g' | tr '[:lower:]' '[:upper:]')
  if ! printf '%s' "$registered" | grep -q "\"$name\": *\"$indexed\""; then
    say "$name is not registered as $indexed on $TEMPORAL_ADDRESS/$namespace" >&2
    exit 1
  fi
done
say "ready: namespace $namespace with $(printf '%s\n' $KVSWEEP_SEARCH_ATTRIBUTES | wc -l | tr -d ' ') kvsweep search attributes"
