# sysrecover - offline recovery environment.  See README.md and HACKING.md.
#
#   make               build build/sysrecover
#   make check         unit (cmocka), sanitizer (ASan+UBSan), integration and VM tests
#   make demo          build, then the end-to-end demo on a virtual tape
#   make fuzz          build the libFuzzer targets (FUZZ_SECONDS=N make fuzz-run)
#   make bench         benchmarks against the tools a user would pick instead
#   make install       PREFIX=/usr/local DESTDIR=  (binary, srdelayed link, man
#                      pages, bash completion, and the initramfs-tools hook and script
#                      and the dracut module where those generators look, whatever
#                      PREFIX is); make uninstall removes exactly them
#   make deb           build ../sysrecover_*.deb with dpkg-buildpackage (debian/)
#   make deb-check     tests/pkg/deb.sh: the .deb, lintian, a clean Debian 12 chroot
#   make readme        rewrite README.md's command reference from --help
#   make initramfs     the recovery image, build/initramfs.img (README: Booting sysrecover);
#                      INITRAMFS_ARGS="--modules-dir DIR" (default: --kernel-version `uname -r`)
#   make rescue-iso    build/sysrecover-rescue.iso, a hybrid BIOS/UEFI ISO and USB image of
#                      that image and RESCUE_KERNEL (default /boot/vmlinuz-`uname -r`)
#
# Libraries are found with pkg-config; a missing -dev package stops the build
# here with its name (install them all with: sudo sh .ci/deps.sh).

