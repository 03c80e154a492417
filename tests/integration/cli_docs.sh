#!/bin/sh
# cli_docs.sh - what an admin gets besides the binary, checked against the
# binary itself:
#   - --version (sysrecover and srdelayed) says the Makefile's VERSION;
#   - every command, subcommand and verb that --help lists (walked by
#     tools/cmdref, so a new one is checked without editing this script)
#     exits 0 on --help with a text on stdout;
#   - README.md's command reference is exactly that --help (tools/cmdref
#     --check; `make readme` rewrites it);
#   - the man pages: groff finds no problem, and every command, verb and
#     option --help lists is in sysrecover(8) (srdelayed's also in
#     srdelayed(8));
#   - bash completion offers every command, verb and option;
#   - `make install` (DESTDIR, PREFIX) installs the binary, the srdelayed
#     link, both man pages and the completion, with no test library (a
#     pkg-config that has no cmocka), `man -M` shows the installed page, and
#     `make uninstall` removes every file it installed.
#   cli_docs.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir clidocs
need man groff awk bash make pkg-config
top=$(cd "$(dirname "$0")/../.." && pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
SR1=$(abs "$1")
bins=$SR1
[ $# -ge 2 ] && [ -x "$2" ] && bins="$SR1 $(abs "$2")"
cmdref() { sh "$top/tools/cmdref" "$@"; }
comp() { bash "$top/tests/lib/complete.bash" "$top/contrib/bash-completion/sysrecover" "$@"; }
version=$(sed -n 's/^VERSION = //p' "$top/Makefile")
[ -n "$version" ] || bad makefile-version "no 'VERSION = ' line in the Makefile"
unset TAPE

# The words of a help text (stdin) that are options, one a line ("--json",
# "-q", "--kntr-merge"): the same rule as the completion's _sysrecover_opts.
opts_of() {
	tr -s ' \t[](){},|:;"'"'" '\n\n' |
		sed -nE 's/^(--[a-z][a-z0-9-]*)=?.*/\1/p; /^-[a-zA-Z]$/p' | sort -u
}
# A man page's source with \- and font changes undone, for grep.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1"; }
# The lines of section "$2" of man source $1: from the .SS (or .SH) line
# that is exactly $2 to the next .SS or .SH.
section() {
	plain "$1" | awk -v s="$2" '
	$0 == s { on = 1; next }
	on && /^\.S[SH]/ { on = 0 }
	on'
}
# Word $2 is a .TP item of text $1 ("\fBname\fR..." or ".B name" lines).
item() { printf '%s\n' "$1" | grep -qE -- "^(\.B |\.BR |\.BI )?\"?$2( |\"|$)"; }
# Option $2 is named in text $1, as a word of its own.
names_opt() { printf '%s\n' "$1" | grep -qE -- "(^|[^a-zA-Z0-9-])$2([^a-zA-Z0-9-]|$)"; }

# 1. --version.
mkdir -p "$w/bin"
for SR in $bins; do
	b=$(basename "$(dirname "$SR")")
	exits "version-$b" 0 "^sysrecover $version( \(git [0-9a-f]+(-dirty)?\))?\$" "$SR" --version
	ln -sf "$SR" "$w/bin/srdelayed"
	exits "srdelayed-version-$b" 0 "^srdelayed \(sysrecover\) $version" "$w/bin/srdelayed" --version
	exits "version-listed-$b" 0 '--version' "$SR" --help
done
for m in sysrecover srdelayed; do
	if grep -qE "^\.TH [A-Z]+ 8 [0-9-]+ \"sysrecover $version\"" "$top/docs/$m.8"; then
		ok "man-$m-version"
	else
		bad "man-$m-version" "docs/$m.8's .TH does not say \"sysrecover $version\" (the Makefile's VERSION)"
	fi
done

# 2. Every command's --help: exit 0, a text on stdout, nothing on stderr.
if out list cmdref --list "$SR1"; then
	n=$(printf '%s\n' "$list" | wc -l)
	[ "$n" -ge 40 ] && ok "walk-found-$n" ||
		bad walk-found "only $n commands found: is the --help walk broken? $list"
	for want in tape fs volumes srdelayed hive "tape DEV status" "fs VOL ls" \
		"srdelayed apply" "hive merge"; do
		printf '%s\n' "$list" | grep -qxF "$want" || bad "walk-has-$want" "not found by tools/cmdref --list"
	done
fi
for SR in $bins; do
	b=$(basename "$(dirname "$SR")")
	hfail=0
	printf '%s\n' "$list" >"$w/list"
	while read -r cmd; do
		# shellcheck disable=SC2086
		(cd "$w" && "$SR" $cmd --help) </dev/null >"$w/h.out" 2>"$w/h.err"
		rc=$?
		if [ "$rc" -ne 0 ] || [ ! -s "$w/h.out" ] || [ -s "$w/h.err" ]; then
			bad "help-$b-$cmd" "'sysrecover $cmd --help' exited $rc, $(wc -c <"$w/h.out") bytes on stdout, stderr: $(head -c 200 "$w/h.err")"
			hfail=1
		fi
	done <"$w/list"
	[ "$hfail" -eq 0 ] && ok "help-every-command-$b"
done

# 3. README.md's command reference.
check readme-cmdref cmdref --check "$top/README.md" "$SR1"
# The generator itself, on a copy whose section is emptied: --check sees
# that, --update fills it in again to exactly what README holds, and --check
# then passes, and notices one changed line.
awk '/^<!-- cmdref begin -->$/ { print; s = 1; next } /^<!-- cmdref end -->$/ { s = 0 } !s { print }' \
	"$top/README.md" >"$w/R.md"
refuses cmdref-check-sees-empty "differs from --help" cmdref --check "$w/R.md" "$SR1"
check cmdref-update cmdref --update "$w/R.md" "$SR1"
check cmdref-check-after-update cmdref --check "$w/R.md" "$SR1"
check cmdref-update-gives-readme cmp "$w/R.md" "$top/README.md"
awk '!d && /^  ls / { $0 = $0 " (edited)"; d = 1 } { print }' "$w/R.md" >"$w/R2.md"
refuses cmdref-edit-made differ cmp "$w/R.md" "$w/R2.md"
refuses cmdref-check-sees-a-change "differs from --help" cmdref --check "$w/R2.md" "$SR1"
for SR in $bins; do
	b=$(basename "$(dirname "$SR")")
	[ "$SR" = "$SR1" ] || check "cmdref-same-$b" cmdref --check "$w/R.md" "$SR"
done

# 4. The man pages: no groff warning, and nothing --help lists missing.
for m in sysrecover srdelayed; do
	if o=$(groff -man -Tutf8 -ww -z "$top/docs/$m.8" 2>&1) && [ -z "$o" ]; then
		ok "groff-$m"
	else
		bad "groff-$m" "$o"
	fi
	if out page sh -c "MANWIDTH=80 man -l '$top/docs/$m.8' 2>&1 | cat"; then
		has "man-l-$m" "$page" "$(echo "$m" | tr a-z A-Z)(8)"
	fi
done
printf '%s\n' "$list" >"$w/list"
mfail=0
manopt() { # file section-text what help-text
	for o in $(printf '%s\n' "$4" | opts_of | grep -vxE -- '--help|-h'); do
		names_opt "$2" "$o" || { bad "man-$1-$3-$o" "option $o of '$3' is not in its section of docs/$1.8"; mfail=1; }
	done
}
sec=$(plain "$top/docs/sysrecover.8")
for o in --help --version; do
	names_opt "$sec" "$o" || { bad "man-top-$o" "docs/sysrecover.8 does not name $o"; mfail=1; }
done
while read -r cmd; do
	set -- $cmd
	g=$1
	v=$(eval "echo \${$#}")
	s=$(section "$top/docs/sysrecover.8" ".SS \"sysrecover $g\"")
	# shellcheck disable=SC2086
	help=$(cd "$w" && "$SR1" $cmd --help 2>/dev/null </dev/null)
	if [ $# -eq 1 ]; then
		[ -n "$s" ] || { bad "man-sysrecover-$g" "docs/sysrecover.8 has no section .SS \"sysrecover $g\""; mfail=1; continue; }
	else
		item "$s" "$v" || { bad "man-sysrecover-$g-$v" "'$cmd' is not an item of .SS \"sysrecover $g\" in docs/sysrecover.8"; mfail=1; }
	fi
	manopt sysrecover "$s" "$cmd" "$help"
	if [ "$g" = srdelayed ]; then
		s=$(section "$top/docs/srdelayed.8" ".SH COMMANDS")
		[ $# -eq 1 ] || item "$s" "$v" || { bad "man-srdelayed-$v" "'$v' is not an item of COMMANDS in docs/srdelayed.8"; mfail=1; }
		manopt srdelayed "$(plain "$top/docs/srdelayed.8")" "$cmd" "$help"
	fi
done <"$w/list"
[ "$mfail" -eq 0 ] && ok man-names-every-command-and-option
# The check itself: a verb the page does not have is noticed.
s=$(section "$top/docs/sysrecover.8" '.SS "sysrecover fs"')
item "$s" copy-in && ok man-check-finds-copy-in || bad man-check-finds-copy-in "item() misses a verb that is there"
item "$s" copy-in-x && bad man-check-misses "item() found a verb that is not there" || ok man-check-misses

# 5. Completion, through the function bash would call.
cfail=0
lacks() { # what wanted-words offered-words
	for x in $2; do
		printf '%s\n' "$3" | grep -qxF -- "$x" || { bad "complete-$1-$x" "'$x' not offered for '$1' (offered: $(echo $3))"; cfail=1; }
	done
}
if out c comp 1 "$SR1" ""; then
	lacks "sysrecover" "$(printf '%s\n' "$list" | grep -v ' ') --help --version" "$c"
fi
while read -r cmd; do
	set -- $cmd
	v=$(eval "echo \${$#}")
	if [ $# -eq 1 ]; then
		# shellcheck disable=SC2086
		out c comp 2 "$SR1" $cmd - &&
			lacks "$cmd -" "$(cd "$w" && "$SR1" $cmd --help | opts_of)" "$(printf '%s\n' "$c" | sed 's/=$//')"
		continue
	fi
	# the verb in its place: after the placeholder (DEV, VOL), if any
	shift $(($# - 1))
	pre=${cmd% *}
	# shellcheck disable=SC2086
	out c comp $(echo $pre | wc -w | awk '{ print $1 + 1 }') "$SR1" $pre "" &&
		lacks "$pre" "$v" "$c"
	# its options (--kntr-merge= is offered with its =)
	# shellcheck disable=SC2086
	out c comp $(echo $cmd | wc -w | awk '{ print $1 + 1 }') "$SR1" $cmd - &&
		lacks "$cmd -" "$(cd "$w" && "$SR1" $cmd --help | opts_of)" "$(printf '%s\n' "$c" | sed 's/=$//')"
done <"$w/list"
ln -sf "$SR1" "$w/bin/srdelayed"
if out c comp 1 "$w/bin/srdelayed" ""; then
	lacks srdelayed "$(printf '%s\n' "$list" | sed -n 's/^srdelayed //p')" "$c"
fi
[ "$cfail" -eq 0 ] && ok complete-every-command-and-option
check complete-registers bash -c ". '$top/contrib/bash-completion/sysrecover' && complete -p sysrecover srdelayed"

# 6. make install / uninstall into a DESTDIR, with no cmocka.
pc=$(command -v pkg-config)
printf '#!/bin/sh\n# pkg-config as on a machine without the test libraries\nfor a; do [ "$a" = cmocka ] && exit 1; done\nexec %s "$@"\n' "$pc" >"$w/pkg-config-nocmocka"
chmod +x "$w/pkg-config-nocmocka"
# The tree that built SR1 (its build directory's parent) installs it.
bdir=$(cd "$(dirname "$SR1")" && pwd)
tree=$(dirname "$bdir")
[ -f "$tree/Makefile" ] || bad install-tree "$SR1 was not built in a tree ($tree has no Makefile)"
root=$w/root
mk() {
	make -s -C "$tree" B="$(basename "$bdir")" PKG_CONFIG="$w/pkg-config-nocmocka" \
		DESTDIR="$root" PREFIX=/usr "$@"
}
exits pkgcheck-test-needs-cmocka 2 'missing test library: cmocka' mk pkgcheck-test
check install-without-cmocka mk install
if [ -d "$root" ]; then
	for f in bin/sysrecover share/man/man8/sysrecover.8 share/man/man8/srdelayed.8 \
		share/bash-completion/completions/sysrecover; do
		[ -f "$root/usr/$f" ] && ok "installed-$f" || bad "installed-$f" "missing"
	done
	for f in bin/srdelayed share/bash-completion/completions/srdelayed; do
		[ "$(readlink "$root/usr/$f")" = sysrecover ] && ok "installed-link-$f" ||
			bad "installed-link-$f" "not a link to sysrecover"
	done
	exits installed-srdelayed-runs 0 '^srdelayed \(sysrecover\)' "$root/usr/bin/srdelayed" --version
	for m in sysrecover srdelayed; do
		if out page sh -c "MANWIDTH=80 man -M '$root/usr/share/man' $m | cat"; then
			has "man-after-install-$m" "$page" "$(echo "$m" | tr a-z A-Z)(8)"
		fi
	done
	if out c comp 2 "$root/usr/bin/sysrecover" hive ""; then
		lacks installed-completion "info merge" "$c"
	fi
	check uninstall mk uninstall
	left=$(find "$root" ! -type d)
	is uninstall-leaves-no-files "$left" ""
fi
finish
