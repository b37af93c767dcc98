# Record socket: a multi-line entry stays whole; identifier, priority and
# allowed fields arrive; identity fields a producer tries to set do not.
ct systemctl start mpsr.socket || fail "mpsr.socket"

tag=rec$$
# A raw producer: it prints its pid, then sends one record per argument.
send_records() {
	ct /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect("/run/mpsr.record")
print(os.getpid(), flush=True)
for r in sys.argv[1:]:
    s.send(r.encode().decode("unicode_escape").encode())
s.shutdown(socket.SHUT_WR)
s.recv(1)  # mpsrd closes once it has written everything
' "$@"
}
# Every value of field $1 in the entries journalctl ARGS... shows, one a line.
values() {
	local f=$1
	shift
	ct journalctl -q -u mpsr -o json "$@" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line).get(sys.argv[1], [])
    for x in v if isinstance(v, list) else [v]:
        print(x)
' "$f"
}
field() {
	values "$2" SYSLOG_IDENTIFIER="$1"
}

trace='Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    main()\n  File "app.py", line 2, in main\n    handle()\n  File "lib.py", line 9, in handle\n    parse(x)\n  File "lib.py", line 4, in parse\n    raise ValueError(x)\nValueError: bad input'
pid=$(send_records "SYSLOG_IDENTIFIER=$tag\nPRIORITY=2\nREQUEST_ID=42\nMPSR_PID=1\nMPSR_UID=4242\nSYSLOG_PID=1\nOBJECT_PID=1\n\n$trace") ||
	fail "record producer failed"
n=$(ct_wait_count 10 10 SYSLOG_IDENTIFIER="$tag")
[ "$n" = 10 ] || fail "stack trace: $n lines under $tag, want the 10 of one entry"
[ "$(ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag" -o json | wc -l)" = 1 ] || fail "not one entry"
[ "$(field "$tag" PRIORITY)" = 2 ] || fail "PRIORITY=$(field "$tag" PRIORITY), want 2"
[ "$(field "$tag" REQUEST_ID)" = 42 ] || fail "REQUEST_ID did not arrive"
# The identity fields are the kernel's word, each exactly once.
[ "$(field "$tag" MPSR_PID)" = "$pid" ] || fail "MPSR_PID=$(field "$tag" MPSR_PID), sender was $pid"
[ "$(field "$tag" SYSLOG_PID)" = "$pid" ] || fail "SYSLOG_PID=$(field "$tag" SYSLOG_PID), sender was $pid"
[ "$(field "$tag" MPSR_UID)" = 0 ] || fail "MPSR_UID=$(field "$tag" MPSR_UID), want 0"
[ -z "$(field "$tag" OBJECT_PID)" ] || fail "OBJECT_PID was accepted"
[ "$(field "$tag" MPSR_TRANSPORT)" = record ] || fail "MPSR_TRANSPORT"
ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$tag" -o json | grep -q '"ValueError: bad input"' &&
	fail "the text was cut"
ct journalctl -q -o cat SYSLOG_IDENTIFIER="$tag" | tail -n1 | grep -qx 'ValueError: bad input' ||
	fail "the last line of the trace is not the end of the entry"

# journald's trusted fields cannot be set: a header line starting with '_' is
# not a header line, so the packet is stored whole as text under the sender's own name.
mainpid=$(ct systemctl show -P MainPID mpsr.service)
pid=$(send_records "_PID=1\n_SYSTEMD_UNIT=evil.service\n_UID=4242\n\nforged-$tag") || fail "producer failed"
n=$(ct_wait_count 1 10 -u mpsr MPSR_PID="$pid")
[ "$n" -ge 1 ] || fail "the record with _ fields was not stored"
[ "$(values _PID MPSR_PID="$pid")" = "$mainpid" ] || fail "_PID is not mpsrd's ($mainpid) alone"
[ "$(values _SYSTEMD_UNIT MPSR_PID="$pid")" = mpsr.service ] || fail "_SYSTEMD_UNIT was forged"
[ "$(values _UID MPSR_PID="$pid")" = "$(ct systemctl show -P UID mpsr.service | sed 's/\[not set\]/0/')" ] ||
	fail "_UID was forged"
[ "$(values MPSR_UID MPSR_PID="$pid")" = 0 ] || fail "MPSR_UID"

# Through mpsr-send: a multi-line message with a tag, a priority and a field.
msg=$(printf 'line %s\n' 1 2 3 4 5 6 7 8 9 10)
ct mpsr-send -t "$tag-send" -p crit --field REQUEST_ID=7 "$msg" || fail "mpsr-send exited $?"
n=$(ct_wait_count 10 10 SYSLOG_IDENTIFIER="$tag-send")
[ "$n" = 10 ] || fail "mpsr-send message: $n lines, want 10"
[ "$(field "$tag-send" PRIORITY)" = 2 ] || fail "mpsr-send -p crit"
[ "$(field "$tag-send" REQUEST_ID)" = 7 ] || fail "mpsr-send --field"
[ "$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$tag-send" -o json | wc -l)" = 1 ] || fail "mpsr-send: not one entry"
echo "one 10-line entry per record; fields allowed and refused as documented"
