# `systemctl restart systemd-journald` twice while 16 producers write 1,000
# lines/s each: mpsrd waits for journald (backpressure) and loses nothing, and
# is not restarted itself.
. "$here/robust.sh"
rb_disruption journald
