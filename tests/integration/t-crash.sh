# Two `kill -9` of mpsrd while 16 producers write 20,000 lines each; systemd
# restarts it with the producers' connections from the fd store. No line may
# be lost. A line is written twice only if mpsrd died between writing it and
# taking it from the socket, which it does every 8 lines (CONSUME_LINES in
# server.c): so at most 8 lines per kill, counted and reported.
. "$here/robust.sh"
rb_disruption crash
