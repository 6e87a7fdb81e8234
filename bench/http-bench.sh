#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# iommud's GET /metrics under wrk, side by side in one run with nginx
# serving the very same bytes as a static file and with Debian's
# prometheus-node-exporter serving its own /metrics; then iommud's RSS
# across 1,000,000 requests.  Everything on loopback, on free ports, and
# stopped at the end.  bench/README.md has the figures measured.
#
#   bench/http-bench.sh [BUILD_DIR]        (default: build)
#
# Environment: DURATION (seconds per run, 10), ROUNDS (runs per server,
# alternating, the median kept: 3), CONNECTIONS (64), THREADS (2),
# REQUESTS (to iommud before its RSS is read, 1000000), SNAPSHOT (the
# fixture iommud serves).  Needs wrk, nginx (nginx-light will do),
# prometheus-node-exporter and curl: apt-get install wrk nginx-light
# prometheus-node-exporter curl.  Exits 1 when a target is missed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
requests=${REQUESTS:-1000000}
snapshot=${SNAPSHOT:-$here/tests/data/snapshots/scalable-aw48/snapshot.iommu}

for tool in wrk nginx prometheus-node-exporter curl python3; do
        command -v "$tool" >/dev/null || {
                echo "http-bench: $tool is missing (apt-get install wrk nginx-light prometheus-node-exporter curl)" >&2
                exit 2
        }
done
ninja -C "$build" src/daemon/iommud >/dev/null

tmp=$(mktemp -d /tmp/http-bench.XXXXXX)
chmod 0755 "$tmp" # nginx's worker runs as www-data
pids=()
cleanup() {
        for pid in "${pids[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${pids[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL: until it answers, at most 10 s
        for _ in $(seq 100); do
                curl -sf -o /dev/null "$1" && return 0
                sleep 0.1
        done
        echo "http-bench: nothing answers at $1" >&2
        exit 1
}

