# 1,000,000 lines through mpsr with journald's default configuration (only
# the unit's own LogRateLimit settings): every one stored, exactly once.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
[ -z "$(ct sh -c 'cat /etc/systemd/journald.conf.d/*.conf /run/systemd/journald.conf.d/*.conf 2>/dev/null')" ] ||
	fail "journald.conf.d is not empty: the defaults are what this case proves"
name=ld-million tag=mil$$ P=16 M=62500
rb_loader $name

# Room: a million entries take about 600 MB of journal files, and must fit
# without journald vacuuming any of them. The default cap is 10 % of the file
# system (4 GiB at most): on a small test machine raise it. That is capacity,
# not rate limiting, which stays journald's default.
need_mb=900
ct journalctl --rotate --vacuum-files=1 >/dev/null 2>&1 # files of earlier cases
max=$(ct journalctl -q --no-pager -b -u systemd-journald -o cat | grep 'System Journal (' | tail -n1)
echo "journald: $max"
max_mb=$(echo "$max" | sed -n 's/.*, max \([0-9.]*\)\([KMGT]\).*/\1 \2/p' |
	awk '{ m = $1 * ($2 == "K" ? 1 / 1024 : $2 == "G" ? 1024 : $2 == "T" ? 1048576 : 1); printf "%d", m }')
if [ "${max_mb:-0}" -lt $need_mb ]; then
	echo "raising SystemMaxUse= and RuntimeMaxUse= to ${need_mb}M for this case"
	ct mkdir -p /run/systemd/journald.conf.d
	ct_sh "printf '[Journal]\nSystemMaxUse=${need_mb}M\nRuntimeMaxUse=${need_mb}M\n' >/run/systemd/journald.conf.d/50-million-capacity.conf"
	ct systemctl restart systemd-journald.service || fail "journald restart"
fi
t0=$(date +%s%N)
ct $name -P $P -m $M -t $tag || fail "a producer's write failed"
t1=$(date +%s%N)
ct_wait_ids $tag $P $M 300 SYSLOG_IDENTIFIER=$name || fail "lines lost, doubled or cut"
t2=$(date +%s%N)
echo "sent in $(((t1 - t0) / 1000000)) ms, all stored and counted after $(((t2 - t0) / 1000000)) ms"
ct journalctl --disk-usage
ct rm -f /run/systemd/journald.conf.d/50-million-capacity.conf
rb_check_dropped
rb_check_sanitizers
rb_forget_journal
