# Two `kill -9` of mpsrd while 16 producers write 1,000 lines/s each; systemd
# restarts it with the producers' connections from the fd store. No line may
# be lost or written twice: the ledger (ledger.h) tells the new mpsrd what
# the old one had sent and taken, and journald is asked about the one entry
# that was on its way at the kill.
. "$here/robust.sh"
rb_disruption crash
