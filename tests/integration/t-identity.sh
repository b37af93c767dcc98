# Each entry carries its producer's kernel-verified identity, not the relay's.
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=id$$

# A producer running as nobody:nogroup; it reports its own pid first.
# It stays a moment after writing: mpsrd reads its name from /proc at accept.
pid=$( (printf '%s\n' "$tag from nobody"; sleep 1) | ct setpriv --reuid=65534 --regid=65534 --clear-groups \
	sh -c 'echo $$; exec socat -u - UNIX-CONNECT:/run/mpsr.sock' | head -n1)
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag from nobody")" = 1 ] || fail "line not stored"
entry=$(ct journalctl -q -u mpsr MESSAGE="$tag from nobody" -o export)
for f in "MPSR_UID=65534" "MPSR_GID=65534" "MPSR_PID=$pid" "SYSLOG_PID=$pid" "MPSR_COMM=socat"; do
	printf '%s\n' "$entry" | grep -qx "$f" || fail "entry lacks $f"
done
# journald's own fields name mpsrd, as they must: producers cannot set them.
printf '%s\n' "$entry" | grep -qx "_SYSTEMD_UNIT=mpsr.service" || fail "entry not from mpsr.service"
# And journalctl filters work as people expect.
[ "$(ct journalctl -q -o cat -u mpsr MPSR_UID=65534 | grep -c "^$tag")" = 1 ] || fail "MPSR_UID= filter"
[ "$(ct journalctl -q -o cat -u mpsr -t socat | grep -c "^$tag")" = 1 ] || fail "-t socat filter"
echo "uid/gid/pid/comm of a nobody producer recorded"
