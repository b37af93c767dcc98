# Daemons people run, pointed at mpsr with their default formats: nginx's
# error_log and access_log (with and without the hostname), rsyslog forwarding
# with omuxsock (its traditional and its high-precision forward format), syslog-ng to both sockets
# (its default template), Go's log/syslog, and syslog(3) in a unit whose
# /dev/log is mpsr's datagram socket. Every message is stored with
# the identifier, pid, priority, facility and text its sender meant, and a
# forwarded header's hostname as SYSLOG_HOSTNAME.
ct systemctl start mpsr.socket || fail "mpsr.socket"
tag=sd$$
dir=/run/$tag
host=$(ct hostname)
# rsyslog and syslog-ng: unpacked by tests/deps, not installed (they conflict).
rsyslog_dir=/opt/mpsr-tests/rsyslog
sng_dir=/opt/mpsr-tests/syslog-ng-core
for f in "$rsyslog_dir/usr/sbin/rsyslogd" "$sng_dir/usr/sbin/syslog-ng" /usr/sbin/nginx /usr/bin/go; do
	[ -x "$f" ] || fail "$f missing: run tests/deps"
done
ct mkdir -p "$dir"
ct chmod 0755 "$dir"

# expect N IDENT FIELD=VALUE... [MESSAGE~REGEX]: exactly N entries of mpsr by
# IDENT, each with these fields (FIELD=@kernel: SYSLOG_PID is MPSR_PID).
expect() {
	local want=$1 ident=$2 n
	shift 2
	n=$(ct_wait_count "$want" 15 -u mpsr SYSLOG_IDENTIFIER="$ident")
	[ "$n" = "$want" ] || fail "$ident: $n entries, want $want"
	ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$ident" -o json | /usr/bin/python3 -c '
import json, re, sys
ident = sys.argv[1]
for line in sys.stdin:
    e = json.loads(line)
    for w in sys.argv[2:]:
        if "~" in w and ("=" not in w or w.index("~") < w.index("=")):
            k, rx = w.split("~", 1)
            if not re.fullmatch(rx, str(e.get(k))):
                sys.exit("%s: %s=%r does not match %r" % (ident, k, e.get(k), rx))
            continue
        k, v = w.split("=", 1)
        if v == "@kernel":
            v = e.get("MPSR_PID")
        if e.get(k) != v:
            sys.exit("%s: %s=%r, want %r" % (ident, k, e.get(k), v))
' "$ident" "$@" || fail "$ident: entry differs"
}

# ---- nginx: error_log and access_log to the datagram socket ----
ct_sh "cat >$dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log syslog:server=unix:/run/mpsr.dgram,tag=${tag}ne error;
error_log syslog:server=unix:/run/mpsr.dgram,tag=${tag}nenh,nohostname,facility=local1 error;
events { worker_connections 16; }
http {
	access_log syslog:server=unix:/run/mpsr.dgram,tag=${tag}na combined;
	access_log syslog:server=unix:/run/mpsr.dgram,tag=${tag}nanh,nohostname,facility=local6,severity=notice combined;
	client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
	uwsgi_temp_path $dir; scgi_temp_path $dir;
	server {
		listen unix:$dir/http.sock;
		root $dir/www;
	}
}
EOF
ct mkdir -p "$dir/www"
ct_sh "echo hello >$dir/www/index.html"
ct systemd-run -q -u "$tag-nginx" nginx -c "$dir/nginx.conf" -e "$dir/nginx-error.log" || fail "nginx"
for i in $(seq 50); do ct test -S "$dir/http.sock" && break; sleep 0.1; done
for path in /index.html /missing; do
	ct_sh "printf 'GET $path HTTP/1.0\r\n\r\n' | socat -t 5 - UNIX-CONNECT:$dir/http.sock >/dev/null" ||
		fail "request $path"
