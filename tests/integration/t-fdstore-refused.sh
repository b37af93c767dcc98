# --fd-store with a store that keeps nothing (FileDescriptorStoreMax=0): the
# manager refuses the holder, mpsrd notices and says so, and a restart is a
# stop. A producer's unfinished line is written as it stands
# (MPSR_LINE_BREAK=stop), not staged in a ledger the manager threw away.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=refused$$
cleanup() {
	ct_sh "kill \$(cat /run/$tag.pid 2>/dev/null) 2>/dev/null"
	rb_dropin_remove 50-test-fdstore-refused
	ct systemctl restart mpsr.service
}
trap cleanup EXIT
rb_dropin 50-test-fdstore-refused "[Service]\nFileDescriptorStoreMax=0\n"
ct systemctl restart mpsr.service || fail "restart"
since=$(date +%s)
own_log() {
	ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$since"
}

# One producer: a finished line, then the start of one, and it stays connected.
ct_sh "(printf '%s\n%s' '$tag whole' '$tag unfinished'; sleep 600) | socat - UNIX-CONNECT:/run/mpsr.sock & echo \$! >/run/$tag.pid"
[ "$(ct_wait_count 1 10 MESSAGE="$tag whole")" = 1 ] || fail "the finished line"
rb_wait_producers -ge 1 10
pid0=$(rb_show MainPID)
ct systemctl restart mpsr.service || fail "restart"
[ "$(rb_show MainPID)" != "$pid0" ] || fail "not restarted"
[ "$(ct_wait_count 1 10 MESSAGE="$tag unfinished" MPSR_LINE_BREAK=stop)" = 1 ] ||
	fail "the unfinished line was lost at the restart: $(own_log | tail -n5)"
own_log | grep -q 'does not keep mpsrd.s holder' || fail "mpsrd did not say the store refused its holder"
own_log | grep -q 'this restart is a stop' || fail "mpsrd did not say the restart is a stop"
own_log | grep -E 'does not keep|restart is a stop' | sort -u
rb_check_sanitizers
