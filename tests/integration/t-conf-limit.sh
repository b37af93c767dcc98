# journald.conf's RateLimitIntervalSec=10s, RateLimitBurst=1000, and units
# that set nothing: unit M floods 5,000 lines through mpsr while unit J writes
# the same straight to journald (systemd-cat). In the first window mpsr stores
# no more of M's than journald stores of J's, and later all of M's, in order
# (journald drops J's rest); the journal grows by M's lines no faster than by J's.
. "$here/robust.sh"
. "$here/tenants.sh"
conf=/etc/systemd/journald.conf.d/mpsr-test-limit.conf
ct mkdir -p "${conf%/*}"
ct sh -c "printf '[Journal]\nRateLimitIntervalSec=10s\nRateLimitBurst=1000\n' >$conf"
ct systemctl restart systemd-journald
ct systemctl start mpsr.socket || fail "mpsr.socket"
ct systemctl restart mpsr.service
tag=cl$$ name=ld-conf M=cl$$m.service J=cl$$j.service N=5000
rb_loader $name
tn_user mpsr-tm >/dev/null
restore() {
	ct rm -f "$conf"
	ct systemctl restart systemd-journald
	ct systemctl restart mpsr.service
}
trap restore EXIT

tn_start $M mpsr-tm /usr/local/bin/$name -P 1 -m $N -t $tag
# Found by its identifier: an entry journald processes after its sender exited
# has no unit, and is not limited. systemd-cat outlives its input by 5 s, so
# journald knows J's unit when it reads the first line.
tn_start $J mpsr-tm sh -c "/usr/local/bin/$name --mode=exec --exec='(cat; sleep 5) | systemd-cat -t ldj$$' -P 1 -m $N -t $tag"
sleep 12
first_window() { # entries in the first 10 s after the first one
	ct journalctl -q --no-pager -o json --output-fields=__REALTIME_TIMESTAMP "$@" |
		sed -n 's/.*"__REALTIME_TIMESTAMP":"\([0-9]*\)".*/\1/p' |
		awk 'NR == 1 { a = $1 } $1 - a < 10000000 { n++ } END { print n + 0 }'
}
m=$(first_window MPSR_UNIT=$M) j=$(first_window SYSLOG_IDENTIFIER=ldj$$)
echo "first 10 s: through mpsr $m lines of $M, straight to journald $j lines of $J"
limit=$(tn_limited "$M")
echo "mpsrd holds $M to: $limit (lines, ms)"
ct_wait_gone $M 90 || fail "$M still writing"
ct_wait_ids $tag 1 $N 30 MPSR_UNIT=$M || fail "$M's lines"
tn_in_order MPSR_UNIT=$M || fail "$M's lines out of order"
jt=$(ct journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER=ldj$$ | grep -c "^$tag ")
echo "in the end: all $N of $M's lines; $jt of $J's (journald dropped the rest)"
[ "$j" -gt 0 ] || fail "nothing of J's stored: nothing to compare"
[ "$jt" -lt $N ] || fail "journald stored all of J's lines: it did not limit J, nothing to compare"
[ "$m" -le $((j + j / 20 + 10)) ] || fail "mpsr stored $m in the first window, journald $j"
rb_check_sanitizers
