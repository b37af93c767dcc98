# A restart and a kill -9 of mpsrd while a unit is being slowed to its limit
# (LogRateLimitIntervalSec=1s, LogRateLimitBurst=1000): its 10,000 lines are
# all stored, none twice, in order. (A new mpsrd starts a new window: each
# disruption may let one more burst through.)
. "$here/robust.sh"
. "$here/tenants.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=lr$$ unit=lr$$.service M=10000
tn_load $unit mpsr-tl ld-lrestart 1000 -P 1 -m $M -t $tag
n=$(ct_wait_grep 1 20 "^$unit (uid [0-9]*) is over its limit" -u mpsr _TRANSPORT=stdout)
[ "$n" -ge 1 ] || fail "$unit is not being slowed"
ct systemctl restart mpsr.service || fail "restart"
sleep 1
ct systemctl is-active -q $unit || fail "$unit finished before the kill: nothing proven"
ct systemctl kill -s KILL --kill-whom=main mpsr.service || fail "kill -9"
ct_wait_gone $unit 60 || fail "$unit still writing"
ct_wait_ids $tag 1 $M 30 MPSR_UNIT=$unit || fail "$unit's lines"
tn_in_order MPSR_UNIT=$unit || fail "$unit's lines out of order"
echo "restarts by systemd after the kill: $(rb_auto_restarts)"
rb_check_sanitizers
