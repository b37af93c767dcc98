# mpsr against journald, message by message: every message of
# syslog-corpus.txt (taken from systemd's, rsyslog's and syslog-ng's test
# suites and from the RFCs) goes as a datagram to journald's /dev/log and to
# mpsr's datagram socket, and PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER,
# SYSLOG_PID, SYSLOG_TIMESTAMP and MESSAGE are compared. Each difference is
# listed with its reason in syslog-diff-expected.txt; one that is not, or a
# listed one that is gone, fails the case.
ct systemctl start mpsr.socket || fail "mpsr.socket"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=/run/sdiff$$
ct mkdir -p "$dir"
ct_sh "cat >$dir/syslog-diff" <"$here/syslog-diff"
ct_sh "cat >$dir/corpus" <"$here/syslog-corpus.txt"
ct_sh "cat >$dir/expected" <"$here/syslog-diff-expected.txt"
ct /usr/bin/python3 "$dir/syslog-diff" "$dir/corpus" "$dir/expected" ${MPSR_SYSLOG_DIFF_SHOW:+--show} ||
	fail "differences from journald that syslog-diff-expected.txt does not explain (above)"
ct rm -rf "$dir"