done
# nginx writes no pid in its header: SYSLOG_PID is the sender's, as the kernel says.
nerr='[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8} \[error\] [0-9]+#[0-9]+: \*[0-9]+ open\(\) "'$dir'/www/missing" failed \(2: No such file or directory\).*'
expect 1 "${tag}ne" PRIORITY=3 SYSLOG_FACILITY=23 SYSLOG_HOSTNAME="$host" SYSLOG_PID=@kernel "MESSAGE~$nerr"
expect 1 "${tag}nenh" PRIORITY=3 SYSLOG_FACILITY=17 SYSLOG_PID=@kernel "MESSAGE~$nerr"
nacc='unix: - - \[[^]]+\] "GET /(index.html|missing) HTTP/1.0" (200|404) [0-9]+ "-" "-"'
expect 2 "${tag}na" PRIORITY=6 SYSLOG_FACILITY=23 SYSLOG_HOSTNAME="$host" SYSLOG_PID=@kernel "MESSAGE~$nacc"
expect 2 "${tag}nanh" PRIORITY=5 SYSLOG_FACILITY=22 SYSLOG_PID=@kernel "MESSAGE~$nacc"
# Without a hostname in the header, none is made up.
[ "$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="${tag}nanh" -o export | grep -c '^SYSLOG_HOSTNAME=')" = 0 ] ||
	fail "nohostname: a SYSLOG_HOSTNAME appeared"
ct systemctl stop "$tag-nginx"

# ---- rsyslog: a local socket of its own, forwarded with omuxsock ----
ct_sh "cat >$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$dir/rsyslog.sock")
module(load="omuxsock")
\$OMUxSockSocket /run/mpsr.dgram
*.* :omuxsock:;RSYSLOG_TraditionalForwardFormat
\$OMUxSockSocket /run/mpsr.dgram
*.* :omuxsock:;RSYSLOG_ForwardFormat
EOF
ct systemd-run -q -u "$tag-rsyslog" "$rsyslog_dir/usr/sbin/rsyslogd" -n -i "$dir/rsyslog.pid" \
	-M "$rsyslog_dir/usr/lib/x86_64-linux-gnu/rsyslog" -f "$dir/rsyslog.conf" || fail "rsyslogd"
for i in $(seq 50); do ct test -S "$dir/rsyslog.sock" && break; sleep 0.1; done
ct logger -u "$dir/rsyslog.sock" -d --socket-errors=on -t "${tag}rs" --id=4242 -p local2.notice "via rsyslog" ||
	fail "logger to rsyslog"
ct logger -u "$dir/rsyslog.sock" -d --socket-errors=on -t "${tag}rs" --id=4243 -p local2.err "second: via rsyslog" ||
	fail "logger to rsyslog"
# Each message twice: the traditional date, and RSYSLOG_ForwardFormat's RFC 3339 one.
expect 4 "${tag}rs" SYSLOG_FACILITY=18 SYSLOG_HOSTNAME="$host" "SYSLOG_PID~424[23]" \
	"PRIORITY~[35]" "MESSAGE~(via rsyslog|second: via rsyslog)" \
	"SYSLOG_TIMESTAMP~[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[-+][0-9:]{5}"
got=$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="${tag}rs" -o json --output-fields=SYSLOG_PID,PRIORITY,MESSAGE,SYSLOG_TIMESTAMP |
	/usr/bin/python3 -c 'import json,sys; print(" | ".join(sorted("%s %s %s %s" % (e["SYSLOG_PID"], e["PRIORITY"], e["MESSAGE"], "iso" if "T" in e["SYSLOG_TIMESTAMP"] else "bsd") for e in map(json.loads, sys.stdin))))')
[ "$got" = "4242 5 via rsyslog bsd | 4242 5 via rsyslog iso | 4243 3 second: via rsyslog bsd | 4243 3 second: via rsyslog iso" ] ||
	fail "rsyslog: $got"
ct systemctl stop "$tag-rsyslog"

# ---- syslog-ng: one source, both of mpsr's sockets, default templates ----
ct_sh "cat >$dir/syslog-ng.conf" <<EOF
@version: 3.38
options { use_dns(no); chain_hostnames(no); stats_freq(0); };
source s_in { unix-dgram("$dir/syslog-ng.sock"); };
destination d_dgram { unix-dgram("/run/mpsr.dgram"); };
destination d_stream { unix-stream("/run/mpsr.sock"); };
log { source(s_in); destination(d_dgram); destination(d_stream); };
EOF
ct systemd-run -q -u "$tag-syslog-ng" -E LD_LIBRARY_PATH="$sng_dir/usr/lib/syslog-ng" \
	"$sng_dir/usr/sbin/syslog-ng" -F --no-caps --module-path="$sng_dir/usr/lib/syslog-ng/3.38" \
	-f "$dir/syslog-ng.conf" -R "$dir/sng.persist" -p "$dir/sng.pid" -c "$dir/sng.ctl" || fail "syslog-ng"