VERSION = 0.3.0

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
COMPDIR = $(PREFIX)/share/bash-completion/completions
MANS = docs/sysrecover.8 docs/srdelayed.8
COMPLETION = contrib/bash-completion/sysrecover
# The generators read only these directories (not PREFIX's): mkinitramfs
# /usr/share/initramfs-tools, dracut /usr/lib/dracut/modules.d.
ITOOLSDIR ?= /usr/share/initramfs-tools
DRACUTDIR ?= /usr/lib/dracut/modules.d
ITOOLS_SRC = initramfs/initramfs-tools
DRACUT_SRC = initramfs/dracut/90sysrecover
DRACUT_FILES = $(notdir $(wildcard $(DRACUT_SRC)/*))

# `sysrecover --version`: VERSION, and in a git tree of its own (a .git here,
# never a parent directory's) what `git describe` says of it.
GIT_DESC := $(if $(wildcard .git),$(shell git describe --always --dirty 2>/dev/null))
FULL_VERSION = $(VERSION)$(if $(GIT_DESC), (git $(GIT_DESC)))
CC ?= cc
PKG_CONFIG ?= pkg-config

PKGS = blkid ext2fs libntfs-3g hivex libarchive nettle
TEST_PKGS = cmocka

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libarchive is linked statically: Debian's shared libarchive13 needs libxml2 and
# ICU (libicudata alone is 31 MB), which every recovery image and distro
# initramfs holding sysrecover would carry.  Only the xar writer uses libxml2,
# and our code never asks for it, but archive_write_set_format.o (which the pax
# writer needs for one helper) has a table naming every writer; Debian builds
# libarchive.a with one section per function, so --gc-sections drops that
# table, and with it xar, zip, 7zip and their compression libraries.
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out libarchive,$(PKGS)) 2>/dev/null) \
	    -Wl,-Bstatic -larchive -Wl,-Bdynamic
TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) \
	     -Itape -Irecovery/common -Irecovery/fs -Irecovery/hive -Irecovery/archive -Irecovery/backup -Irecovery/restore -Isrdelayed -Irecovery/cli \
	     $(PKG_CFLAGS)

# libntfs-3g's headers test HAVE_* macros from a config.h it does not ship;
# these mirror what its own configure defines on Debian (libntfs-3g 2022.10).
NTFS_DEFS = -DHAVE_STDINT_H -DHAVE_SYS_TYPES_H -DHAVE_ENDIAN_H -DHAVE_BYTESWAP_H \
	    -DHAVE_SYS_PARAM_H -DHAVE_FFS -DHAVE_DAEMON -DHAVE_STRSEP -DHAVE_SETXATTR \
	    -DHAVE_CLOCK_GETTIME -DHAVE_STDIO_H -DHAVE_STDLIB_H -DHAVE_STRING_H \
	    -DHAVE_ERRNO_H -DHAVE_LIMITS_H -DHAVE_UNISTD_H -DHAVE_FCNTL_H
LDFLAGS ?=
ALL_LDFLAGS = -Wl,--as-needed -Wl,--gc-sections $(LDFLAGS)

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all

B ?= build
BA = build-asan

TAPE_SRC = tape/tape.c tape/tape_virt.c tape/tape_mem.c tape/tape_simh.c \
	   tape/tape_st.c tape/tape_test.c
COMMON_SRC = recovery/common/err.c recovery/common/text.c recovery/common/buf.c recovery/common/progress.c recovery/common/stop.c \
	     recovery/common/hash.c
FS_SRC = recovery/fs/fs.c recovery/fs/volume.c recovery/fs/fs_dir.c \
	 recovery/fs/fs_ext.c recovery/fs/fs_ext_dir.c recovery/fs/fs_ext_io.c recovery/fs/fs_ntfs.c recovery/fs/fs_ntfs_io.c recovery/fs/fs_ntfs_cache.c \
	 recovery/fs/fs_copy.c
FS_SRC += recovery/fs/fs_efs.c
CLI_SRC = recovery/cli/main.c recovery/cli/cli.c recovery/cli/cmd_tape.c recovery/cli/cmd_fs.c recovery/cli/cmd_volumes.c \
	  $(wildcard recovery/cli/cmd_hive*.c) recovery/cli/cmd_srdelayed.c recovery/cli/cmd_backup.c \
	  recovery/cli/cmd_list.c recovery/cli/cmd_restore.c
HIVE_SRC = $(wildcard recovery/hive/*.c)
ARC_SRC = recovery/archive/arc_text.c recovery/archive/arc_label.c recovery/archive/arc_catalog.c
SRD_SRC = $(wildcard srdelayed/*.c)
ENGINE_SRC = recovery/backup/bk.c recovery/backup/bk_si.c recovery/backup/bk_hash.c recovery/restore/rs.c recovery/restore/rs_ahead.c recovery/restore/rs_restore.c
ENGINE_SRC += recovery/backup/bk_sis.c
ENGINE_SRC += recovery/restore/rs_sis.c
ENGINE_SRC += recovery/backup/bk_efs.c recovery/restore/rs_efs.c
ENGINE_SRC += recovery/backup/bk_sys.c
ENGINE_SRC += recovery/restore/rs_sys.c
LIB_SRC = $(TAPE_SRC) $(COMMON_SRC) $(FS_SRC) $(HIVE_SRC) $(ARC_SRC) $(SRD_SRC) $(ENGINE_SRC)
UNIT_SRC = $(wildcard tests/unit/test_*.c)

LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(B)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps pkgcheck pkgcheck-test unit-bins asan check check-unit demo \
	fuzz fuzz-run bench install uninstall deb deb-check readme initramfs clean FORCE

all: $(B)/sysrecover

deps:
	@sh .ci/deps.sh --check || sh .ci/deps.sh

# The binary needs PKGS only; the unit tests need TEST_PKGS as well.
pkgcheck:
	@$(PKG_CONFIG) --exists $(PKGS) || { \
	  for p in $(PKGS); do $(PKG_CONFIG) --exists $$p || \
	    echo "missing library: $$p (run: sudo sh .ci/deps.sh)" >&2; done; exit 1; }

pkgcheck-test:
	@$(PKG_CONFIG) --exists $(TEST_PKGS) || { \
	  for p in $(TEST_PKGS); do $(PKG_CONFIG) --exists $$p || \
	    echo "missing test library: $$p (run: sudo sh .ci/deps.sh)" >&2; done; exit 1; }

$(B)/%.o: %.c | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/recovery/fs/fs_ntfs.o $(B)/recovery/fs/fs_ntfs_io.o $(B)/recovery/fs/fs_ntfs_cache.o: EXTRA_CFLAGS = $(NTFS_DEFS)

# main.o is rebuilt when the version changes (a commit, a dirty tree): the
# stamp is rewritten only when its text differs.
$(B)/version.stamp: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(FULL_VERSION)' ] || echo '$(FULL_VERSION)' >$@
$(B)/recovery/cli/main.o: $(B)/version.stamp
$(B)/recovery/cli/main.o: EXTRA_CFLAGS = -DSYSRECOVER_VERSION='"$(FULL_VERSION)"'

$(B)/libsysrecover.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/sysrecover: $(CLI_OBJ) $(B)/libsysrecover.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(B)/libsysrecover.a $(ALL_LDFLAGS) $(PKG_LIBS)

$(B)/tests/harness.o: tests/unit/harness.c tests/unit/harness.h | pkgcheck pkgcheck-test
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/tests/harness.o $(B)/libsysrecover.a | pkgcheck-test
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)/tests/harness.o $(B)/libsysrecover.a \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(TEST_LIBS)

unit-bins: $(UNIT_BIN)

# The sanitizer variant is the same tree built again with ASan and UBSan.
asan:
	$(MAKE) B=$(BA) CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
		$(BA)/sysrecover unit-bins

check: deps all unit-bins asan
	@sh tests/run-all.sh $(B) $(BA)

check-unit: all unit-bins
	@sh tests/run-all.sh --only unit $(B) $(BA)

demo: deps all
	@sh tests/demo.sh $(B)/sysrecover

fuzz:
	@mkdir -p $(B)/fuzz
	clang $(filter-out -Werror,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_simh tests/fuzz/fuzz_simh.c $(TAPE_SRC)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) $(NTFS_DEFS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_hive_rules tests/fuzz/fuzz_hive_rules.c $(HIVE_SRC) \
		$(FS_SRC) $(COMMON_SRC) $(PKG_LIBS)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) $(NTFS_DEFS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_fntb_expand tests/fuzz/fuzz_fntb_expand.c $(HIVE_SRC) \
		$(FS_SRC) $(COMMON_SRC) $(PKG_LIBS)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_srd_parse tests/fuzz/fuzz_srd_parse.c srdelayed/srd_parse.c \
		srdelayed/srd_write.c $(COMMON_SRC) $(shell $(PKG_CONFIG) --libs nettle)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_arc_label tests/fuzz/fuzz_arc_label.c $(ARC_SRC) $(COMMON_SRC) \
		$(shell $(PKG_CONFIG) --libs nettle)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_arc_catalog tests/fuzz/fuzz_arc_catalog.c $(ARC_SRC) $(COMMON_SRC) \
		$(shell $(PKG_CONFIG) --libs nettle)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) $(NTFS_DEFS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_rs_names tests/fuzz/fuzz_rs_names.c recovery/restore/rs.c recovery/restore/rs_ahead.c \
		recovery/restore/rs_sis.c recovery/restore/rs_efs.c $(FS_SRC) \
		$(ARC_SRC) $(COMMON_SRC) $(TAPE_SRC) $(PKG_LIBS)
	clang $(filter-out -Werror,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $(B)/fuzz/fuzz_fs_efs tests/fuzz/fuzz_fs_efs.c recovery/fs/fs_efs.c $(COMMON_SRC) \
		$(shell $(PKG_CONFIG) --libs nettle)

FUZZ_SECONDS ?= 60
fuzz-run: all fuzz
	@sh tests/fuzz/run.sh --all $(B)/fuzz $(FUZZ_SECONDS)

bench: all
	@sh tests/bench/simh_vs_dd.sh $(B)/sysrecover
	@sh tests/bench/srd_vs_debugfs.sh $(B)/sysrecover
	@sh tests/bench/bigdir_vs_debugfs.sh $(B)/sysrecover
	@sh tests/bench/populate.sh $(B)/sysrecover
	@sh tests/bench/engine.sh $(B)/sysrecover
	@sh tests/bench/selective.sh $(B)/sysrecover
	@sh tests/bench/scale.sh $(B)/sysrecover

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPDIR)
	install -m 0755 $(B)/sysrecover $(DESTDIR)$(BINDIR)/sysrecover
	ln -sf sysrecover $(DESTDIR)$(BINDIR)/srdelayed
	install -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(COMPLETION) $(DESTDIR)$(COMPDIR)/sysrecover
	ln -sf sysrecover $(DESTDIR)$(COMPDIR)/srdelayed
	install -D -m 0755 $(ITOOLS_SRC)/hooks/sysrecover $(DESTDIR)$(ITOOLSDIR)/hooks/sysrecover
	install -D -m 0755 $(ITOOLS_SRC)/scripts/local-premount/sysrecover \
		$(DESTDIR)$(ITOOLSDIR)/scripts/local-premount/sysrecover
	@# every file of the dracut module: its scripts executable (dracut runs them), the rest not
	set -e; for f in $(DRACUT_FILES); do \
		case $$f in *.sh) m=0755 ;; *) m=0644 ;; esac; \
		install -D -m $$m $(DRACUT_SRC)/$$f $(DESTDIR)$(DRACUTDIR)/90sysrecover/$$f; \
	done

# Exactly what install wrote (the directories may be shared: they stay, except the
# dracut module's own directory).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sysrecover $(DESTDIR)$(BINDIR)/srdelayed \
	      $(MANS:docs/%=$(DESTDIR)$(MANDIR)/man8/%) \
	      $(DESTDIR)$(COMPDIR)/sysrecover $(DESTDIR)$(COMPDIR)/srdelayed \
	      $(DESTDIR)$(ITOOLSDIR)/hooks/sysrecover $(DESTDIR)$(ITOOLSDIR)/scripts/local-premount/sysrecover \
	      $(DRACUT_FILES:%=$(DESTDIR)$(DRACUTDIR)/90sysrecover/%)
	rmdir $(DESTDIR)$(DRACUTDIR)/90sysrecover 2>/dev/null || true

# The Debian package (debian/), built in the source tree; the .deb lands in ..
deb:
	dpkg-buildpackage -us -uc -b

# Build the .deb from a clean export, lintian, install into a clean Debian 12 chroot,
# update-initramfs there (tests/pkg/deb.sh; not part of `make check`: it takes minutes).
deb-check:
	bash tests/pkg/deb.sh

# README.md's "Command reference" (between its cmdref markers) from --help;
# tests/integration/cli_docs.sh fails when it is out of date.
readme: all
	sh tools/cmdref --update README.md $(B)/sysrecover

# The recovery image (initramfs/build.sh --help for its options).
INITRAMFS_ARGS ?= --kernel-version $(shell uname -r)
initramfs: all
	bash initramfs/build.sh -o $(B)/initramfs.img --sysrecover $(B)/sysrecover $(INITRAMFS_ARGS)

# The rescue ISO: that image and its kernel behind GRUB, BIOS and UEFI, CD or USB
# stick (initramfs/rescue-iso.sh --help).  Another kernel: RESCUE_KERNEL=FILE with
# INITRAMFS_ARGS="--modules-dir DIR" for its modules; RESCUE_ISO_ARGS="--signed-efi DIR"
# for Secure Boot.
RESCUE_KERNEL ?= /boot/vmlinuz-$(shell uname -r)
.PHONY: rescue-iso
rescue-iso: initramfs
	bash initramfs/rescue-iso.sh -o $(B)/sysrecover-rescue.iso --kernel $(RESCUE_KERNEL) \
		--initrd $(B)/initramfs.img $(RESCUE_ISO_ARGS)

clean:
	rm -rf $(B) $(BA)

-include $(shell find $(B) $(BA) -name '*.d' 2>/dev/null)
