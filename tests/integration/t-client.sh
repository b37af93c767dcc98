# mpsr-send as users run it: a message, stdin, a command; exit codes and errors.
ct systemctl start mpsr.socket || fail "mpsr.socket"

tag=cli$$
# Identifier and priority as logger users write them.
ct mpsr-send -t "$tag" -p err "x" || fail "mpsr-send -t -p exited $?"
n=$(ct_wait_count 1 10 SYSLOG_IDENTIFIER="$tag")
[ "$n" = 1 ] || fail "message stored $n times"
entry=$(ct journalctl -u mpsr SYSLOG_IDENTIFIER="$tag" -o export)
for f in SYSLOG_IDENTIFIER="$tag" PRIORITY=3 MESSAGE=x MPSR_TRANSPORT=record MPSR_COMM=mpsr-send; do
	printf '%s\n' "$entry" | grep -qx "$f" || fail "entry lacks $f"
done
ct mpsr-send -t "$tag-fac" -p local3.warning "with facility" || fail "facility.level"
ct_wait_count 1 10 SYSLOG_IDENTIFIER="$tag-fac" PRIORITY=4 SYSLOG_FACILITY=19 >/dev/null
[ "$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag-fac" PRIORITY=4 SYSLOG_FACILITY=19)" = "with facility" ] ||
	fail "local3.warning not stored as PRIORITY=4 SYSLOG_FACILITY=19"

# --help and --version.
ct mpsr-send --help | grep -q -- '--tag' || fail "--help does not describe --tag"
ct mpsr-send --version | grep -qx 'mpsr-send [0-9][0-9.]*' || fail "--version"
ct mpsr-send -p bogus x 2>/dev/null
[ $? = 1 ] || fail "a bad priority must exit 1"
ct mpsr-send --field MPSR_PID=1 x 2>/dev/null
[ $? = 1 ] || fail "a reserved --field must exit 1"

# No socket, or nobody listening: exit 2 and a message naming the path.
err=$(ct mpsr-send --socket /run/no-such-mpsr.sock "lost?" 2>&1 >/dev/null)
rc=$?
[ $rc = 2 ] || fail "missing socket: exit $rc, want 2"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "missing socket: want one line, got: $err"
case "$err" in *"/run/no-such-mpsr.sock"*) ;; *) fail "error does not name the socket: $err" ;; esac
ct /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("/run/stale-mpsr.sock")'
err=$(seq 3 | ct mpsr-send --socket /run/stale-mpsr.sock 2>&1 >/dev/null)
rc=$?
[ $rc = 2 ] || fail "socket nobody listens on: exit $rc, want 2"
case "$err" in *"/run/stale-mpsr.sock"*) ;; *) fail "error does not name the socket: $err" ;; esac
ct rm -f /run/stale-mpsr.sock

# -- COMMAND: stdout and stderr relayed, the command's exit status returned.
ct mpsr-send -t "$tag-cmd" --stderr-priority=warning -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 7'
rc=$?
[ $rc = 7 ] || fail "-- COMMAND exited $rc, want the command's 7"
n=$(ct_wait_count 2 10 SYSLOG_IDENTIFIER="$tag-cmd")
[ "$n" = 2 ] || fail "command output: $n lines stored, want 2"
[ "$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag-cmd" PRIORITY=6)" = to-stdout ] || fail "stdout line"
[ "$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag-cmd" PRIORITY=4)" = to-stderr ] || fail "stderr line"
ct mpsr-send -- /nonexistent-command 2>/dev/null
[ $? = 127 ] || fail "a missing command must exit 127"

# stdin: 100,000 lines, none lost, none twice; as records (-t) and on the stream.
ct_sh "seq 100000 | mpsr-send -t $tag-in" || fail "stdin with -t exited $?"
n=$(ct_wait_count 100000 60 SYSLOG_IDENTIFIER="$tag-in")
[ "$n" = 100000 ] || fail "stdin with -t: $n of 100000 lines stored"
u=$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag-in" | sort -u | wc -l)
[ "$u" = 100000 ] || fail "stdin with -t: $u distinct lines"
ct_sh "seq 100000 | sed 's/^/$tag-plain /' | mpsr-send -p notice" || fail "plain stdin exited $?"
n=$(ct_wait_grep 100000 60 "^$tag-plain " -u mpsr MPSR_TRANSPORT=stream PRIORITY=5)
[ "$n" = 100000 ] || fail "plain stdin: $n of 100000 lines stored"
u=$(ct journalctl -q -o cat -u mpsr MPSR_TRANSPORT=stream | grep "^$tag-plain " | sort -u | wc -l)
[ "$u" = 100000 ] || fail "plain stdin: $u distinct lines"

# "<N>" at the start of a line is its priority, unless --level-prefix=no.
ct_sh "printf '<2>crit line\n' | mpsr-send -t $tag-lp; printf '<2>kept\n' | mpsr-send -t $tag-lp --level-prefix=no"
n=$(ct_wait_count 2 10 SYSLOG_IDENTIFIER="$tag-lp")
[ "$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag-lp" PRIORITY=2)" = "crit line" ] || fail "<2> prefix not read"
[ "$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag-lp" PRIORITY=6)" = "<2>kept" ] || fail "--level-prefix=no"
echo "message, facility, errors, command, 2 x 100000 stdin lines: ok"
