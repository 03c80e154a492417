# holes.sh - sourced by tests: whether a file on an unmounted NTFS image has
# nothing allocated, as ntfsinfo (ntfsprogs) shows its $DATA runlist.
#   holes IMG PATH   prints "holes" when every run of PATH's $DATA is a hole
#                    and nothing is counted as compressed/allocated, else what
#                    ntfsinfo showed ("no runlist" when it printed none: a
#                    failing ntfsinfo never reads as "holes")
holes() {
	ntfsinfo -v -F "$2" "$1" 2>/dev/null | awk '
		/^Dumping attribute/ { data = ($3 == "$DATA") ; runs = 0; next }
		data && /Compressed size:/ { if ($3 != 0) bad = bad " compressed=" $3 }
		data && /Runlist:/ { runs = 1; next }
		data && runs && NF == 3 { n++; if ($2 != "<HOLE>") bad = bad " run@" $1 "=" $2 }
		END { if (n == 0) print "no runlist"; else if (bad == "") print "holes"; else print bad }'
}
