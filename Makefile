# ajail: see README.md. `make demo` and `make check` do all the set-up on Debian 12.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
CC      ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

WARN := -Wall -Wextra -Werror=shadow -Werror=missing-prototypes -Werror=strict-prototypes \
        -Werror=format=2 -Werror=switch-enum -Werror=implicit-function-declaration \
        -Werror=return-type -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DAJAIL_VERSION='"$(VERSION)"'
# No -Isrc for the program: src/archive.h includes libarchive's <archive.h>, which -Isrc would shadow.
LDFLAGS += -Wl,--as-needed -Wl,-z,relro,-z,now

# Every library the finished tool uses is checked here, so `make` fails early with one clear line
# when a -dev package is missing. The run path links only what it calls (--as-needed): start-up
# latency is a feature, and each shared library costs relocations at every exec.
LIBS_PC := libarchive libgit2 libzstd libseccomp openssl
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
# Linked: only what every run may need and is cheap to load. libarchive (and libgit2) pull in
# libxml2, ICU, libstdc++, OpenSSL: loaded with dlopen when a verb needs them (src/lazy_*.c), as is
# libssl for an https:// keygate (its headers only, for the functions' types).
PC_LIBS   := $(shell $(PKG_CONFIG) --libs libzstd 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# Pure modules (no syscalls that change anything): unit-tested directly.
PURE_SRCS := src/error.c src/util.c src/config.c src/cli.c src/plan.c src/recipe.c src/netpolicy.c src/proxy_wire.c src/profile.c \
             src/projconf.c src/sha256.c src/json.c
# Modules that touch the kernel or the disk: every other src/*.c (gen_seccomp.c is a build tool).
SYS_SRCS  := $(filter-out $(PURE_SRCS) src/gen_seccomp.c,$(sort $(wildcard src/*.c)))
SRCS := $(PURE_SRCS) $(SYS_SRCS)
OBJS := $(SRCS:src/%.c=build/%.o)
PURE_OBJS := $(PURE_SRCS:src/%.c=build/%.o)

UNIT_TESTS := $(patsubst tests/unit/%.c,build/tests/%,$(wildcard tests/unit/test_*.c))
# The escape probe runs inside jails on any rootfs (busybox included): static, no libraries.
HELPERS := build/probe build/racer

.PHONY: all check unit unit-san fuzz fuzz-build fuzz-smoke integration completions-check doc-check install uninstall clean deps \
        demo bench check-deps format

all: check-deps ajail build/ajail.1

check-deps:
	@$(PKG_CONFIG) --exists $(LIBS_PC) || { echo "ajail: missing libraries ($(LIBS_PC)); run 'make deps'" >&2; exit 1; }

ajail: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(PC_LIBS)

build/%.o: src/%.c $(wildcard src/*.h) | build
	$(CC) $(CFLAGS) $(PC_CFLAGS) -MMD -c -o $@ $<

# The seccomp deny list is compiled to BPF here, with libseccomp, for this machine's architecture.
build/gen-seccomp: src/gen_seccomp.c src/seccomp_list.h | build
	$(CC) $(CFLAGS) $(PC_CFLAGS) -o $@ $< $(shell $(PKG_CONFIG) --libs libseccomp)
build/seccomp_bpf.h: build/gen-seccomp
	build/gen-seccomp > $@.tmp && mv $@.tmp $@
build/harden.o: build/seccomp_bpf.h
build/harden.o: CFLAGS += -Ibuild
# The shipped --allow-net presets, compiled in: each line of share/net-presets a C string literal.
build/net_presets.h: share/net-presets | build
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@
build/netpolicy.o build/san/netpolicy.o build/fuzz/obj/netpolicy.o: build/net_presets.h
build/netpolicy.o build/san/netpolicy.o: CFLAGS += -Ibuild
# The shipped agent profiles, compiled in: { "NAME", "TEXT" }, one per file of share/profiles.
PROFILES := $(sort $(wildcard share/profiles/*))
build/profiles.h: $(PROFILES) | build
	for f in $(PROFILES); do printf '{ "%s",\n' "$${f##*/}"; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' "$$f"; echo '},'; done > $@.tmp && mv $@.tmp $@
build/profile.o build/san/profile.o build/fuzz/obj/profile.o: build/profiles.h
build/profile.o build/san/profile.o: CFLAGS += -Ibuild

build:
	@mkdir -p build/tests

# ajail(1) is made from the built binary's --help and every verb's (tools/mkman.py), plus what
# doc/ajail.1.in adds: the page cannot say other than the program does.
PYTHON ?= python3
build/ajail.1: ajail doc/ajail.1.in tools/mkman.py | build
	@command -v $(PYTHON) >/dev/null || { echo "ajail: $(PYTHON) is needed to make the man page; run 'make deps'" >&2; exit 1; }
	$(PYTHON) tools/mkman.py ./ajail doc/ajail.1.in > $@.tmp && mv $@.tmp $@

build/tests/test_%: tests/unit/test_%.c $(PURE_OBJS) | build
	$(CC) $(CFLAGS) -Isrc $(CMOCKA_CFLAGS) -o $@ $< $(filter %.o,$^) $(CMOCKA_LIBS)

# cgroup.c only reads and writes files under a root it is given: tested against a fake cgroupfs.
build/tests/test_cgroup: build/cgroup.o
# walk.c only reads the tree it is given: tested on one made in a temp dir.
build/tests/test_archive: build/walk.o

build/probe: tests/helpers/probe.c | build
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -static -o $@ $< -lpthread

build/racer: tests/helpers/racer.c | build
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -static -o $@ $<

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# The same unit tests, built again with ASan+UBSan in build/san/ (own objects, so nothing mixes with
# the program's): a use-after-free, an overrun or undefined behaviour aborts the test instead of
# passing by luck. Leaks count too (LeakSanitizer).
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_PURE_OBJS := $(PURE_SRCS:src/%.c=build/san/%.o)
SAN_UNIT_TESTS := $(UNIT_TESTS:build/tests/%=build/san/tests/%)

build/san/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(PC_CFLAGS) -c -o $@ $<

build/san/tests/test_%: tests/unit/test_%.c $(SAN_PURE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Isrc $(CMOCKA_CFLAGS) -o $@ $< $(filter %.o,$^) $(CMOCKA_LIBS)

build/san/tests/test_cgroup: build/san/cgroup.o
build/san/tests/test_archive: build/san/walk.o

# Kept between runs (make would delete them as intermediates of the pattern rules).
.PRECIOUS: build/san/%.o

unit-san: $(SAN_UNIT_TESTS)
	@set -e; for t in $(SAN_UNIT_TESTS); do echo "== $$t"; $(SAN_ENV) $$t; done

# ---- Fuzzing (tests/fuzz/README.md) ------------------------------------------------------------
# Every tests/fuzz/fuzz_NAME.c is a libFuzzer target: build/fuzz/fuzz_NAME, linked against all of src/
# but main.c, compiled again with clang's coverage and ASan+UBSan and put in an archive, so that each
# target pulls in only the objects it needs. A new target is a new fuzz_*.c plus its seed corpus in
# tests/fuzz/corpus/fuzz_NAME/; tests/fuzz/run.sh keeps what a run finds in build/fuzz/.
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The warnings stay warnings here: `make all` enforces them with gcc, and clang has opinions of its
# own (it counts vsnprintf(fmt) in a printf-like wrapper as -Wformat-nonliteral).
FUZZ_CFLAGS := $(subst -Werror=,-W,$(CFLAGS)) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wno-format-nonliteral
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/%)
FUZZ_OBJS := $(filter-out build/fuzz/obj/main.o,$(OBJS:build/%=build/fuzz/obj/%))
FUZZ_TIME ?= 300
FUZZ_SMOKE_TIME ?= 20

build/fuzz/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PC_CFLAGS) -c -o $@ $<
build/fuzz/obj/harden.o: build/seccomp_bpf.h
build/fuzz/obj/harden.o: FUZZ_CFLAGS += -Ibuild
build/fuzz/obj/netpolicy.o: FUZZ_CFLAGS += -Ibuild
build/fuzz/obj/profile.o: FUZZ_CFLAGS += -Ibuild
.PRECIOUS: build/fuzz/obj/%.o

build/fuzz/libajail.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libajail.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -iquote src -o $@ $< build/fuzz/libajail.a $(PC_LIBS) -ldl -lpthread

fuzz-build: $(FUZZ_BINS)

# FUZZ_TIME seconds per target (FUZZ_TARGETS=fuzz_import for one), growing build/fuzz/corpus/.
fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do bash tests/fuzz/run.sh $$t $(FUZZ_TIME); done

# What `make check` runs: each target over its seed corpus, then FUZZ_SMOKE_TIME seconds of fuzzing.
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do bash tests/fuzz/run.sh $$t $(FUZZ_SMOKE_TIME); done

integration: ajail $(HELPERS)
	bash tests/integration/run.sh

completions-check:
	bash completions/test-completions.sh

# The man page renders without a warning, and --help, the README's options table, the man page, the
# parser and the bash completion name the same options.
doc-check: ajail build/ajail.1
	bash tests/doc-check.sh

# `check` installs what it needs first, so it works on a fresh Debian 12 machine.
check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) fuzz-smoke
	$(MAKE) completions-check
	$(MAKE) doc-check
	$(MAKE) integration

demo: deps
	$(MAKE) all
	bash tests/helpers/demo.sh

# `make bench` runs every section; `make bench SECTIONS="startup layer-startup"` only those.
bench: deps
	$(MAKE) all
	bash bench/run.sh $(SECTIONS)

# Debian 12 packages: libraries, cmocka, busybox-static (the tests' tiny rootfs), the tools the
# tests and benchmarks drive (bubblewrap and util-linux's unshare are what users would use instead),
# clang and its runtime (libFuzzer, the sanitizers) for tests/fuzz/, man-db and groff-base (doc-check
# renders the man page as man shows it).
DEB_PKGS := build-essential pkg-config libarchive-dev libgit2-dev libzstd-dev libseccomp-dev libssl-dev \
            libcmocka-dev busybox-static bubblewrap util-linux bsdutils procps git iproute2 passwd tar zstd gzip xz-utils bzip2 python3 mmdebstrap uidmap \
            clang libclang-rt-14-dev curl openssl strace man-db groff-base \
            podman runc skopeo umoci python3-yaml
# Commands that a package other than Debian's may provide (this machine's npm comes with NodeSource's
# nodejs, which conflicts with Debian's npm): installed only when the command is missing.
DEB_CMDS := npm:npm
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	for pc in $(DEB_CMDS); do \
	  command -v $${pc%%:*} >/dev/null 2>&1 || missing="$$missing $${pc#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

install: all
	install -Dm755 ajail $(DESTDIR)$(BINDIR)/ajail
	install -Dm644 completions/ajail.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/ajail
	install -Dm644 completions/_ajail $(DESTDIR)$(DATADIR)/zsh/site-functions/_ajail
	install -Dm644 completions/ajail.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/ajail.fish
	install -Dm644 build/ajail.1 $(DESTDIR)$(DATADIR)/man/man1/ajail.1
	install -d $(DESTDIR)$(DATADIR)/ajail
	cp -R mkrootfs rootfs-recipes $(DESTDIR)$(DATADIR)/ajail/
	install -Dm644 share/net-presets $(DESTDIR)$(DATADIR)/ajail/net-presets
	for f in $(PROFILES); do install -Dm644 "$$f" $(DESTDIR)$(DATADIR)/ajail/profiles/$${f##*/}; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ajail $(DESTDIR)$(DATADIR)/bash-completion/completions/ajail \
	      $(DESTDIR)$(DATADIR)/zsh/site-functions/_ajail $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/ajail.fish \
	      $(DESTDIR)$(DATADIR)/man/man1/ajail.1
	rm -rf $(DESTDIR)$(DATADIR)/ajail

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/helpers/*.c

clean:
	rm -rf build ajail

-include $(OBJS:.o=.d)
