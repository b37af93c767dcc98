# Helpers for the tenant cases (t-share, t-limit, t-dgram-limit, t-user-share):
# producers run as transient units of unprivileged uids, as a local user's
# would. Sourced by those t-*.sh files after robust.sh (not a case itself).

# tn_user NAME: an unprivileged user of that name in the container (its own
# /etc), created if new; prints its uid.
tn_user() {
	ct id -u "$1" 2>/dev/null && return
	ct useradd --system --no-create-home --shell /usr/sbin/nologin "$1" || fail "useradd $1"
	ct id -u "$1"
}

# tn_start UNIT USER PROPS... COMMAND...: COMMAND as the transient UNIT of USER,
# in the background.
tn_start() {
	local unit=$1 uid=$2
	shift 2
	ct systemd-run -q --collect --unit="$unit" --uid="$uid" "$@" >/dev/null ||
		fail "systemd-run $unit"
}

# tn_load UNIT USER NAME BURST ARGS...: the load generator, installed as NAME,
# as the transient UNIT of USER (a uid, or a name: made if new), held by its
# unit to BURST lines a second (LogRateLimitIntervalSec=1s,
# LogRateLimitBurst=BURST), with mpsr-load's ARGS; in the background.
tn_load() {
	local unit=$1 user=$2 name=$3 burst=$4
	shift 4
	rb_loader "$name"
	case $user in *[!0-9]*) tn_user "$user" >/dev/null ;; esac
	tn_start "$unit" "$user" -p LogRateLimitIntervalSec=1s -p LogRateLimitBurst="$burst" \
		"/usr/local/bin/$name" "$@"
}

# tn_limited UNIT: the "N lines per M ms" mpsrd says it holds UNIT to, as "N M".
tn_limited() {
	ct journalctl -q --no-pager -o cat -u mpsr _TRANSPORT=stdout --since "@$rb_since" |
		sed -n "s/^$1 (uid [0-9]*) is over its limit of \([0-9]*\) lines per \([0-9]*\) ms.*/\1 \2/p" |
		head -n1
}

# tn_in_order MATCH...: whether every producer's s= rises in the journal's order.
tn_in_order() {
	ct journalctl -q --no-pager -o cat "$@" | awk '
		{ p = $2; s = substr($3, 3) + 0
		  if ((p in last) && s <= last[p]) { bad++; if (bad < 5) print "out of order: " $0 }
		  last[p] = s }
		END { exit bad > 0 }'
}

# tn_span_ms MATCH...: milliseconds between journald's receipt of the first and the last entry.
tn_span_ms() {
	ct journalctl -q --no-pager -o json --output-fields=__REALTIME_TIMESTAMP "$@" |
		sed -n 's/.*"__REALTIME_TIMESTAMP":"\([0-9]*\)".*/\1/p' |
		awk 'NR == 1 { a = $1 } { b = $1 } END { print int((b - a) / 1000) }'
}
