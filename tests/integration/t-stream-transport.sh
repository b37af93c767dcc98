# mpsrd --transport=stream, set the way the README says (a drop-in replacing
# ExecStart=): stream producers' lines reach the journal through journald's
# stdout stream, each exactly once, under the producer's name and with its
# priority. The drop-in goes again at the end, and mpsrd with it.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
exec_start=$(ct systemctl cat mpsr.service | sed -n 's/^ExecStart=\(.*mpsrd.*\)/\1/p' | tail -n1)
[ -n "$exec_start" ] || fail "no ExecStart= for mpsrd"
dropin=/run/systemd/system/mpsr.service.d/50-t-stream-transport.conf
cleanup() {
	ct rm -f $dropin
	ct systemctl daemon-reload
	# The next producer starts mpsrd again, as installed.
	ct systemctl stop mpsr.service
}
trap cleanup EXIT
ct mkdir -p "${dropin%/*}"
ct_sh "printf '[Service]\nExecStart=\nExecStart=%s --transport=stream\n' '$exec_start' >$dropin"
ct systemctl daemon-reload
ct systemctl restart mpsr.service || fail "mpsr.service does not start with --transport=stream"
pid=$(rb_show MainPID)
ct cat "/proc/$pid/cmdline" | tr '\0' ' ' | grep -q -- '--transport=stream' ||
	fail "mpsrd runs without --transport=stream: $(ct cat "/proc/$pid/cmdline" | tr '\0' ' ')"

tag=strm$$ name=ld-stream
rb_loader $name
ct $name -P 8 -m 5000 -t $tag || fail "a producer's write failed"
# socat stays a moment after writing: mpsrd reads its name when it accepts.
ct_sh "{ printf '<3>%s err\n%s plain\n' $tag $tag; sleep 1; } | socat -u - UNIX-CONNECT:/run/mpsr.sock" ||
	fail "socat failed"
# Found only among journald's stdout-stream entries: native ones (the
# default transport) would not count.
ct_wait_ids $tag 8 5000 60 SYSLOG_IDENTIFIER=$name _TRANSPORT=stdout _SYSTEMD_UNIT=mpsr.service ||
	fail "lines lost, doubled or cut"
n=$(ct journalctl -q -o cat SYSLOG_IDENTIFIER=$name + MPSR_TRANSPORT=stream | grep -c "^$tag ")
[ "$n" = 40000 ] || fail "$n lines of $name in all, want 40000 (some relayed natively as well?)"
[ "$(ct_wait_count 1 10 -u mpsr _TRANSPORT=stdout MESSAGE="$tag err" PRIORITY=3)" = 1 ] ||
	fail "'<3>' line not stored once with PRIORITY=3"
[ "$(ct_wait_count 1 10 -u mpsr _TRANSPORT=stdout MESSAGE="$tag plain" PRIORITY=6 SYSLOG_IDENTIFIER=socat)" = 1 ] ||
	fail "plain line not stored once with PRIORITY=6 under socat"
[ "$(rb_show MainPID)" = "$pid" ] || fail "mpsrd was restarted ($pid -> $(rb_show MainPID))"
rb_check_dropped
rb_check_sanitizers
echo "8 x 5000 lines and a socat producer through journald's stdout stream, each once"
