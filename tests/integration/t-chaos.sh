# Chaos: the disturbances of the other cases, one after another for a bounded
# time, under every kind of producer at once:
#   - producers: plain stream lines and datagrams (mpsr-load), stream lines
#     written in two pieces (so most are unfinished at any moment, some longer
#     than the smaller --line-max below), octet-counted syslog messages cut
#     anywhere, records (chaos-lines); all write until the chaos is over;
#   - disturbances, each a ch_* function below, in the order of $steps (set
#     MPSR_CHAOS_STEPS to change it), one every second or so for
#     MPSR_CHAOS_SECONDS (15), and until each kind ran once (the first eight
#     steps): `systemctl restart mpsr`, `kill -9` of mpsrd,
#     `kill -9` again right after systemd started the next one (while it takes
#     its connections back), journald restarted, journald stopped (SIGSTOP)
#     for 2 s, a burst (64 new producers, and a line on each of 1,000 held
#     connections (MPSR_CHAOS_HELD), which also make each start take longer),
#     --line-max / --unfinished-max changed across a restart (a drop-in with
#     another ExecStart=), and --line-max lowered from 1 MiB to 16 KiB while
#     two 300 KB lines are kept unfinished (the README's recipe for changing
#     it). mpsrd starts afresh under --line-max=1048576 (its ledger made for
#     such lines).
# Afterwards every line of every producer is in `journalctl -u mpsr` exactly
# once and whole (a line longer than --line-max, or than the budget, put back
# together from its pieces), no producer was disconnected, mpsrd never failed
# by itself, and it still serves.
#
# MPSR_CHAOS_SAVE=DIR keeps, when the case fails, the journal entries (JSON) of
# each producer that failed its check, mpsrd's own log and what systemd said of
# mpsr.service, with the time of each disturbance, for a closer look.
#
# The whole case is bounded by time (MPSR_CHAOS_SECONDS and about 10 s more
# here, at most 60 s more when mpsrd crashes over and over and every wait runs
# out), never by a count: on a faster machine the producers just write more.
# A longer run: MPSR_CHAOS_SECONDS=120 tests/integration/run-suite BUILD_DIR t-chaos
. "$here/robust.sh"

