# Far more lines than journald's default per-unit rate limit lets through
# (10,000 per 30 s, scaled by free space), with journald's default
# configuration (only the unit's own LogRateLimit settings): 16 producers
# write as fast as they can for 35 s, longer than journald's default window,
# or until they have sent 1,000,000 lines. Every one is stored under the unit,
# exactly once.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
[ -z "$(ct sh -c 'cat /etc/systemd/journald.conf.d/*.conf /run/systemd/journald.conf.d/*.conf 2>/dev/null')" ] ||
	fail "journald.conf.d is not empty: the defaults are what this case proves"
name=ld-volume tag=vol$$ P=16 M=62500 secs=35
rb_loader $name

# Room: a million entries take about 600 MB of journal files, and must fit
# without journald vacuuming any of them. The default cap is 10 % of the file
# system (4 GiB at most): on a small test machine raise it. That is capacity,
# not rate limiting, which stays journald's default.
need_mb=900
capacity=/run/systemd/journald.conf.d/50-volume-capacity.conf
trap 'ct rm -f $capacity' EXIT
ct journalctl --rotate --vacuum-files=1 >/dev/null 2>&1 # files of earlier cases
max=$(ct journalctl -q --no-pager -b -u systemd-journald -o cat | grep 'System Journal (' | tail -n1)
echo "journald: $max"
max_mb=$(echo "$max" | sed -n 's/.*, max \([0-9.]*\)\([KMGT]\).*/\1 \2/p' |
	awk '{ m = $1 * ($2 == "K" ? 1 / 1024 : $2 == "G" ? 1024 : $2 == "T" ? 1048576 : 1); printf "%d", m }')
if [ "${max_mb:-0}" -lt $need_mb ]; then
	echo "raising SystemMaxUse= and RuntimeMaxUse= to ${need_mb}M for this case"
	ct mkdir -p "${capacity%/*}"
	ct_sh "printf '[Journal]\nSystemMaxUse=${need_mb}M\nRuntimeMaxUse=${need_mb}M\n' >$capacity"
	ct systemctl restart systemd-journald.service || fail "journald restart"
fi
base=$(rb_producers)
t0=$(date +%s%N)
rb_load_start $name -P $P -m $M -d $secs -t $tag
rb_load_wait $name || fail "a producer's write failed"
sent=$(rb_sent $name) || fail "not every producer said what it sent"
t1=$(date +%s%N)
# Once mpsrd has read the producers to their end, journald holds all it will
# store: --sync returns once it has processed what it was sent.
rb_wait_producers -le "${base:-0}" 60
ct journalctl --sync
ct_wait_ids --sent=$sent $tag 0 0 120 -u mpsr MPSR_TRANSPORT=stream SYSLOG_IDENTIFIER=$name ||
	fail "lines lost, doubled or cut"
t2=$(date +%s%N)
echo "$(rb_sum $sent) lines sent in $(((t1 - t0) / 1000000)) ms, all stored and counted after $(((t2 - t0) / 1000000)) ms"
ct journalctl --disk-usage
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
