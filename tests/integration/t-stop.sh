# `systemctl stop` with producers connected: a clean exit, nothing received lost.
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=stop$$ line=stopline$$

# Producers that stay connected: whole lines, then an unfinished one.
ct_sh "mkfifo /run/stop-fifo; ( (printf '%s\n' '$line line one' '$line line two'; printf '%s' '$line unfinished'; cat /run/stop-fifo) | socat -u - UNIX-CONNECT:/run/mpsr.sock) >/dev/null 2>&1 </dev/null &" ||
	fail "producer"
ct mpsr-load -P 4 -m 2000 -t "$tag" --hold 30 >/dev/null 2>&1 &
load=$!
[ "$(ct_wait_count 2 10 -u mpsr MESSAGE="$line line two" + MESSAGE="$line line one")" = 2 ] ||
	fail "lines before stop not stored"
ct_wait_ids "$tag" 4 2000 30 -u mpsr MPSR_TRANSPORT=stream >/dev/null || fail "load lines before stop"
# The unfinished line has been read by now: mpsrd holds it.
sleep 0.5
ct systemctl stop mpsr.service || fail "stop failed"
[ "$(ct systemctl show -P Result mpsr.service)" = success ] || fail "result $(ct systemctl show -P Result mpsr.service)"
[ "$(ct systemctl show -P ExecMainStatus mpsr.service)" = 0 ] || fail "exit status not 0"
[ "$(ct_wait_count 1 10 -u mpsr MESSAGE="$line unfinished" MPSR_LINE_BREAK=stop)" = 1 ] ||
	fail "the unfinished line was lost at stop"
ct_ids "$tag" 4 2000 -u mpsr MPSR_TRANSPORT=stream || fail "load lines changed by stop"
kill "$load" 2>/dev/null
ct_sh "rm -f /run/stop-fifo"
echo "stop: result success, exit 0, unfinished line written with MPSR_LINE_BREAK=stop"