for i in $(seq 50); do ct test -S "$dir/syslog-ng.sock" && break; sleep 0.1; done
ct logger -u "$dir/syslog-ng.sock" -d --socket-errors=on -t "${tag}sng" --id=777 -p daemon.err "via syslog-ng  " ||
	fail "logger to syslog-ng"
expect 2 "${tag}sng" PRIORITY=3 SYSLOG_FACILITY=3 SYSLOG_HOSTNAME="$host" SYSLOG_PID=777 "MESSAGE=via syslog-ng"
ct systemctl stop "$tag-syslog-ng"

# ---- Go's log/syslog, on the datagram and the stream socket ----
ct mkdir -p "$dir/go"
ct_sh "cat >$dir/go/main.go" <<'EOF'
package main

import (
	"log/syslog"
	"os"
)

func main() {
	w, err := syslog.Dial(os.Args[1], os.Args[2], syslog.LOG_WARNING|syslog.LOG_LOCAL1, os.Args[3])
	if err != nil {
		panic(err)
	}
	w.Err("from go")
	w.Info("second from go")
	w.Close()
}
EOF
ct env GOCACHE="$dir/go/cache" GO111MODULE=off HOME="$dir" go build -o "$dir/go/prog" "$dir/go/main.go" || fail "go build"
ct "$dir/go/prog" unixgram /run/mpsr.dgram "${tag}go" || fail "go, datagram"
ct "$dir/go/prog" unix /run/mpsr.sock "${tag}gos" || fail "go, stream"
for id in "${tag}go" "${tag}gos"; do
	expect 2 "$id" SYSLOG_FACILITY=17 SYSLOG_PID=@kernel "PRIORITY~[36]" "MESSAGE~(second )?from go"
	got=$(ct journalctl -q -u mpsr SYSLOG_IDENTIFIER="$id" -o json --output-fields=PRIORITY,MESSAGE |
		/usr/bin/python3 -c 'import json,sys; print(" | ".join("%s %s" % (e["PRIORITY"], e["MESSAGE"]) for e in map(json.loads, sys.stdin)))')
	[ "$got" = "3 from go | 6 second from go" ] || fail "$id: $got"
done
# ---- README's Python snippet as it stands ----
ct /usr/bin/python3 -c '
import logging, logging.handlers, sys
h = logging.handlers.SysLogHandler(address="/run/mpsr.dgram", facility="local4")
h.setFormatter(logging.Formatter(sys.argv[1] + "[%(process)d]: %(message)s"))
logging.getLogger().addHandler(h)
logging.getLogger().error("disk full")
' "${tag}py" || fail "python snippet"
expect 1 "${tag}py" PRIORITY=3 SYSLOG_FACILITY=20 SYSLOG_PID=@kernel "MESSAGE=disk full"

# ---- syslog(3), which writes to /dev/log only: mpsr's socket bound there ----
ct systemd-run -q --wait -p BindPaths=/run/mpsr.dgram:/dev/log /usr/bin/python3 -c '
import sys, syslog
syslog.openlog(sys.argv[1], syslog.LOG_PID, syslog.LOG_LOCAL1)
syslog.syslog(syslog.LOG_ERR, "from syslog(3)")
' "${tag}glibc" || fail "syslog(3) with BindPaths"
expect 1 "${tag}glibc" PRIORITY=3 SYSLOG_FACILITY=17 SYSLOG_PID=@kernel "MESSAGE=from syslog(3)"
ct rm -rf "$dir"
echo "nginx (error_log, access_log, with and without hostname), rsyslog (omuxsock), syslog-ng (both sockets), Go, Python, syslog(3) bound to /dev/log: as meant"