chaos_s=${MPSR_CHAOS_SECONDS:-15}
steps=${MPSR_CHAOS_STEPS:-"ch_burst ch_restart ch_kill ch_shrink_line_max ch_journald_stall
	ch_kill_restoring ch_journald_restart ch_reconfigure ch_burst ch_kill ch_reconfigure ch_restart
	ch_journald_stall ch_kill_restoring ch_reconfigure"}
# The options of each --line-max/--unfinished-max step, in turn (after --fd-store).
# 1 MiB then 16 KiB: lines staged under the larger limit are taken back under the smaller.
configs=("--line-max=1048576" "--line-max=16384 --unfinished-max=262144"
	"--unfinished-max=131072" "")
case_start=$(date +%s)

dropins=/run/systemd/system/mpsr.service.d
dropin=$dropins/50-chaos.conf         # ExecStart= with the options of the moment
limits=$dropins/50-chaos-limits.conf # more starts than the default start limit allows
jpid=    # journald's pid while it is stopped
held=/run/ch-held N_HELD=${MPSR_CHAOS_HELD:-1000} # connections held open all along
over=/run/ch-over # the chaos is over: the producers stop
cleanup() {
	[ -n "$jpid" ] && ct kill -CONT "$jpid" 2>/dev/null
	ct touch $held.end $over
	ct rm -f $dropin $limits
	ct systemctl daemon-reload
	ct systemctl reset-failed mpsr.service 2>/dev/null
	ct systemctl restart mpsr.service || {
		echo "cleanup: restart failed; once more"
		ct systemctl reset-failed mpsr.service
		ct systemctl restart mpsr.service
	}
}
trap cleanup EXIT

# --- helpers -------------------------------------------------------------------
# ch_start NAME COMMAND...: runs COMMAND in the container in the background, its
# output in /run/NAME.out (rb_sent reads it); ch_wait NAME returns its status.
declare -A ch_pids
ch_start() {
	local name=$1
	shift
	ct_sh "$* >/run/$name.out 2>&1; echo \$? >/run/$name.rc" &
	ch_pids[$name]=$!
}
# wait_until PID T: waits for the background job PID, at most until the time T
# (date +%s): a producer mpsrd no longer reads may block for ever. Its status.
wait_until() {
	while kill -0 "$1" 2>/dev/null && [ "$(date +%s)" -lt "$2" ]; do
		sleep 0.2
	done
	kill -0 "$1" 2>/dev/null && return 124
	wait "$1"
}
ch_wait() {
	wait_until "${ch_pids[$1]}" $((loads_end + 20)) || return
	ct cat "/run/$1.out" | grep -v '^producer p=' | sed "s/^/$1: /"
	return "$(ct cat "/run/$1.rc")"
}

# wait_new_mpsrd OLD: until systemd runs an mpsrd other than OLD; prints its pid.
wait_new_mpsrd() {
	local i new
	for i in $(seq 400); do
		new=$(rb_show MainPID)
		[[ "$new" =~ ^[0-9]+$ ]] && [ "$new" -gt 1 ] && [ "$new" != "$1" ] && { echo "$new"; return 0; }
		sleep 0.025
	done
	fail "no new mpsrd 10 s after $1 ended: $(rb_show ActiveState)/$(rb_show SubState)"
}

# running_mpsrd: the pid of the mpsrd systemd runs now, waiting up to 10 s for
# one (between a crash and its restart there is none). Never 0: `kill -KILL 0`
# would kill our own process group.
running_mpsrd() {
	local i pid
	for i in $(seq 100); do
		pid=$(rb_show MainPID)
		[[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] && { echo "$pid"; return 0; }
		sleep 0.1
	done
	fail "no mpsrd running for 10 s: $(rb_show ActiveState)/$(rb_show SubState)"
}

# wait_active SECS: until mpsrd said READY=1 (the unit is active).
wait_active() {
	local i
	for i in $(seq $(($1 * 10))); do
		[ "$(rb_show ActiveState)" = active ] && return 0
		sleep 0.1
	done
	fail "mpsrd not active after $1 s: $(rb_show ActiveState)/$(rb_show SubState) $(rb_show Result)"
}

# The mpsrd the unit runs, for the ExecStart= of the drop-in.
mpsrd_bin=$(ct systemctl show -P ExecStart mpsr.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
[ -n "$mpsrd_bin" ] || fail "cannot find mpsrd's path in ExecStart="

# --- the disturbances: each is one function, run to its end ---------------------
kills=0 cfg=-1 bursts=0
ch_restart() {
	ct systemctl restart mpsr.service || fail "restart failed"
}
ch_kill() {
	local pid
	pid=$(running_mpsrd)
	ct kill -KILL "$pid" || fail "kill $pid"
	kills=$((kills + 1))
	echo "  killed $pid"
	wait_new_mpsrd "$pid" >/dev/null
}
# kill -9, then kill -9 the next mpsrd as soon as it runs (its comm is mpsrd: the
# service manager's fork has executed it): it is then taking its connections
# back from the fd store, if the unit is still activating (said in the output).
ch_kill_restoring() {
	local pid new state i comm
	pid=$(running_mpsrd)
	ct kill -KILL "$pid" || fail "kill $pid"
	new=$(wait_new_mpsrd "$pid")
	for i in $(seq 100); do
		comm=$(ct cat /proc/$new/comm 2>/dev/null)
		[ "$comm" = mpsrd ] && break
		sleep 0.01
	done
	state=$(rb_show ActiveState)
	ct kill -KILL "$new" || fail "kill $new"
	kills=$((kills + 2))
	echo "  killed $pid, then $new ($comm) while $state"
	wait_new_mpsrd "$new" >/dev/null
}
ch_journald_restart() {
	ct systemctl restart systemd-journald.service || fail "journald restart failed"
}
ch_journald_stall() {
	local pid
	pid=$(ct systemctl show -P MainPID systemd-journald.service)
	[[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || fail "no journald to stop: MainPID=$pid"
	jpid=$pid
	ct kill -STOP "$jpid" || fail "cannot stop journald"
	sleep 2
	ct kill -CONT "$jpid"
	jpid=
}
# 64 producers connect at once and write 50 lines a second each, for 2 s; and
# each of the held connections writes a line.
ch_burst() {
	local name=ch-burst$bursts
	rb_loader $name
	rb_load_start $name -P 64 -d 2 -r 50 -t cb${bursts}x$$
	ct touch $held.go$bursts
	bursts=$((bursts + 1))
}
# mpsrd restarted with these options (after --fd-store), through the drop-in.
ch_options() {
	ct_sh "printf '[Service]\nExecStart=\nExecStart=$mpsrd_bin --fd-store $*\n' >$dropin"
	ct systemctl daemon-reload
	ct systemctl restart mpsr.service || fail "restart with '$*' failed"
	echo "  now: mpsrd --fd-store $*"
}
# The next of $configs.
ch_reconfigure() {
	cfg=$(((cfg + 1) % ${#configs[@]}))
	ch_options ${configs[$cfg]}
}
# Two lines of 300 KB kept unfinished under --line-max=1048576, then mpsrd
# restarted with --line-max=16384, then the lines end (each is then stored in
# 16 KiB pieces, or whole had it been written before the restart).
longs=0
ch_shrink_line_max() {
	local ctl=/run/ch-long$longs i
	ch_options --line-max=1048576
	ct rm -f $ctl.*
	ch_start ch-long$longs python3 $CT_TOOLS/unfinished-lines -n 2 --size 300000 \
		--tag chl${longs}x$$ --comm ch-long$longs --ctl $ctl
	longs=$((longs + 1))
	rb_wait_state $ctl started 10
	for i in $(seq 50); do # until mpsrd has them in its ledger
		[[ "$(rb_show StatusText)" =~ \;\ ([0-9]+)\ bytes\ of\ unfinished ]] &&
			[ "${BASH_REMATCH[1]}" -ge 600000 ] && break
		sleep 0.1
	done
	echo "  $(rb_show StatusText | sed 's/.*; \([0-9]* bytes of unfinished lines kept\)/\1/')"
	ch_options --line-max=16384
	cfg=1 # the next ch_reconfigure goes on from here
	ct touch $ctl.go
	rb_wait_state $ctl ended 20
	ct touch $ctl.close
}

# --- start --------------------------------------------------------------------
ct systemctl start mpsr.socket || fail "mpsr.socket"
ct mkdir -p $dropins
ct_sh "printf '[Unit]\nStartLimitIntervalSec=0\n' >$limits"
# A fresh start (a stop drops the fd store, and the ledger in it) under
# --line-max=1048576: the ledger's slots are made for lines that long.
ct systemctl stop mpsr.service
ch_options --line-max=1048576 >/dev/null
cursor=$(ct journalctl -q -n1 -o export | sed -n 's/^__CURSOR=//p')

ct rm -f $held.*
ch_start ch-held python3 $CT_TOOLS/many-conns -n $N_HELD --tag chh$$ --comm ch-held --ctl $held
rb_wait_state $held connected 30

# The producers write through the whole chaos, until it touches $over.
ct rm -f $over
for name in ch-stream ch-dgram; do rb_loader $name; done
rb_load_start ch-stream -P 8 -r 200 --until=$over -t chs$$
rb_load_start ch-dgram --mode=dgram -s /run/mpsr.dgram -P 4 -r 100 --until=$over -t chd$$
ch_start ch-unfinished python3 $CT_TOOLS/chaos-lines --kind unfinished -P 8 --until $over --tag chu$$
ch_start ch-octet python3 $CT_TOOLS/chaos-lines --kind octet -P 4 --until $over --tag cho$$
ch_start ch-record python3 $CT_TOOLS/chaos-lines --kind record -P 4 --until $over --tag chr$$

# --- chaos ----------------------------------------------------------------------
t0=$(date +%s%N)
end=$(($(date +%s) + chaos_s))
n=0
declare -A ran # each kind of disturbance runs at least once, however slow the machine
all_ran() {
	local step
	for step in $steps; do [ -n "${ran[$step]:-}" ] || return 1; done
}
while [ "$(date +%s)" -lt $end ] || ! all_ran; do
	for step in $steps; do
		[ "$(date +%s)" -lt $end ] || [ -z "${ran[$step]:-}" ] || continue
		ran[$step]=1
		n=$((n + 1))
		echo "$(rb_ms $t0) ms (monotonic $(cut -d" " -f1 /proc/uptime) s): $step"
		$step
		sleep 1
	done
done
chaos_ms=$(rb_ms $t0)
echo "$n disturbances in $chaos_ms ms ($kills kills of mpsrd)"
ct touch $over
# Every wait afterwards is bounded from here: the producers end now (an
# unfinished line's producer within 2 s), mpsrd has 20 s more to read what
# they wrote, journald 20 s more to store it.
loads_end=$(date +%s)
ch_journald_stall() { :; } # (nothing may stop journald from here on)

# --- afterwards -----------------------------------------------------------------
# From here on every check is made, and the case fails at the end with all it
# found; a wait that ends without what it waits for is one of them.
problems=
try() {
	local out
	out=$("$@") || problems="$problems; ${out#FAIL: }"
}
try wait_active 15
lost=
for name in ch-stream ch-dgram $(seq -f ch-burst%g 0 $((bursts - 1))); do
	eval "pid=\$rb_pid_${name//-/_}"
	wait_until $pid $((loads_end + 20)) && rb_load_wait $name >/dev/null || lost="$lost $name"
done
[ $bursts = 0 ] || try rb_wait_state $held "wrote $((bursts - 1))" 10
ct touch $held.end
for name in ch-unfinished ch-octet ch-record ch-held $(seq -f ch-long%g 0 $((longs - 1))); do
	ch_wait $name || lost="$lost $name"
done
[ -z "$lost" ] || problems="$problems; producers disconnected or failed:$lost"

# mpsrd failed by itself: a main process that ended other than by our kill -9.
exits=$(ct journalctl -q --no-pager -o cat UNIT=mpsr.service _PID=1 --after-cursor="$cursor" |
	sed -n 's/.*Main process exited, code=\([a-z]*\), status=\([^ ]*\).*/\1 \2/p' | sort | uniq -c)
echo "mpsrd's exits:" $exits
ct journalctl -q --no-pager -o cat UNIT=mpsr.service _PID=1 --after-cursor="$cursor" |
	grep -v -e 'Main process exited' -e 'Consumed' -e 'Scheduled restart' -e 'Stopp' -e 'Start' \
		-e 'Deactivated successfully' -e "Failed with result 'signal'" | sort | uniq -c | sed 's/^/  systemd: /' | head
crashes=$(echo "$exits" | grep -v -e 'killed 9/KILL' -e 'exited 0/SUCCESS' | awk '{ n += $1 } END { print n + 0 }')
restores=$(ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --after-cursor="$cursor" |
	sed -n 's/^took back \([0-9]*\) connections/\1/p' | tr '\n' ' ')
echo "connections taken back at each start: $restores"

# Every line, exactly once: what each producer says it sent against the journal.
checks_t0=$(date +%s%N)
left() { echo $((loads_end + 40 - $(date +%s) > 3 ? loads_end + 40 - $(date +%s) : 3)); }
bad=
# mpsr-load's lines are waited for among the entries of their identifier and
# of SYSLOG_IDENTIFIER=unknown (journald indexes it: fast), where a producer
# that exited before a restart has its last lines, taken back then (its
# /proc/PID/comm is gone; how many: reported). Then they are counted by their
# tag among all of mpsr's entries, read once: a line doubled under another
# identifier counts too.
bad_tags= # NAME:TAG:SENT of each count that failed
unknown() { # TAG
	ct journalctl -q --no-pager -o cat -u mpsr SYSLOG_IDENTIFIER=unknown | grep -c "^$1 "
}
id_checks=() # NAME TAG SENT of each, for their count among all entries
wait_ids() { # NAME TAG
	local sent out
	sent=$(rb_sent $1) || { bad="$bad $1"; return; }
	out=$(ct_wait_ids --sent=$sent $2 0 0 "$(left)" -u mpsr SYSLOG_IDENTIFIER=$1 SYSLOG_IDENTIFIER=unknown) ||
		echo "$1 (waiting): $out" | head -5
	id_checks+=("$1 $2 $sent")
}
count_all_ids() {
	local all name tag sent out c
	all=$(mktemp)
	ct journalctl -q --no-pager -o cat -u mpsr >"$all"
	for c in "${id_checks[@]}"; do
		read -r name tag sent <<<"$c"
		out=$("$ct_lib_dir/count-ids" -v tag="$tag" -v sent="$sent" -v size=100 -v maxdup=0 <"$all")
		[ $? = 0 ] || { bad="$bad $name"; bad_tags="$bad_tags $name:$tag:$sent"; }
		echo "$name: $out (under SYSLOG_IDENTIFIER=unknown: $(unknown $tag))" | head -5
		[ -z "${MPSR_CHAOS_SAVE:-}" ] || [[ " $bad " != *" $name "* ]] ||
			ct journalctl -q --no-pager -a -o json -u mpsr SYSLOG_IDENTIFIER=$name SYSLOG_IDENTIFIER=unknown \
				>"$MPSR_CHAOS_SAVE/$name.json"
	done
	rm -f "$all"
}
check_lines() { # NAME KIND TAG IDENT
	local sent out last= same=0
	sent=$(rb_sent $1) || { bad="$bad $1"; return; }
	while :; do
		out=$(ct journalctl -q --no-pager -a -o json -u mpsr SYSLOG_IDENTIFIER=$4 SYSLOG_IDENTIFIER=unknown |
			python3 "$ct_lib_dir/chaos-lines" --check --kind $2 --tag $3 --sent $sent) && break
		[ "$out" = "$last" ] && same=$((same + 1)) || same=0
		last=$out
		[ $same -ge 5 ] || [ "$(left)" -le 3 ] && { bad="$bad $1"; break; }
		sleep 1
	done
	echo "$1: $out" | head -5
	[ -z "${MPSR_CHAOS_SAVE:-}" ] || [[ " $bad " != *" $1 "* ]] ||
		ct journalctl -q --no-pager -a -o json -u mpsr SYSLOG_IDENTIFIER=$4 SYSLOG_IDENTIFIER=unknown \
			>"$MPSR_CHAOS_SAVE/$1.json"
}
wait_ids ch-stream chs$$
wait_ids ch-dgram chd$$
for b in $(seq 0 $((bursts - 1))); do wait_ids ch-burst$b cb${b}x$$; done
if [ $bursts -gt 0 ]; then
	out=$(ct_wait_ids chh$$ $N_HELD $bursts "$(left)" -u mpsr SYSLOG_IDENTIFIER=ch-held SYSLOG_IDENTIFIER=unknown) ||
		echo "ch-held (waiting): $out" | head -5
	# many-conns: N_HELD producers wrote one line at each burst.
	id_checks+=("ch-held chh$$ $(yes $bursts | head -n $N_HELD | paste -sd,)")
fi
check_lines ch-unfinished unfinished chu$$ chaos-unf
check_lines ch-octet octet cho$$ chaos-oct
check_lines ch-record record chr$$ chaos-rec
for i in $(seq 0 $((longs - 1))); do
	out=$(ct journalctl -q --no-pager -a -o json -u mpsr SYSLOG_IDENTIFIER=ch-long$i |
		python3 "$ct_lib_dir/unfinished-lines" -n 2 --size 300000 --tag chl${i}x$$ --comm x --check \
			--breaks=line-max,budget 2>&1) ||
		bad="$bad ch-long$i"
	echo "ch-long$i: $out" | head -3
done
count_all_ids

# Still serving: a new producer's lines arrive.
try wait_active 5
rb_loader ch-after
if ct ch-after -P 1 -m 10 -t cha$$ >/dev/null &&
	ct_wait_ids cha$$ 1 10 5 -u mpsr SYSLOG_IDENTIFIER=ch-after >/dev/null; then
	echo "serving afterwards: $(rb_show StatusText)"
else
	problems="$problems; mpsrd does not serve afterwards"
fi

# Lines missing from a stream may still be unread in a socket mpsrd holds: one
# more restart tells them from lines lost (for the report; the case fails either way).
if [ -n "$bad_tags" ]; then
	ct systemctl restart mpsr.service
	sleep 3
	for nt in $bad_tags; do
		IFS=: read -r name tag sent <<<"$nt"
		echo "$name after one more restart: $(ct_ids --sent=$sent $tag 0 0 -u mpsr | head -1)"
	done
fi
[ "$crashes" = 0 ] || problems="$problems; mpsrd failed by itself $crashes times (besides $kills kill -9)"
[ -z "$bad" ] || problems="$problems; lines lost, doubled or cut:$bad"
try rb_check_sanitizers
try rb_check_dropped
echo "case took $(($(date +%s) - case_start)) s (chaos $chaos_ms ms, checks $(rb_ms $checks_t0) ms)"
if [ -n "$problems" ] && [ -n "${MPSR_CHAOS_SAVE:-}" ]; then
	ct journalctl -q --no-pager -o short-monotonic -u mpsr _TRANSPORT=stdout --after-cursor="$cursor" \
		>"$MPSR_CHAOS_SAVE/mpsrd.log"
	ct journalctl -q --no-pager -o short-monotonic UNIT=mpsr.service _PID=1 --after-cursor="$cursor" \
		>"$MPSR_CHAOS_SAVE/systemd.log"
	ct journalctl -q --no-pager -o short-monotonic -t mpsr-readback --after-cursor="$cursor" \
		>"$MPSR_CHAOS_SAVE/readback.log"
fi
[ -z "$problems" ] || fail "${problems#; }"
rb_forget_journal