rss_kib() {
        awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# iommud: 64 connections from one address need MaxConnectionsPerIP= past its 8
iommud_port=$(free_port)
cat >"$tmp/iommud.conf" <<EOF
[HTTP]
MaxConnections=256
MaxConnectionsPerIP=256
EOF
"$build/src/daemon/iommud" --config "$tmp/iommud.conf" --snapshot "$snapshot" --socket "$tmp/iommud.sock" \
        --listen-http "127.0.0.1:$iommud_port" 2>"$tmp/iommud.log" &
iommud_pid=$!
pids+=("$iommud_pid")
wait_http "http://127.0.0.1:$iommud_port/healthz"

# nginx: one worker, like iommud's one thread; the same bytes, the same type
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/www" "$tmp/nginx/tmp"
curl -sf -o "$tmp/nginx/www/metrics" "http://127.0.0.1:$iommud_port/metrics"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
        access_log off;
        keepalive_requests 100000000;
        client_body_temp_path $tmp/nginx/tmp;
        proxy_temp_path $tmp/nginx/tmp;
        fastcgi_temp_path $tmp/nginx/tmp;
        uwsgi_temp_path $tmp/nginx/tmp;
        scgi_temp_path $tmp/nginx/tmp;
        server {
                listen 127.0.0.1:$nginx_port;
                root $tmp/nginx/www;
                location = /metrics { default_type "text/plain; version=0.0.4; charset=utf-8"; }
        }
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr" &
pids+=("$!")
wait_http "http://127.0.0.1:$nginx_port/metrics"

node_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$node_port" >"$tmp/node.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$node_port/metrics"

cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
        local e = summary.errors
        io.write(string.format("RESULT %d %.0f %.3f %.3f %d %d\n", summary.requests,
                summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
                latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF

# RESULT requests req/s p50-ms p99-ms non-2xx socket-errors
run() { # PORT SECONDS
        wrk -t"$threads" -c"$connections" -d"$2s" -s "$tmp/report.lua" "http://127.0.0.1:$1/metrics" |
                awk '$1 == "RESULT"'
}

# anything else busy on the machine shows in the tails: say so
load=$(cut -d' ' -f1 /proc/loadavg)
declare -A port=([iommud]=$iommud_port [nginx]=$nginx_port [node-exporter]=$node_port)
declare -A runs
# warm up (the first answers allocate what later ones reuse), then the RSS to compare with
line=$(run "$iommud_port" 2)
served=$(awk '{ print $2 }' <<<"$line")
warm=$(rss_kib "$iommud_pid")
for round in $(seq "$rounds"); do
        for name in iommud nginx node-exporter; do
                line=$(run "${port[$name]}" "$duration")
                runs[$name]+="$line"$'\n'
                [ "$name" = iommud ] && served=$((served + $(awk '{ print $2 }' <<<"$line")))
        done
done

median() { # NAME: the run with the median req/s, and the sums of non-2xx and errors over all runs
        sort -k3,3n <<<"${runs[$1]%$'\n'}" | awk -v n="$rounds" '
                { line[NR] = $0; non2xx += $6; errors += $7 }
                END { split(line[int((n + 1) / 2)], f, " "); print f[3], f[4], f[5], non2xx, errors }'
}

size() { curl -sf "http://127.0.0.1:$1/metrics" | wc -c; }

printf 'wrk -t%s -c%s, %s runs of %ss each, alternating; GET /metrics (%s); load average before: %s\n' \
        "$threads" "$connections" "$rounds" "$duration" "$(basename "$(dirname "$snapshot")")" "$load"
printf '%-14s %10s %8s %8s %8s %7s %8s\n' server req/s p50-ms p99-ms non-2xx errors bytes
declare -A rps p99 bad
for name in iommud nginx node-exporter; do
        read -r r p50 p nb err < <(median "$name")
        rps[$name]=$r p99[$name]=$p bad[$name]=$((nb + err))
        printf '%-14s %10.0f %8.3f %8.3f %8d %7d %8d\n' "$name" "$r" "$p50" "$p" "$nb" "$err" "$(size "${port[$name]}")"
done
ratio_nginx=$(awk -v a="${rps[iommud]}" -v b="${rps[nginx]}" 'BEGIN { printf "%.2f", a / b }')
ratio_node=$(awk -v a="${rps[iommud]}" -v b="${rps[node-exporter]}" 'BEGIN { printf "%.1f", a / b }')
printf 'iommud/nginx %s, iommud/node-exporter %s (req/s)\n' "$ratio_nginx" "$ratio_node"

# RSS: after REQUESTS requests in all, against the one after the warm-up
for _ in $(seq 1000); do
        [ "$served" -ge "$requests" ] && break
        line=$(run "$iommud_port" 5)
        served=$((served + $(awk '{ print $2 }' <<<"$line")))
        bad[iommud]=$((bad[iommud] + $(awk '{ print $6 + $7 }' <<<"$line")))
done
end=$(rss_kib "$iommud_pid")
printf 'iommud RSS %d KiB after the warm-up, %d KiB after %d requests (%+d KiB)\n' "$warm" "$end" "$served" \
        $((end - warm))

missed=0
check() { # TEXT CONDITION...
        local text=$1
        shift
        if "$@"; then
                echo "target met:    $text"
        else
                echo "target MISSED: $text"
                missed=1
        fi
}
awk_true() { awk "BEGIN { exit !($1) }"; }
check "iommud >= 50% of nginx's req/s ($ratio_nginx)" awk_true "${rps[iommud]} >= 0.5 * ${rps[nginx]}"
check "iommud >= 20,000 req/s ($(printf %.0f "${rps[iommud]}"))" awk_true "${rps[iommud]} >= 20000"
check "iommud p99 < 5 ms (${p99[iommud]} ms)" awk_true "${p99[iommud]} < 5"
check "iommud: no non-2xx answers, no socket errors (${bad[iommud]})" [ "${bad[iommud]}" -eq 0 ]
check "iommud RSS < 16 MiB after $served requests ($end KiB)" [ "$end" -lt 16384 ]
check "iommud RSS does not grow (${warm} -> ${end} KiB)" [ $((end - warm)) -le 256 ]
exit $missed
