# Beyond one host: mpsr writes to the local journal, and systemd's own
# shipping (systemd-journal-upload -> systemd-journal-remote) carries its
# entries, producer fields and all, to a collector at another address.
#
# The collector lives in a network namespace of its own, joined to the
# container's by a veth pair on a private /30 that exists only in here. Its
# socket is the distribution's systemd-journal-remote.socket, moved into that
# namespace by a drop-in; plain http on this private link (production uses
# https with certificates, see README.md).

for b in /lib/systemd/systemd-journal-remote /lib/systemd/systemd-journal-upload; do
	ct test -x "$b" || skip "$b missing (package systemd-journal-remote)"
done
ct sh -c 'command -v ip' >/dev/null || skip "ip missing (package iproute2)"

ns=mpsr-collector sender=10.213.0.1 collector=10.213.0.2
remote=/var/log/journal/remote
dropins="/run/systemd/system/systemd-journal-remote.socket.d/50-t-multihost.conf
/run/systemd/system/systemd-journal-remote.service.d/50-t-multihost.conf
/run/systemd/journal-upload.conf.d/50-t-multihost.conf
/run/systemd/system/systemd-journal-upload.service.d/50-t-multihost.conf"
cleanup() {
	ct systemctl stop systemd-journal-upload.service systemd-journal-remote.service \
		systemd-journal-remote.socket 2>/dev/null
	# shellcheck disable=SC2086
	ct rm -f $dropins
	ct rm -rf "$remote"
	ct systemctl daemon-reload
	ct ip netns del "$ns" 2>/dev/null # takes the veth pair with it
}
trap cleanup EXIT

# The link: mpsr-up here (10.213.0.1), mpsr-in0 in the collector's namespace.
ct ip netns add "$ns" || fail "cannot create a network namespace"
ct ip link add mpsr-up type veth peer name mpsr-in0 netns "$ns" || fail "cannot create a veth pair"
ct ip addr add "$sender/30" dev mpsr-up
ct ip link set mpsr-up up
ct ip -n "$ns" addr add "$collector/30" dev mpsr-in0
ct ip -n "$ns" link set mpsr-in0 up
ct ip -n "$ns" link set lo up

# The collector: the packaged units, with two drop-ins.
ct mkdir -p $(for d in $dropins; do echo "${d%/*}"; done)
ct_sh "printf '[Socket]\nNetworkNamespacePath=/run/netns/$ns\n' >$(echo "$dropins" | sed -n 1p)"
ct_sh "printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-journal-remote --listen-http=-3 --output=$remote/\n' >$(echo "$dropins" | sed -n 2p)"
# The sender: systemd-journal-upload, pointed at the collector.
ct_sh "printf '[Upload]\nURL=http://$collector:19532\n' >$(echo "$dropins" | sed -n 3p)"
# A first upload starts at the journal's head; start after the last entry
# instead, so the time this takes does not grow with what earlier cases wrote.
cursor=$(ct journalctl -q -n1 -o export | sed -n 's/^__CURSOR=//p')
[ -n "$cursor" ] || fail "no journal cursor"
ct_sh "printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-journal-upload --save-state --after-cursor=%s\n' '$cursor' >$(echo "$dropins" | sed -n 4p)"
ct systemctl daemon-reload
ct systemctl start systemd-journal-remote.socket || fail "systemd-journal-remote.socket does not start"
ct systemctl start mpsr.socket || fail "mpsr.socket"
ct timeout 30 systemctl start systemd-journal-upload.service || fail "systemd-journal-upload does not start"

# A producer as nobody; it stays a moment, so mpsrd sees its comm.
tag="multihost-$$-$RANDOM"
ct_sh "{ echo '$tag'; sleep 0.5; } | setpriv --reuid=nobody --regid=nogroup --clear-groups \
	socat -u - UNIX-CONNECT:/run/mpsr.sock" || fail "socat failed"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$tag")" = 1 ] || fail "not in the local journal"
n=$(ct_wait_count 1 60 --directory="$remote" MESSAGE="$tag")
[ "$n" = 1 ] || fail "$n copies at the collector, want 1 (upload: $(ct systemctl is-active systemd-journal-upload.service))"

# The collector names its file after the sender's address, and the entry is
# whole: mpsr's producer fields and journald's trusted ones.
ct test -f "$remote/remote-$sender.journal" || fail "no $remote/remote-$sender.journal: $(ct ls "$remote")"
entry=$(ct journalctl -q --directory="$remote" MESSAGE="$tag" -o export)
uid=$(ct id -u nobody)
for f in "MPSR_UID=$uid" MPSR_COMM=socat SYSLOG_IDENTIFIER=socat MPSR_TRANSPORT=stream \
	_SYSTEMD_UNIT=mpsr.service; do
	printf '%s\n' "$entry" | grep -qx "$f" || fail "collected entry lacks $f"
done
# And the operator's query works there as it does locally.
[ "$(ct journalctl -q --directory="$remote" -o cat -u mpsr MPSR_UID="$uid" -t socat | grep -cx "$tag")" = 1 ] ||
	fail "journalctl --directory -u mpsr MPSR_UID= -t socat does not find it"
echo "$sender -> $collector:19532: entry in $remote/remote-$sender.journal"
