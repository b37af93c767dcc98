# Hostile and broken producers: NUL bytes, invalid UTF-8, a 5 MB line, one byte
# a second, producers killed mid-line, connections that send nothing, 3,000 idle
# connections, a flood of records with forbidden fields. mpsrd never crashes or
# restarts, keeps serving a well-behaved producer, stores what can be stored,
# and its own diagnostics stay few.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
ct_sh "printf 'hostile begins\n' | socat - UNIX-CONNECT:/run/mpsr.sock" || fail "first producer"
for i in $(seq 50); do [ "$(rb_show MainPID)" != 0 ] && break; sleep 0.1; done
pid=$(rb_show MainPID) restarts0=$(rb_show NRestarts)
# Each hostile producer under a name of its own, to find its entries.
for n in hs-nul hs-utf8 hs-big hs-slow hs-vanish; do ct cp "$(ct sh -c 'command -v socat')" /usr/local/bin/$n; done
rb_loader ld-hostile
sock=UNIX-CONNECT:/run/mpsr.sock
tag=host$$

# 3,000 connections that send nothing, held open throughout.
ct python3 "$CT_TOOLS/many-conns" -n 3000 --tag $tag-idle --comm hs-idle --ctl /run/hostile$$ &
idle=$!
# One byte a second, and a producer killed mid-line.
ct_sh "(for c in s l o w - $tag; do printf %s \$c; sleep 1; done; echo) | hs-slow -u - $sock" &
slow=$!
ct_sh "(printf 'vanished mid-line $tag'; sleep 3) 2>/dev/null | hs-vanish -u - $sock >/dev/null 2>&1 & sleep 1; pkill -KILL -x hs-vanish"
# 1,000 connections that open and close without a byte.
ct python3 -c "
import socket
for i in range(1000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect('/run/mpsr.sock')
    s.close()
" || fail "connect and close"
# A NUL ends a message; invalid UTF-8 is stored as the bytes it is.
ct_sh "printf '$tag nul a\000b\n' | hs-nul -u - $sock" || fail "nul"
ct_sh "printf '$tag utf8 \377\376\300\n' | hs-utf8 -u - $sock" || fail "utf8"
# A line of 5,000,000 bytes: 101 entries of 49,152 bytes, then the rest at EOF.
ct_sh "head -c 5000000 /dev/zero | tr '\\000' y | hs-big -u - $sock" || fail "big"
# 2,000 records with fields no producer may set: refused, counted, rarely logged.
ct python3 -c "
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect('/run/mpsr.record')
for i in range(2000):
    s.send(b'MPSR_PID=1\nOBJECT_PID=1\n\n$tag record %d' % i)
" || fail "records"
# Meanwhile a well-behaved producer is served as always.
ct ld-hostile -P 4 -m 5000 -r 2000 -t $tag || fail "the well-behaved producer's write failed"
wait $slow

ct touch /run/hostile$$.end
wait $idle || fail "an idle connection was dropped"
# Leave no producers behind for the next case: wait until mpsrd counts them gone.
for i in $(seq 50); do
	n=$(rb_show StatusText | sed -n 's/^\([0-9]*\) producers.*/\1/p')
	[ "${n:-0}" -lt 3000 ] && break
	sleep 0.2
done
ct rm -f /run/hostile$$.*

ct_wait_ids $tag 4 5000 60 SYSLOG_IDENTIFIER=ld-hostile || fail "the well-behaved producer's lines"
echo "well-behaved, write to journald: $(ct journalctl -q --no-pager -o json SYSLOG_IDENTIFIER=ld-hostile | "$here/latency")"
[ "$(ct_wait_count 1 10 SYSLOG_IDENTIFIER=hs-slow MESSAGE=slow-$tag)" = 1 ] || fail "the slow line is not one entry"
[ "$(ct_wait_count 1 10 SYSLOG_IDENTIFIER=hs-vanish MPSR_LINE_BREAK=eof)" = 1 ] || fail "the vanished producer's line"
# (Found by their text: a producer gone before mpsrd reads its name is "unknown".)
# A NUL ends a message (as on journald's streams): "a" is an entry marked so, and
# "b" the next one from the same producer. (Found by text and the kernel's pid:
# a producer gone before mpsrd reads its name is "unknown".)
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag nul a" MPSR_LINE_BREAK=nul)" = 1 ] ||
	fail "the text before a NUL byte is not an entry marked MPSR_LINE_BREAK=nul"
nulpid=$(ct journalctl -q --no-pager -u mpsr MESSAGE="$tag nul a" -o export | sed -n 's/^MPSR_PID=//p')
[ "$(ct journalctl -q --no-pager -o cat -u mpsr MPSR_PID="$nulpid")" = "$tag nul a
b" ] || fail "the text after a NUL byte is not an entry of its own"
ct journalctl -q --no-pager -o cat -u mpsr MPSR_TRANSPORT=stream | tr '\377\376\300' '%%%' |
	grep -qx "$tag utf8 %%%" || fail "the invalid UTF-8 line"
n=$(ct_wait_count 102 20 SYSLOG_IDENTIFIER=hs-big)
bytes=$(ct journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER=hs-big | tr -d '\n' | wc -c)
cut=$(ct journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER=hs-big MPSR_LINE_BREAK=line-max | wc -l)
echo "5 MB line: $n entries, $cut marked line-max, $bytes bytes"
[ "$n" = 102 ] && [ "$cut" = 101 ] && [ "$bytes" = 5000000 ] || fail "the 5 MB line was not stored whole"

[ "$(rb_show MainPID)" = "$pid" ] || fail "mpsrd was restarted: $pid -> $(rb_show MainPID)"
[ "$(rb_show NRestarts)" = "$restarts0" ] || fail "mpsrd crashed"
status=$(rb_show StatusText)
case "$status" in *" 4000 fields refused"*) ;; *) fail "refused fields not counted: $status" ;; esac
own=$(rb_own_lines)
echo "mpsrd's own log lines during the case: $own"
ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since" | sort | uniq -c | sort -rn | head -5
[ "$own" -le 40 ] || fail "mpsrd logged $own lines of its own: not rate-limited"
rss=$(ct sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$pid/status)
echo "mpsrd peak RSS: $rss kB"
rb_check_dropped
rb_check_sanitizers
