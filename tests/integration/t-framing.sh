# The stream framing as producers meet it: split writes, unterminated lines,
# lines longer than the maximum, NUL bytes, invalid UTF-8, priority prefixes.
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=frm$$

# Runs a producer through socat with the given socat options, prints its pid.
produce() {
	ct_sh "echo \$\$; exec socat -u $1 - UNIX-CONNECT:/run/mpsr.sock" <&0 | head -n1
}

# Byte at a time: socat -b1 writes every byte on its own.
pid=$(printf '%s\n' "$tag one byte at a time" | produce "-b1")
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag one byte at a time")" = 1 ] ||
	fail "byte-at-a-time line not stored once"
n=$(ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" | wc -l)
[ "$n" = 1 ] || fail "byte-at-a-time producer made $n entries"

# The last line without a newline is an entry of its own, marked as such.
printf '%s\n%s' "$tag first" "$tag unterminated" | produce "" >/dev/null
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag unterminated" MPSR_LINE_BREAK=eof)" = 1 ] ||
	fail "unterminated last line not stored with MPSR_LINE_BREAK=eof"

# A 200 KiB line: 48 KiB entries marked line-max, whole again when joined.
big=$(head -c 204800 /dev/zero | tr '\0' 'a')
pid=$(printf '%s\n' "$big" | produce "")
[ "$(ct_wait_count 5 10 -u mpsr MPSR_PID="$pid")" = 5 ] || fail "200 KiB line: not 5 entries"
joined=$(ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" | tr -d '\n')
[ "$joined" = "$big" ] || fail "200 KiB line not whole when joined (${#joined} bytes)"
marks=$(ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" MPSR_LINE_BREAK=line-max | wc -l)
[ "$marks" = 4 ] || fail "$marks entries marked line-max, want 4"

# A NUL ends a message, as on journald's streams (syslog clients end theirs
# so), marked MPSR_LINE_BREAK=nul; "\n\0" is one terminator. Invalid UTF-8
# passes through byte for byte (journalctl shows it as bytes).
pid=$(printf 'nul\000byte\n\000bad\377\376utf\n' | produce "")
[ "$(ct_wait_count 3 10 -u mpsr MPSR_PID="$pid")" = 3 ] || fail "NUL-ended and binary lines not stored as 3 entries"
msgs=$(ct journalctl -q -o json -u mpsr MPSR_PID="$pid" --output-fields=MESSAGE | sed 's/.*"MESSAGE":\(\[[0-9,]*\]\|"[^"]*"\).*/\1/')
want='"nul"
"byte"
[98,97,100,255,254,117,116,102]'
[ "$msgs" = "$want" ] || fail "NUL-ended or binary lines changed: $msgs"
[ "$(ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" MPSR_LINE_BREAK=nul)" = nul ] ||
	fail "the NUL-ended entry is not marked MPSR_LINE_BREAK=nul"

# "<N>" sets the priority and is not part of the text; no prefix means info
# (6); a syslog "<PRI>" (here 9: user.alert) gives priority and facility; what
# is no valid priority ("<999>") stays text.
pid=$(printf '<3>%s err\n<7>%s debug\n%s plain\n<9>%s user alert\n<999>%s not a prefix\n' "$tag" "$tag" "$tag" "$tag" "$tag" | produce "")
[ "$(ct_wait_count 5 10 -u mpsr MPSR_PID="$pid")" = 5 ] || fail "priority lines not stored"
got=$(ct journalctl -q -o json -u mpsr MPSR_PID="$pid" --output-fields=MESSAGE,PRIORITY |
	sed 's/.*"PRIORITY":"\([0-9]\)".*/\1/' | tr '\n' ' ')
[ "$got" = "3 7 6 1 6 " ] || fail "priorities $got, want 3 7 6 1 6"
[ "$(ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" -p err | tr '\n' '|')" = "$tag err|$tag user alert|" ] ||
	fail "journalctl -p err does not find exactly the <3> and <9> lines"
[ "$(ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" SYSLOG_FACILITY=1)" = "$tag user alert" ] ||
	fail "<9> does not give SYSLOG_FACILITY=1"
ct journalctl -q -o cat -u mpsr MPSR_PID="$pid" | grep -qx "<999>$tag not a prefix" ||
	fail "an invalid prefix must stay text"
echo "byte-wise, unterminated, 200 KiB, NUL, invalid UTF-8 and priorities as specified"
