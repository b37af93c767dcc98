# Many producers at once, each line stored exactly once, attributed to its producer.
ct systemctl start mpsr.socket || fail "mpsr.socket"

tag=conc$$
# 40 producers x 250 lines through the load generator, all starting together,
# and beside them socat and nc producers as users run them.
ct_sh "mpsr-load -P 40 -m 250 --hold 1 -t $tag & for i in 1 2 3 4 5; do seq 1 200 | sed \"s/^/socat-$tag \$i /\" | socat -u - UNIX-CONNECT:/run/mpsr.sock & seq 1 200 | sed \"s/^/nc-$tag \$i /\" | nc -q0 -U /run/mpsr.sock & done; wait" >/dev/null ||
	fail "a producer failed"
ct_wait_ids "$tag" 40 250 60 -u mpsr MPSR_TRANSPORT=stream || fail "load generator lines"
for kind in socat nc; do
	n=$(ct journalctl -q -o cat -u mpsr MPSR_TRANSPORT=stream | grep -c "^$kind-$tag ")
	[ "$n" = 1000 ] || fail "$kind: $n of 1000 lines stored"
	dups=$(ct journalctl -q -o cat -u mpsr MPSR_TRANSPORT=stream | grep "^$kind-$tag " | sort | uniq -d | wc -l)
	[ "$dups" = 0 ] || fail "$kind: $dups duplicated lines"
done
# Every producer's lines name that producer's pid, and only 40 load pids are seen.
pids=$(ct journalctl -q -u mpsr -o json MPSR_COMM=mpsr-load --output-fields=MESSAGE,MPSR_PID |
	grep "\"$tag " | sed 's/.*"MPSR_PID":"\([0-9]*\)".*/\1/' | sort -u | wc -l)
[ "$pids" = 40 ] || fail "$pids distinct producer pids, want 40"
echo "40x250 + 10x200 lines, each once; 40 distinct MPSR_PID"
