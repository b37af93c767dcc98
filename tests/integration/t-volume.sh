# Far more lines than journald's default per-unit rate limit lets through
# (10,000 per 30 s, scaled by free space): none may be lost.
ct systemctl start mpsr.socket || fail "mpsr.socket"
# journald's configuration stays the default: only the unit's own settings count.
[ -z "$(ct sh -c 'cat /etc/systemd/journald.conf.d/*.conf 2>/dev/null')" ] || fail "journald.conf.d is not empty"
tag=vol$$
ct mpsr-load -P 16 -m 12500 -b 100 -t "$tag" || fail "a producer failed"
ct_wait_ids "$tag" 16 12500 120 -u mpsr MPSR_TRANSPORT=stream || fail "lines lost or duplicated"
echo "200,000 lines through mpsr.service with journald's defaults"
