# fill.sh - the tree that the engine's round trips back up (sourced by
# tests/integration/backup_restore.sh and tests/vm/restore-b.sh): one of every
# kind of object and metadata field an ext4 volume holds, made through the
# kernel in a mounted directory, so that the comparison after a restore is
# against what the kernel made, never against what our code wrote.
#   fill_ext4_tree DIR BIGFILES   objects in DIR: hard links, symlinks, a sparse
#       file, a fifo, a device node, setuid and sticky modes, an owner, user and
#       trusted xattrs, an ACL and a default ACL, a non-ASCII name, times in ns,
#       and BIGFILES files in big/ (enough to make its directory indexed)
fill_ext4_tree() {
	(
		cd "$1" || exit 1
		mkdir -p a/b/c big empty sticky
		head -c 1000000 /dev/urandom >a/b/c/random
		echo "small file" >a/small
		ln a/small a/b/hardlink
		ln a/small hardlink-at-root
		ln -s a/small rel-link
		ln -s /etc/passwd abs-link
		truncate -s 20M sparse && printf 'middle' | dd of=sparse bs=1 seek=10000000 conv=notrunc status=none
		mkfifo fifo
		mknod null-dev c 1 3
		chmod 4755 a/small
		chmod 1777 sticky
		chmod 0700 a/b
		chown 1234:5678 a/b/c/random
		setfattr -n user.colour -v blue a/small
		setfattr -n trusted.secret -v 0xdeadbeef a/b/c/random
		setfacl -m u:1234:rx,g:5678:r a/b/c
		setfacl -d -m u:1234:rwx a/b
		printf 'utf' >"grüße-日本"
		i=0
		while [ $i -lt "$2" ]; do echo "$i" >"big/f$i"; i=$((i + 1)); done
		touch -d '2001-02-03 04:05:06.123456789' a/small a/b/c
		touch -h -d '1999-12-31 23:59:59.5' rel-link
	)
}
