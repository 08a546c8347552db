# Failover figures on Galera, sourced by tools/mogbench/galera.sh (it uses
# its start_site, stop_site, port_of, $bin, $var and $galera): two trackers,
# tracker 1 on node 1 (then 2, 3), tracker 2 on node 2 (then 3, 1).
#  1. kill -9 of node 1 -> first upload acknowledged through tracker 1
#  2. node 1 restarted (galera.sh restart returns once it is synced) ->
#     tracker 1 logs that it is back on it
#  3. kill -9 of the tracker holding the job-master lease -> the other holds a
#     live lease (polled every 0.1 s on node 2), and its log line

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
sql2() { mariadb -h127.0.0.1 -P"$(port_of "${galera[1]}")" -uroot -N -B mogbench -e "$1"; }
# lease: the live job-master lease's holder, or nothing
lease() { sql2 "SELECT holder FROM tracker_lock WHERE name = 'mgfs:job_master' AND expires >= UNIX_TIMESTAMP()" 2>/dev/null || true; }

echo "failover: two trackers on the 3-node Galera cluster..." >&2
start_site galera 2
head -c 4096 /dev/urandom >"$var/probe"
up1() { timeout 30 "$bin/mogupload" --trackers=127.0.0.1:7101 --domain=bench --class=one --key="probe-$1" --file="$var/probe" >/dev/null 2>&1; }
up1 warm || { echo "upload through tracker 1 fails before any fault" >&2; exit 1; }

t0=$(now)
scripts/galera.sh kill "$var/galera" 1
i=0
until up1 "after-kill-$i"; do i=$((i + 1)); done
node_failover=$(since "$t0")
echo "node 1 killed: first upload through tracker 1 after ${node_failover}s ($i failed attempts)" >&2

backs=$(grep -c 'database server is back' "$var/c/mogilefsd.log" || true)
scripts/galera.sh restart "$var/galera" 1 >/dev/null
t0=$(now)
for _ in $(seq 1 600); do
	[ "$(grep -c 'database server is back' "$var/c/mogilefsd.log" || true)" -gt "$backs" ] && break
	sleep 0.1
done
node_failback=$(since "$t0")
echo "node 1 synced again: tracker 1 back on it after ${node_failback}s" >&2

for _ in $(seq 1 600); do
	holder=$(lease)
	[ -n "$holder" ] && break
	sleep 0.1
done
[ -n "$holder" ] || { echo "no job master" >&2; exit 1; }
pid=$(awk -F: '{print $(NF-1)}' <<<"$holder")
log=$var/c/mogilefsd.log other=$var/tracker2.log
[ "$pid" = "$tpid" ] && { log=$var/tracker2.log other=$var/c/mogilefsd.log; }
t0=$(now)
kill -9 "$pid"
for _ in $(seq 1 900); do
	h=$(lease)
	[ -n "$h" ] && [ "$h" != "$holder" ] && break
	sleep 0.1
done
jm_takeover=$(since "$t0")
[ -n "$h" ] && [ "$h" != "$holder" ] || { echo "no takeover within 90 s" >&2; exit 1; }
echo "job master (pid $pid) killed: lease held by the other tracker after ${jm_takeover}s" >&2
grep -h 'job master: this tracker is' "$log" "$other" >&2 || true
stop_site galera

printf '\n| event (2 trackers, 3-node Galera) | time |\n|---|---|\n'
printf '| kill -9 of tracker 1'"'"'s node -> first upload through tracker 1 | %s s |\n' "$node_failover"
printf '| node restarted and synced -> tracker 1 back on it | %s s |\n' "$node_failback"
printf '| kill -9 of the job master -> the other tracker holds the lease | %s s |\n' "$jm_takeover"
