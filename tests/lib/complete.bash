# complete.bash - run a bash completion function the way bash would, without
# a terminal, and print what it offers, one word a line:
#   bash complete.bash COMPLETION_FILE CWORD WORD0 WORD1 ...
# WORD0 is the command (a path to the binary); CWORD the index of the word
# being completed (the last WORD may be "" for a fresh word).  Exits 1 when
# the file registers no completion for WORD0's name.
set -u
file=$1 cword=$2
shift 2
# shellcheck disable=SC1090
. "$file" || exit 1
spec=$(complete -p "${1##*/}" 2>/dev/null) || {
	echo "complete.bash: $file registers no completion for ${1##*/}" >&2
	exit 1
}
fn=${spec#*-F }
fn=${fn%% *}
COMP_WORDS=("$@")
COMP_CWORD=$cword
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" "${1##*/}" "${COMP_WORDS[cword]}" "${COMP_WORDS[cword - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
