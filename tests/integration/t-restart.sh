# Two `systemctl restart mpsr.service` while 16 producers write 20,000 lines
# each: no line lost, none doubled, none cut in two, no producer disconnected.
. "$here/robust.sh"
rb_disruption restart
