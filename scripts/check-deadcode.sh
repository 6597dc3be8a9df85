#!/usr/bin/env bash
# Fails when the Go linker has to keep every exported method of every
# reachable type, and prints why.
#
#   ./scripts/check-deadcode.sh
#
# The linker drops the methods nothing calls, unless a reachable function
# calls reflect's Method(i), or MethodByName with a name that is not a
# constant: then any method may be looked up at run time, and it keeps them
# all (about 4 MB of this binary, which pushed the container image against
# its 24 MB budget: Go 1.26's reflect.Type.Methods iterator was reached
# through google.golang.org/protobuf v1.36.11's MethodByName("Methods"),
# golang/protobuf#1704). The linker flags such functions <ReflectMethod> in
# its -dumpdep output, which lists each reached symbol after the one that
# reached it; this script links the binary as the Dockerfile does and prints
# the path from the program's roots to each flagged function.
#
# Usual causes: text/template or html/template executing a template (our
# code, or cobra's SetUsageTemplate/SetHelpTemplate); reflect Method or
# MethodByName with a computed name. A path ending in an edge
# "type:T -> T.M" means that method M was kept because an interface method
# or a constant MethodByName("M") somewhere names it; find which with
#   go build -ldflags=-v=2 -o /tmp/m . 2>&1 | grep 'reached .*M'
#
# Prints "linker dead code: ok (...)" and the stripped binary's size on
# success.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# As the Dockerfile builds it (-s -w only strip symbols and DWARF; they do
# not change what the linker keeps).
CGO_ENABLED=0 go build -trimpath -ldflags=-dumpdep -o "${tmp}/manifesto" . 2>"${tmp}/deps"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${tmp}/manifesto-stripped" .
bytes="$(stat -c %s "${tmp}/manifesto-stripped")"
lines="$(wc -l <"${tmp}/deps")"
if ((lines < 1000)); then
	echo "check-deadcode.sh: go build -ldflags=-dumpdep printed ${lines} lines; expected the linker's reachability graph" >&2
	exit 1
fi

# Each line is "FROM -> TO", either side may end in flags such as
# <UsedInIface> or <ReflectMethod>. The first line naming a symbol as TO
# gives the symbol that reached it.
awk '
function strip(s) {
	sub(/( <[A-Za-z]+>)+$/, "", s)
	return s
}
{
	i = index($0, " -> ")
	if (i == 0) next
	from = strip(substr($0, 1, i - 1))
	rawto = substr($0, i + 4)
	to = strip(rawto)
	if (!(to in parent)) parent[to] = from
	if (rawto ~ /<ReflectMethod>/ && !(to in flagged)) {
		flagged[to] = 1
		order[++n] = to
	}
}
END {
	if (n == 0) exit 0
	print "the linker keeps every exported method of every reachable type: these reachable functions call reflect Method or MethodByName with a computed name (see scripts/check-deadcode.sh)."
	print "A step \"type:T -> T.M\" keeps method M by its name: an interface method or a constant MethodByName(\"M\") names it (go build -ldflags=-v=2 -o /tmp/m . 2>&1 | grep \"reached .*M\")."
	for (k = 1; k <= n; k++) {
		s = order[k]
		path = s
		for (depth = 0; (s in parent) && parent[s] != "_" && depth < 200; depth++) {
			s = parent[s]
			path = s "\n    -> " path
		}
		print ""
		print "  " path
	}
	exit 1
}' "${tmp}/deps" >"${tmp}/report" || {
	cat "${tmp}/report" >&2
	exit 1
}
echo "linker dead code: ok (no <ReflectMethod> symbol among ${lines} reachability edges); stripped binary ${bytes} bytes"
