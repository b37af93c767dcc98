# No uid takes the unfinished-line budget: with --unfinished-max=4 MiB and a
# uid's share of a quarter (--max-connections=400, --max-connections-per-user=100),
# unit H of one uid leaves 100 unfinished lines of 48,000 bytes (more than the
# whole budget); unit O of another uid then leaves 20 (within its share). H's
# lines beyond its share are written as they stand (MPSR_LINE_BREAK=budget);
# O's are kept whole: none of them is split.
. "$here/robust.sh"
. "$here/tenants.sh"
dropin=/etc/systemd/system/mpsr.service.d/unfinished-share.conf
ctl=/run/unfs$$ H=unfh$$.service O=unfo$$.service
restore() {
	ct touch $ctl/h.close $ctl/o.close
	ct rm -f "$dropin"
	ct systemctl daemon-reload
	ct systemctl restart mpsr.service
}
trap restore EXIT
exe=$(ct systemctl show -P ExecStart mpsr.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
ct mkdir -p "${dropin%/*}" $ctl
ct chmod 0777 $ctl
ct sh -c "printf '[Service]\nExecStart=\nExecStart=%s --fd-store --max-connections=400 --max-connections-per-user=100 --unfinished-max=4194304\n' $exe >$dropin"
ct systemctl daemon-reload
ct systemctl restart mpsr.socket mpsr.service || fail "mpsr"
tn_user mpsr-th >/dev/null
tn_user mpsr-to >/dev/null
size=48000 tag=unfs$$

# started STATE-FILE: waits until the producer has written all its unfinished lines.
started() {
	local i
	for i in $(seq 100); do
		ct grep -q started "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
tn_start $H mpsr-th -p LimitNOFILE=1024 /usr/bin/python3 $CT_TOOLS/unfinished-lines -n 100 \
	--size $size --tag $tag --comm unfs-h --ctl $ctl/h
started $ctl/h.state || fail "H did not start its lines"
sleep 2
tn_start $O mpsr-to /usr/bin/python3 $CT_TOOLS/unfinished-lines -n 20 \
	--size $size --tag $tag --comm unfs-o --ctl $ctl/o
started $ctl/o.state || fail "O did not start its lines"
sleep 2
ct touch $ctl/h.go $ctl/o.go
n=$(ct_wait_grep 20 20 "^$tag .* end$" -u mpsr SYSLOG_IDENTIFIER=unfs-o)
[ "$n" = 20 ] || fail "O's lines: $n of 20 ended"
ct_wait_grep 100 20 " end$" -u mpsr SYSLOG_IDENTIFIER=unfs-h >/dev/null
hb=$(ct journalctl -q --no-pager -o cat -u mpsr SYSLOG_IDENTIFIER=unfs-h MPSR_LINE_BREAK=budget | wc -l)
ob=$(ct journalctl -q --no-pager -o cat -u mpsr SYSLOG_IDENTIFIER=unfs-o MPSR_LINE_BREAK=budget | wc -l)
oe=$(ct journalctl -q --no-pager -o cat -u mpsr SYSLOG_IDENTIFIER=unfs-o | wc -l)
echo "H: $hb lines written as they stood at the budget; O: $ob, in $oe entries for 20 lines"
[ "$hb" -gt 0 ] || fail "H kept more than its share"
[ "$ob" = 0 ] && [ "$oe" = 20 ] || fail "O's lines were split"
rb_check_sanitizers
