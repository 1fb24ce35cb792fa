#!/usr/bin/env bash
# Runs every benchmark scenario once against a self-hosted server (SQLite), then turns and history on PostgreSQL
# (a throwaway cluster, when /usr/lib/postgresql/15/bin exists). RESULT lines go to $RESULTS (default
# bench/results/<UTC time>.txt) and the full output to the same name with .log.
#   SCENARIOS="turns history"  run only these (default: all)
#   QUICK=1                    tiny sizes (a smoke run, minutes instead of ~15)
#   POSTGRES=0                 skip PostgreSQL
# Any further arguments are passed to every scenario (e.g. --sqlite-synchronous NORMAL).
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=${SCENARIOS:-"turns ceiling resident streams history startup"}
mkdir -p bench/results
results=${RESULTS:-bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt}

dotnet build -c Release src/Parley.Server -nologo -v q
dotnet build -c Release bench/Parley.Bench -nologo -v q
bench=(dotnet bench/Parley.Bench/bin/Release/net10.0/Parley.Bench.dll)

declare -A sizes
if [ "${QUICK:-0}" = 1 ]; then
  sizes[turns]="--clients 8 --users 4 --warmup 1 --duration 3"
  sizes[ceiling]="--clients 8 --warmup 1 --duration 3"
  sizes[resident]="--conversations 1000 --clients 16 --users 8"
  sizes[streams]="--streams 500 --users 10 --chunk-delay-ms 200"
  sizes[history]="--messages 1000 --fetches 200"
  sizes[startup]="--messages 20000 --runs 2"
else
  sizes[turns]=""; sizes[ceiling]=""; sizes[resident]=""; sizes[streams]=""; sizes[history]=""; sizes[startup]=""
fi

{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "# commit $(git rev-parse --short HEAD)"
} >>"$results"

status=0
run() {
  echo "== $*" | tee -a "$results.log"
  # shellcheck disable=SC2068
  if ! "${bench[@]}" $@ 2>&1 | tee -a "$results.log" | grep '^RESULT' >>"$results"; then status=1; fi
}

for scenario in $scenarios; do
  run "$scenario" --self-host ${sizes[$scenario]} "$@"
done

if [ "${POSTGRES:-1}" = 1 ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  pgdir=$(mktemp -d /tmp/parley-bench-pg-XXXXXX)
  trap 'bench/pg-throwaway.sh stop "$pgdir"' EXIT
  connection=$(bench/pg-throwaway.sh start "$pgdir")
  for scenario in turns history; do
    if [[ " $scenarios " == *" $scenario "* ]]; then
      run "$scenario" --self-host --provider postgresql --connection "$connection" ${sizes[$scenario]} "$@"
    fi
  done
fi

echo "Results in $results"
cat "$results"
exit $status
