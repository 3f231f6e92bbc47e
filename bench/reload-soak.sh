#!/usr/bin/env bash
# bench/reload-soak.sh [RELOADS]: the long run of lb's TestReloadsUnderLoad.
# Four phones place one call per two reloads through a real sipfront engine
# on loopback while dispatcher.reload swaps between two list versions
# (weights, priorities and a disabled destination that comes and goes);
# every call must complete with INVITE, ACK and BYE delivered once each, all
# to one back end. Default 100000 reloads (about 200000 calls, a few minutes).
# The log goes to bench/results/reload-soak.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
reloads="${1:-100000}"
mkdir -p bench/results
SIPFRONT_RELOAD_SOAK="$reloads" go test -count=1 -run '^TestReloadSoak$' -v -timeout 0 ./lb 2>&1 |
	tee bench/results/reload-soak.txt
grep -q '^--- PASS: TestReloadSoak' bench/results/reload-soak.txt
