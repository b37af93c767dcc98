# Two `systemctl restart mpsr.service` while 16 producers write 1,000 lines/s
# each: no line lost, none doubled, none cut in two, no producer disconnected.
. "$here/robust.sh"
rb_disruption restart
