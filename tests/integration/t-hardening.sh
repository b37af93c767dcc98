# The sandboxed unit: its exposure score stays at 0.5 or lower, it is in no
# group (the journal is read back by mpsr-readback, whose own score stays at
# 0.5 or lower too), and under it
# mpsr still records an unprivileged producer's true identity, writes to the
# journal, pings the watchdog and keeps connections in the fd store. And the
# SocketGroup= recipe: only the group's members may log.

tag="hardening-$$-$RANDOM"
fifo=/run/t-hardening.fifo
dropin=/run/systemd/system/mpsr.service.d/50-t-hardening.conf
groupdropin=/run/systemd/system/mpsr.socket.d/50-t-hardening-group.conf
example=${BASH_SOURCE[0]%/*}/../../units/socket-group.conf.example
holder=
cleanup() {
	[ -n "$holder" ] && ct kill "$holder" 2>/dev/null
	ct rm -f "$fifo" "$fifo.msg" "$dropin" "$groupdropin" /usr/local/bin/mpsr-hard-prod
	ct systemctl daemon-reload
	# Back to the units as installed (mode 0666, the unit's own watchdog
	# period) for the cases that follow.
	ct systemctl stop mpsr.service mpsr.socket
	ct systemctl start mpsr.socket
	ct groupdel mpsr-producers 2>/dev/null
}
trap cleanup EXIT

main_pid() { ct systemctl show -P MainPID mpsr.service; }

# 1. The score, as an administrator would ask for it.
out=$(ct systemd-analyze security --no-pager mpsr.service 2>&1)
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for mpsr.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no score in: $(printf '%s\n' "$out" | tail -3)"
echo "exposure: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 0.5) }' ||
	fail "exposure $score > 0.5:$(printf '\n%s' "$out" | grep '✗')"
out=$(ct systemd-analyze security --no-pager mpsr-readback@0.service 2>&1)
rscore=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for mpsr-readback@0.service: \([0-9.]*\).*/\1/p')
[ -n "$rscore" ] || fail "no score for the reader in: $(printf '%s\n' "$out" | tail -3)"
echo "the reader's exposure: $rscore"
awk -v s="$rscore" 'BEGIN { exit !(s <= 0.5) }' ||
	fail "the reader's exposure $rscore > 0.5:$(printf '\n%s' "$out" | grep '✗')"

# A short watchdog period, so a sandbox that blocked WATCHDOG=1 shows within seconds.
ct mkdir -p "${dropin%/*}"
ct_sh "printf '[Service]\nWatchdogSec=2s\n' >$dropin"
ct systemctl daemon-reload
ct systemctl start mpsr.socket || fail "cannot start mpsr.socket"
ct systemctl restart mpsr.service || fail "cannot start mpsr.service"

# 2. The sandbox is really applied to the running process.
pid=$(main_pid)
[ "$pid" -gt 0 ] 2>/dev/null || fail "mpsr.service has no main pid"
st=$(ct cat "/proc/$pid/status")
uid=$(printf '%s\n' "$st" | awk '/^Uid:/ { print $2 }')
[ "$uid" != 0 ] || fail "mpsrd runs as root"
printf '%s\n' "$st" | grep -q '^CapEff:[[:space:]]*0*$' || fail "mpsrd has capabilities"
printf '%s\n' "$st" | grep -q '^NoNewPrivs:[[:space:]]*1$' || fail "NoNewPrivs is not set"
printf '%s\n' "$st" | grep -q '^Seccomp:[[:space:]]*2$' || fail "no system call filter"
# No group but its own: above all not systemd-journal, which reads every log
# on the host. (The service manager lists the user's own group there.)
gid=$(printf '%s\n' "$st" | awk '/^Gid:/ { print $2 }')
groups=$(printf '%s\n' "$st" | sed -n 's/^Groups:[[:space:]]*//p' | tr -s ' \t' '\n' | grep -vx "$gid" | grep .)
[ -z "$groups" ] || fail "mpsrd is in groups $(printf '%s ' $groups)(its own: $gid)"
echo "mpsrd's $(printf '%s\n' "$st" | grep '^Groups:' | tr -s ' \t' ' ') (its own group $gid)"

# 3. A producer that is neither root nor the service's user, with a name of its own.
ct cp /usr/bin/socat /usr/local/bin/mpsr-hard-prod
ct mkfifo -m 0666 "$fifo"
prod=$(ct_sh "setpriv --reuid=nobody --regid=nogroup --clear-groups \
	/usr/local/bin/mpsr-hard-prod -u OPEN:$fifo UNIX-CONNECT:/run/mpsr.sock \
	</dev/null >/dev/null 2>&1 & echo \$!")
# Holds the fifo open, so the producer's connection outlives each write below.
holder=$(ct_sh "sleep 300 >$fifo </dev/null 2>/dev/null & echo \$!")
ct_sh "echo '$tag one' >$fifo"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag one")" = 1 ] || fail "line one not stored once"
entry=$(ct journalctl -q -u mpsr MESSAGE="$tag one" -o export)
nobody=$(ct id -u nobody) nogroup=$(ct id -g nobody)
for f in "MPSR_PID=$prod" "MPSR_UID=$nobody" "MPSR_GID=$nogroup" MPSR_COMM=mpsr-hard-prod \
	SYSLOG_IDENTIFIER=mpsr-hard-prod MPSR_TRANSPORT=stream; do
	printf '%s\n' "$entry" | grep -qx "$f" || fail "stream entry lacks $f: $(printf '%s\n' "$entry" | grep ^MPSR_)"
