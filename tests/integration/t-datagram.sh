# Datagram socket: 16 producers x 1,000 datagrams, each stored exactly once,
# under the pid of the process that sent it.
ct systemctl start mpsr.socket || fail "mpsr.socket"

tag=dg$$
# Each producer names itself (its comm, hence SYSLOG_IDENTIFIER) and writes its
# own pid into every message; the parent prints the pids it forked.
senders=$(ct /usr/bin/python3 -c '
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
print(" ".join(map(str, kids)))
' "$tag") || fail "datagram producers failed"

# Found by their text, not by SYSLOG_IDENTIFIER: a sender may exit before
# mpsrd reads its name, and its datagrams then say "unknown" (mpsr(7)). The
# pid is the kernel's (SCM_CREDENTIALS), so it must match the text's.
n=$(ct_wait_grep 16000 60 "^$tag pid=" -u mpsr MPSR_TRANSPORT=datagram)
[ "$n" = 16000 ] || fail "$n of 16000 datagrams stored"
ct journalctl -q -u mpsr -o json MPSR_TRANSPORT=datagram | /usr/bin/python3 -c '
import json, sys
tag = sys.argv[1]
seen, bad, unknown = set(), [], 0
for line in sys.stdin:
    e = json.loads(line)
    msg = e.get("MESSAGE")
    if not isinstance(msg, str) or not msg.startswith(tag + " "):
        continue
    words = dict(w.split("=", 1) for w in msg.split()[1:])
    key = (words.get("pid"), words.get("s"))
    if key in seen:
        bad.append("twice: %s" % (key,))
    seen.add(key)
    if e.get("MPSR_PID") != words.get("pid") or e.get("SYSLOG_PID") != words.get("pid"):
        bad.append("sent by %s, stored with MPSR_PID=%s SYSLOG_PID=%s" % (words.get("pid"), e.get("MPSR_PID"), e.get("SYSLOG_PID")))
    # Its own name, or "unknown" if it was gone; never another one.
    comm = e.get("MPSR_COMM")
    if comm == "unknown":
        unknown += 1
    if comm not in (tag, "unknown") or e.get("SYSLOG_IDENTIFIER") != comm:
        bad.append("named %s / %s: %s" % (comm, e.get("SYSLOG_IDENTIFIER"), line))
    if e.get("PRIORITY") != "5":
        bad.append("PRIORITY: %s" % line)
senders = sys.argv[2].split()
want = {(p, str(s)) for p in senders for s in range(1000)}
if len(senders) != 16 or seen != want:
    bad.append("%d distinct messages from pids %s, want 16 x 1000 from %s" % (len(seen), " ".join(sorted({p for p, _ in seen})), " ".join(senders)))
print("%d of them under MPSR_COMM=unknown (sender gone)" % unknown)
if bad:
    print("\n".join(bad[:5]))
sys.exit(1 if bad else 0)
' "$tag" "$senders" || fail "entries do not match their senders"
echo "16 x 1000 datagrams, each once, each under its sender's pid"
