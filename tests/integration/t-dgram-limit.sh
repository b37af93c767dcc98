# Datagrams cannot be held back one sender at a time (one queue holds every
# sender's): a unit limited to 500 a second sends 5,000 at once; what its
# window refuses is dropped and reported as journald reports its own drops
# (MESSAGE_ID=a596d6fe..., N_DROPPED=, MPSR_UNIT=, MPSR_UID=): stored +
# reported = 5,000, exactly, even with mpsrd stopped right after the last one.
. "$here/robust.sh"
. "$here/tenants.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=dg$$ unit=dg$$.service M=5000
tn_load $unit mpsr-td ld-dgram 500 --mode=dgram -s /run/mpsr.dgram -P 1 -m $M -t $tag
ct_wait_gone $unit 30 || fail "$unit still sending"
# Stopped at once: the drops of the last window are reported at the stop, not lost.
ct systemctl stop mpsr.service
stored() { ct journalctl -q --no-pager -o cat MPSR_UNIT=$unit | grep -c "^$tag "; }
dropped() {
	ct journalctl -q --no-pager -o json -u mpsr MESSAGE_ID=a596d6fe7bfa4994828e72309e95d61e \
		MPSR_UNIT=$unit | sed -n 's/.*"N_DROPPED":"\([0-9]*\)".*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}
for i in $(seq 50); do
	s=$(stored) d=$(dropped)
	[ $((s + d)) -ge $M ] && break
	sleep 0.2
done
echo "stored $s, reported dropped $d, of $M"
ct journalctl -q --no-pager -o cat -u mpsr MESSAGE_ID=a596d6fe7bfa4994828e72309e95d61e MPSR_UNIT=$unit | head -3
[ "$d" -gt 0 ] || fail "nothing dropped: the limit did not hold"
[ $((s + d)) = $M ] || fail "stored + dropped = $((s + d)), not $M"
uid=$(ct id -u mpsr-td)
n=$(ct journalctl -q --no-pager -o cat -u mpsr MESSAGE_ID=a596d6fe7bfa4994828e72309e95d61e \
	MPSR_UNIT=$unit MPSR_UID=$uid | wc -l)
[ "$n" -ge 1 ] || fail "the report does not name uid $uid"
rb_check_sanitizers
