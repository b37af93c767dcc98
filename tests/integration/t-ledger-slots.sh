# Every producer mpsrd serves has a slot of the ledger, where its framing
# state outlives a restart. A ledger kept across a restart keeps its number
# of slots: after --max-connections was raised and mpsrd restarted, it serves
# no more producers than the kept ledger has slots and says so; the rest wait
# in the backlog. After a stop the next ledger has the new number.
. "$here/robust.sh"
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=slots$$ comm=ld-slots ctl=/run/slots$$
cleanup() {
	rb_dropin_remove 50-test-ledger-slots
	# A stop closes the fd store: the next start makes a ledger of its own.
	ct systemctl stop mpsr.service
	ct systemctl start mpsr.service
	ct rm -f $ctl.*
}
trap cleanup EXIT
max() {
	rb_dropin 50-test-ledger-slots "[Service]\nExecStart=\nExecStart=$(rb_exec_start) --max-connections=$1\n"
}

max 20
ct systemctl stop mpsr.service || fail "stop"
ct systemctl start mpsr.service || fail "start"
n=$(rb_capacity)
[ "$n" = 20 ] || fail "a new ledger for 20 producers: mpsrd serves ${n:-?}"

max 40
ct systemctl restart mpsr.service || fail "restart"
n=$(rb_capacity)
echo "after a restart with --max-connections=40: serving up to ${n:-?}"
[ "$n" = 20 ] || fail "the kept ledger has 20 slots, mpsrd serves ${n:-?} producers"
ct python3 "$CT_TOOLS/many-conns" -n 30 --tag $tag --comm $comm --ctl $ctl &
conns=$!
rb_wait_state $ctl connected 60
rb_wait_producers -eq 20 30
sleep 1
[ "$(rb_producers)" = 20 ] || fail "30 producers connected: mpsrd serves $(rb_producers), not 20"
ct touch $ctl.end
wait $conns || fail "many-conns: a connect or write failed"

ct systemctl stop mpsr.service || fail "stop"
ct systemctl start mpsr.service || fail "start"
n=$(rb_capacity)
[ "$n" = 40 ] || fail "after a stop, a new ledger for 40 producers: mpsrd serves ${n:-?}"
rb_check_sanitizers
