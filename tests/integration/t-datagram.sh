# Datagram socket: 16 producers x 1,000 datagrams, each stored exactly once,
# under the pid of the process that sent it.
fail() { echo "FAIL: $*"; exit 1; }
ct systemctl start mpsr.socket || fail "mpsr.socket"

tag=dg$$
# Each producer names itself (its comm, hence SYSLOG_IDENTIFIER) and writes its
# own pid into every message, so the check needs no list of pids.
ct /usr/bin/python3 -c '
import os, socket, sys
tag = sys.argv[1]
kids = []
for p in range(16):
    pid = os.fork()
    if pid == 0:
        with open("/proc/self/comm", "w") as f:
            f.write(tag)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect("/run/mpsr.dgram")
        for i in range(1000):
            s.send(b"<5>%s pid=%d s=%d\n" % (tag.encode(), os.getpid(), i))
        os._exit(0)
    kids.append(pid)
for k in kids:
    _, st = os.waitpid(k, 0)
    if st:
        sys.exit("a producer failed")
' "$tag" || fail "datagram producers failed"

n=$(ct_wait_count 16000 60 -u mpsr SYSLOG_IDENTIFIER="$tag")
[ "$n" = 16000 ] || fail "$n of 16000 datagrams stored"
ct journalctl -q -u mpsr -o json SYSLOG_IDENTIFIER="$tag" | /usr/bin/python3 -c '
import json, sys
seen, bad = set(), []
for line in sys.stdin:
    e = json.loads(line)
    words = dict(w.split("=") for w in e["MESSAGE"].split()[1:])
    key = (words["pid"], words["s"])
    if key in seen:
        bad.append("twice: %s" % (key,))
    seen.add(key)
    if e.get("MPSR_PID") != words["pid"] or e.get("SYSLOG_PID") != words["pid"]:
        bad.append("sent by %s, stored with MPSR_PID=%s" % (words["pid"], e.get("MPSR_PID")))
    if e.get("MPSR_TRANSPORT") != "datagram" or e.get("PRIORITY") != "5" or e.get("MPSR_COMM") != sys.argv[1]:
        bad.append("fields: %s" % line)
pids = {p for p, _ in seen}
if len(pids) != 16 or len(seen) != 16000:
    bad.append("%d distinct messages from %d pids" % (len(seen), len(pids)))
if bad:
    print("\n".join(bad[:5]))
sys.exit(1 if bad else 0)
' "$tag" || fail "entries do not match their senders"
echo "16 x 1000 datagrams, each once, each under its sender's pid"
