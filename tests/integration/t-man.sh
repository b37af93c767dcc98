# The man pages are installed where man(1) finds them, and render without warnings.
ct sh -c 'command -v man' >/dev/null || skip "man-db not installed"
for page in mpsrd.8 mpsr-readback.8 mpsr-send.1 mpsr.7; do
	name=${page%.*} sect=${page##*.}
	path=$(ct man -w "$sect" "$name" 2>/dev/null) || fail "man does not find $name($sect)"
	warn=$(ct env MANWIDTH=80 man --warnings -l "$path" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "$page: $warn"
	ct env MANWIDTH=80 man "$sect" "$name" 2>/dev/null | grep -q '^NAME' || fail "$page does not render"
	echo "$page: $path"
done
