#!/bin/bash
# Look at one server under a new connection per request, the way
# docs/PERFORMANCE.md ("Third pass") did: the server on core 0, `wrk -t1
# -c64 -H 'Connection: close'` on core 1, 1 s of warm-up first.
#
#   close-probe.sh cpu      NAME PORT CMD...  server and wrk CPU per request, p99 (5 s)
#   close-probe.sh syscalls NAME PORT CMD...  system calls of the server in 2 s (perf stat)
#   close-probe.sh profile  NAME PORT CMD...  kernel + user profile, 3 s, to /tmp/perf.NAME.data
#
# CMD must listen on 127.0.0.1:PORT and serve GET /plaintext; for example
#   close-probe.sh cpu netrunner 8311 target/release/netrunner-server --addr 127.0.0.1:8311 --threads 1
# Needs wrk, and perf for the last two (root, or perf_event_paranoid <= 1).
# Interleave servers and repeat: on a shared machine one run means little.
set -euo pipefail
mode=$1 name=$2 port=$3
shift 3
url=http://127.0.0.1:$port/plaintext
load() { taskset -c 1 wrk -t1 -c64 -H 'Connection: close' "$@" "$url"; }
# utime + stime of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

taskset -c 0 "$@" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
sleep 0.7
load -d1s >/dev/null

case $mode in
cpu)
    hz=$(getconf CLK_TCK)
    before=$(ticks $server)
    /usr/bin/time -f "%U %S" -o "/tmp/close-probe.$name.wrk" \
        taskset -c 1 wrk -t1 -c64 -d5s --latency -H 'Connection: close' "$url" \
        >"/tmp/close-probe.$name.out"
    after=$(ticks $server)
    n=$(awk '/requests in/ {print $1}' "/tmp/close-probe.$name.out")
    p99=$(awk '$1 == "99%" {print $2}' "/tmp/close-probe.$name.out")
    read -r wu ws <"/tmp/close-probe.$name.wrk"
    awk -v name="$name" -v n="$n" -v t="$((after - before))" -v hz="$hz" \
        -v wu="$wu" -v ws="$ws" -v p99="$p99" 'BEGIN {
        printf "%-10s %7d req/s  server %6.2f us/req  wrk %6.2f us/req  p99 %s\n",
            name, n / 5, t / hz * 1e6 / n, (wu + ws) * 1e6 / n, p99 }'
    ;;
syscalls)
    load -d5s >/dev/null &
    client=$!
    sleep 1
    perf stat -p $server -e 'syscalls:sys_enter_accept4,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_writev,syscalls:sys_enter_close' \
        -- sleep 2 2>&1 | grep syscalls
    wait $client
    ;;
profile)
    load -d6s >"/tmp/close-probe.$name.out" &
    client=$!
    sleep 1.5
    perf record -q -e cpu-clock -F 4000 -g -p $server -o "/tmp/perf.$name.data" -- sleep 3
    wait $client
    grep Requests/sec "/tmp/close-probe.$name.out"
    perf report -i "/tmp/perf.$name.data" --children --sort sym -g none --stdio 2>/dev/null |
        grep -E '\[\.\] (__send|__close|accept4|epoll_wait|__libc_recv|epoll_ctl|__GI___writev)$'
    ;;
*)
    echo "unknown mode $mode (cpu, syscalls, profile)" >&2
    exit 2
    ;;
esac
