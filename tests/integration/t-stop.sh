# `systemctl stop` with producers connected: a clean exit, nothing received lost.
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=stop$$ line=stopline$$

# Producers that stay connected: whole lines, then an unfinished one.
ct_sh "mkfifo /run/stop-fifo; ( (printf '%s\n' '$line line one' '$line line two'; printf '%s' '$line unfinished'; cat /run/stop-fifo) | socat -u - UNIX-CONNECT:/run/mpsr.sock) >/dev/null 2>&1 </dev/null &" ||
	fail "producer"
ct mpsr-load -P 4 -m 2000 -t "$tag" --hold 30 >/dev/null 2>&1 &
load=$!
[ "$(ct_wait_count 2 10 -u mpsr MESSAGE="$line line two" + MESSAGE="$line line one")" = 2 ] ||
	fail "lines before stop not stored"
ct_wait_ids "$tag" 4 2000 30 -u mpsr MPSR_TRANSPORT=stream >/dev/null || fail "load lines before stop"
# A producer that writes as fast as it can through the stop: every line its
# write() took must be in the journal. Those written after the stop's last read
# must fail (mpsrd shuts the connections for reading first), not vanish.
race=race$$
ct_sh "python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(\"/run/mpsr.sock\")
n = 0
try:
    while True:
        s.sendall(b\"$race %d\\n\" % n)
        n += 1
except OSError:
    pass
open(\"/run/race-count\", \"w\").write(str(n))
' >/dev/null 2>&1 </dev/null &" || fail "racing producer"
[ "$(ct_wait_grep 1000 10 "^$race [0-9]*$" -u mpsr)" -ge 1000 ] || fail "racing producer not relayed"
# The unfinished line has been read by now: mpsrd holds it.
sleep 0.5
ct systemctl stop mpsr.service || fail "stop failed"
for i in $(seq 50); do ct test -s /run/race-count && break; sleep 0.2; done
written=$(ct cat /run/race-count) || fail "the racing producer's writes did not fail after the stop"
stored=$(ct_wait_grep "$written" 10 "^$race [0-9]*$" -u mpsr)
[ "$stored" -ge "$written" ] || fail "a stop lost lines a producer wrote during it: $written written, $stored stored"
echo "stop: a producer writing through the stop: $written lines written, $stored stored"
[ "$(ct systemctl show -P Result mpsr.service)" = success ] || fail "result $(ct systemctl show -P Result mpsr.service)"
[ "$(ct systemctl show -P ExecMainStatus mpsr.service)" = 0 ] || fail "exit status not 0"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$line unfinished" MPSR_LINE_BREAK=stop)" = 1 ] ||
	fail "the unfinished line was lost at stop"
ct_ids "$tag" 4 2000 -u mpsr MPSR_TRANSPORT=stream || fail "load lines changed by stop"
kill "$load" 2>/dev/null
ct_sh "rm -f /run/stop-fifo"
echo "stop: result success, exit 0, unfinished line written with MPSR_LINE_BREAK=stop"
