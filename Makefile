# tracefilter: build the library and the C examples, run the tests, install.
#
#   make            library (target/release) and examples (build/)
#   make run        the main job: build everything and trace a real program with tftrace
#   make test       every test: cargo's (unit, property, C ABI, kernel) and tests/*.sh
#   make install    PREFIX=/usr/local DESTDIR=   (make uninstall undoes it; without
#                   DESTDIR both run ldconfig, so that programs find libtracefilter.so.0)

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
PCDIR    ?= $(LIBDIR)/pkgconfig
DESTDIR  ?=
CC       ?= cc
CFLAGS   ?= -O2 -g -Wall -Wextra
CARGO    ?= cargo
LDCONFIG ?= ldconfig
# ld.so finds a new library in its directories only once its cache knows it;
# a staged install (DESTDIR) leaves that to the package's own scripts.
ldconfig  = [ -n "$(DESTDIR)" ] || PATH="$$PATH:/sbin:/usr/sbin" $(LDCONFIG) || \
	echo "make: $(LDCONFIG) failed: run it as root, or programs fail with" \
		"'libtracefilter.so.0: cannot open shared object file'"

VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
LIB      := target/release/libtracefilter.so
EXAMPLES := $(patsubst examples/%.c,build/%,$(wildcard examples/*.c))

.PHONY: all lib run test install uninstall clean FORCE

all: $(EXAMPLES)

# cargo knows when the library is stale; make asks it every time.
# The SONAME link lets build/ programs run from the tree through their rpath.
lib $(LIB) target/release/libtracefilter.a: FORCE
	$(CARGO) build --release --quiet
	ln -sf libtracefilter.so target/release/libtracefilter.so.0

build/%: examples/%.c examples/syscall_set.h include/tracefilter.h $(LIB)
	@mkdir -p build
	$(CC) $(CFLAGS) -Iinclude -o $@ $< -Ltarget/release -ltracefilter -Wl,-rpath,$(CURDIR)/target/release

# A real trace: the mode line (seccomp filter or fallback), then the calls.
run: all
	./build/tftrace -f -e trace=openat,execve -- sh -c 'cat /etc/hostname | wc -c'

test: all
	$(CARGO) test --release
	@for t in tests/*.sh; do [ -e "$$t" ] || continue; echo "== $$t"; sh "$$t" || exit 1; done

build/tracefilter.pc: FORCE
	@mkdir -p build
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
		'Name: tracefilter' \
		'Description: minimal, verified seccomp filters for syscall tracers' \
		'Version: $(VERSION)' \
		'Libs: -L$${libdir} -ltracefilter' \
		'Cflags: -I$${includedir}' > $@

install: lib build/tracefilter.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR)
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libtracefilter.so.$(VERSION)
	ln -sf libtracefilter.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtracefilter.so.0
	ln -sf libtracefilter.so.0 $(DESTDIR)$(LIBDIR)/libtracefilter.so
	install -m 644 target/release/libtracefilter.a $(DESTDIR)$(LIBDIR)/libtracefilter.a
	install -m 644 include/tracefilter.h $(DESTDIR)$(INCDIR)/tracefilter.h
	install -m 644 build/tracefilter.pc $(DESTDIR)$(PCDIR)/tracefilter.pc
	@$(ldconfig)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libtracefilter.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libtracefilter.so.0 \
		$(DESTDIR)$(LIBDIR)/libtracefilter.so $(DESTDIR)$(LIBDIR)/libtracefilter.a \
		$(DESTDIR)$(INCDIR)/tracefilter.h $(DESTDIR)$(PCDIR)/tracefilter.pc
	@$(ldconfig)

clean:
	rm -rf build
	$(CARGO) clean