done

# Datagrams carry credentials per message (SCM_CREDENTIALS), also through the sandbox.
# (The sender exits at once, so its comm may be gone before mpsrd looks.)
ct_sh "echo '$tag dgram' >$fifo.msg"
dprod=$(ct setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c \
	"echo \$\$; exec socat -u OPEN:$fifo.msg UNIX-SENDTO:/run/mpsr.dgram") ||
	fail "cannot send a datagram"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag dgram")" = 1 ] || fail "datagram not stored once"
entry=$(ct journalctl -q -u mpsr MESSAGE="$tag dgram" -o export)
for f in "MPSR_PID=$dprod" "MPSR_UID=$nobody" "MPSR_GID=$nogroup" MPSR_TRANSPORT=datagram; do
	printf '%s\n' "$entry" | grep -qx "$f" || fail "datagram entry lacks $f"
done

# 4. The fd store: the holder that keeps the connection is with systemd too
# (its two ends, whatever the number of producers); step 6 shows it kept it.
n=$(ct systemctl show -P NFileDescriptorStore mpsr.service)
[ "$n" -ge 2 ] && [ "$n" -le 8 ] || fail "fd store holds $n fds with a producer connected, want the holder's 2 to 8"

# 5. The watchdog: 2.5 periods later, still the same process, pings seen.
w0=$(ct systemctl show -P WatchdogTimestampMonotonic mpsr.service)
sleep 5
[ "$(main_pid)" = "$pid" ] || fail "mpsrd was restarted (watchdog?): $(ct systemctl show -P Result mpsr.service)"
w1=$(ct systemctl show -P WatchdogTimestampMonotonic mpsr.service)
[ "$w1" -gt "$w0" ] || fail "no watchdog ping in 5 s (WatchdogSec=2s)"

# 6. A crash: the same connection goes on with the next mpsrd, identity intact.
ct systemctl kill --kill-who=main -s KILL mpsr.service || fail "cannot kill mpsrd"
for i in $(seq 50); do
	new=$(main_pid)
	[ "$new" -gt 0 ] && [ "$new" != "$pid" ] && break
	sleep 0.2
done
[ "$new" != "$pid" ] && [ "$new" -gt 0 ] || fail "mpsr.service did not come back after SIGKILL"
ct_sh "echo '$tag two' >$fifo"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag two" MPSR_PID="$prod" MPSR_UID="$nobody")" = 1 ] ||
	fail "line two (after the restart, same connection) not stored once"
echo "uid $uid, producer $prod, fd store $n, watchdog pings at $w0 -> $w1 us"

# 7. Access for one group only, with the shipped drop-in recipe.
ct groupadd --system mpsr-producers || fail "groupadd"
ct mkdir -p "${groupdropin%/*}"
ct sh -c "cat >$groupdropin" <"$example" || fail "cannot install $example"
ct systemctl daemon-reload
ct systemctl restart mpsr.socket || fail "mpsr.socket does not start with the group drop-in"
for s in /run/mpsr.sock /run/mpsr.dgram /run/mpsr.record; do
	m=$(ct stat -c '%a %G' "$s")
	[ "$m" = "660 mpsr-producers" ] || fail "$s is '$m', want '660 mpsr-producers'"
done
outsider="setpriv --reuid=nobody --regid=nogroup --clear-groups"
member="setpriv --reuid=nobody --regid=nogroup --groups=mpsr-producers"
err=$(ct_sh "echo '$tag outsider' | $outsider socat -u - UNIX-CONNECT:/run/mpsr.sock" 2>&1) &&
	fail "a user outside the group could connect"
case "$err" in *"Permission denied"*) ;; *) fail "outsider: want EACCES, got: $err" ;; esac
err=$(ct_sh "echo '$tag outsider' | $outsider socat -u - UNIX-SENDTO:/run/mpsr.dgram" 2>&1) &&
	fail "a user outside the group could send a datagram"
case "$err" in *"Permission denied"*) ;; *) fail "outsider datagram: want EACCES, got: $err" ;; esac
ct_sh "echo '$tag member' | $member socat -u - UNIX-CONNECT:/run/mpsr.sock" ||
	fail "a member of the group cannot connect"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag member" MPSR_UID="$nobody")" = 1 ] ||
	fail "the member's line was not stored once"
[ "$(ct journalctl -q -o cat -u mpsr MESSAGE="$tag outsider" | wc -l)" = 0 ] ||
	fail "the outsider's line was stored"
echo "socket group: outsider gets EACCES, member logs"
