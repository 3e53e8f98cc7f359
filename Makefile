# mod_xapi_forward - build, test and install. `make` configures first when
# config.mk is missing; ./configure --help lists the build options.
-include config.mk

SRCDIR  = mod_xapi_forward
# the pure core (no httpd headers: make check-layering) lives in its own
# folder; the httpd glue is everything directly under $(SRCDIR)
COREDIR = $(SRCDIR)/core
GLUE    = $(SRCDIR)/mod_xapi_forward.c $(SRCDIR)/xf_config.c \
          $(SRCDIR)/xf_access.c $(SRCDIR)/xf_cache.c $(SRCDIR)/xf_task.c \
          $(SRCDIR)/xf_xapicall.c $(SRCDIR)/xf_answer.c $(SRCDIR)/xf_poolsecret.c \
          $(SRCDIR)/xf_config_cmds.c $(SRCDIR)/xf_config_set.c \
          $(SRCDIR)/xf_config_plugin.c \
          $(SRCDIR)/xf_proxy.c $(SRCDIR)/xf_relay.c $(SRCDIR)/xf_relay_body.c \
          $(SRCDIR)/xf_relay_resp.c $(SRCDIR)/xf_reqview.c \
          $(SRCDIR)/xf_tunnel.c $(SRCDIR)/xf_watch.c $(SRCDIR)/xf_path.c \
          $(SRCDIR)/xf_confcheck.c $(SRCDIR)/xf_stats.c $(SRCDIR)/xf_plugin.c \
          $(SRCDIR)/xf_proxyproto.c \
          $(SRCDIR)/xf_connect.c $(SRCDIR)/xf_connect_read.c \
          $(SRCDIR)/xf_sni.c $(SRCDIR)/xf_clientcert.c
CORE    = $(COREDIR)/xf_envelope.c $(COREDIR)/xf_parse.c \
          $(COREDIR)/xf_fdpass.c $(COREDIR)/xf_http.c $(COREDIR)/xf_auth.c \
          $(COREDIR)/xf_xapi.c $(COREDIR)/xf_routes.c $(COREDIR)/xf_svc.c \
          $(COREDIR)/xf_proxyline.c $(COREDIR)/xf_connectline.c \
          $(COREDIR)/xf_cert.c
SRC     = $(GLUE) $(CORE)
HDRS    = $(wildcard $(SRCDIR)/*.h $(COREDIR)/*.h) $(SRCDIR)/xf_version.h
MODULE  = .libs/mod_xapi_forward.so
UNIT    = t/unit/test_xf_envelope t/unit/test_xf_fdpass t/unit/test_xf_http \
          t/unit/test_xf_auth t/unit/test_xf_xapi t/unit/test_xf_routes \
          t/unit/test_xf_svc t/unit/test_xf_proxyline t/unit/test_xfrecv \
          t/unit/test_xf_connectline t/unit/test_xf_cert
UNIT_CFLAGS = -g -O1 $(WARN_CFLAGS) $(SAN_CFLAGS) -I$(SRCDIR) -I$(COREDIR) -It/unit \
          $(APR_CFLAGS) $(JSONC_CFLAGS) $(CMOCKA_CFLAGS)
UNIT_LIBS = $(APR_LIBS) $(JSONC_LIBS) $(CMOCKA_LIBS)
UNIT_CFLAGS += $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
APXS_WC = $(foreach f,$(WARN_CFLAGS) -O2,-Wc,$(f))
# only xapi_forward_module is exported from the .so (check: make check-exports)
EXPORTS = $(SRCDIR)/exports.map
APXS_WL = -Wl,-Wl,--version-script=$(CURDIR)/$(EXPORTS)

# the receiver kit for service authors (kit/): C library, Python module.
# Install directories (debian/rules sets them for the packages)
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
# xapi-forward-stunnel-sync (tools/): the command, its manual, and the
# drop-in that makes xapi's "systemctl restart stunnel@xapi" run it; in
# systemd's vendor directory so that an administrator can mask it from
# /etc/systemd/system (man xapi-forward-stunnel-sync)
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
# the stunnel@xapi drop-in is installed here, inactive: the operator links
# it into /etc/systemd/system/stunnel@xapi.service.d/ to hand port 443 over
XFSHAREDIR ?= $(PREFIX)/share/xapi-forward
# where /usr/bin/python3 looks for local modules (Debian:
# /usr/local/lib/python3.X/dist-packages)
KIT_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
PYTHONDIR ?= $(shell $(KIT_PYTHON) -c 'import sysconfig; print(sysconfig.get_path("purelib"))' 2>/dev/null || echo $(PREFIX)/lib/python3/dist-packages)
KIT     = kit/c/libxfrecv.so.1 kit/c/xfr-hello
KIT_SRC = kit/c/xapi_forward_receiver.c kit/c/xapi_forward_receiver.h

all: $(MODULE) $(KIT)

kit/c/libxfrecv.so.1: $(KIT_SRC) config.mk
	$(CC) -shared -fPIC -O2 -g $(WARN_CFLAGS) $(JSONC_CFLAGS) $(CPPFLAGS) \
	  $(CFLAGS) $(LDFLAGS) -Wl,-soname,libxfrecv.so.1 -o $@ \
	  kit/c/xapi_forward_receiver.c $(JSONC_LIBS)
	ln -sf libxfrecv.so.1 kit/c/libxfrecv.so

# the C example (64_plugin_c.t runs it); not installed: the examples are
# kit/c/hello.c and kit/python/hello.py (Debian: in the kit packages'
# /usr/share/doc/PACKAGE/examples/)
kit/c/xfr-hello: kit/c/hello.c kit/c/libxfrecv.so.1
	$(CC) -O2 -g $(WARN_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -Ikit/c \
	  -o $@ kit/c/hello.c -Lkit/c -lxfrecv

install-kit: $(KIT)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PYTHONDIR)
	install -m 644 kit/c/libxfrecv.so.1 $(DESTDIR)$(LIBDIR)/
	ln -sf libxfrecv.so.1 $(DESTDIR)$(LIBDIR)/libxfrecv.so
	install -m 644 kit/c/xapi_forward_receiver.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(PACKAGE_VERSION)|' kit/c/xapi-forward-receiver.pc.in \
	  >$(DESTDIR)$(LIBDIR)/pkgconfig/xapi-forward-receiver.pc
	install -m 644 kit/python/xapi_forward_receiver.py $(DESTDIR)$(PYTHONDIR)/
	if [ -z "$(DESTDIR)" ]; then ldconfig; fi

config.mk: configure.ac config.mk.in $(SRCDIR)/xf_version.h.in
	autoreconf -fi
	./configure $(CONFIGURE_ARGS)

$(SRCDIR)/xf_version.h: config.mk

$(MODULE): config.mk $(SRC) $(HDRS) $(EXPORTS)
	$(APXS) -c -o mod_xapi_forward.la $(APXS_WC) $(APXS_WL) $(foreach f,$(JSONC_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS),-Wc,$(f)) \
	  -I$(SRCDIR) -I$(COREDIR) $(SRC) $(JSONC_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS)

install-sync:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(XFSHAREDIR)
	install -m 755 tools/xapi-forward-stunnel-sync $(DESTDIR)$(SBINDIR)/
	install -m 644 tools/xapi-forward-stunnel-sync.8 $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@XFSHAREDIR@|$(XFSHAREDIR)|g' tools/systemd/90-xapi-forward.conf.in \
	  >$(DESTDIR)$(XFSHAREDIR)/90-xapi-forward.conf
	chmod 644 $(DESTDIR)$(XFSHAREDIR)/90-xapi-forward.conf

# the front door: the TLS vhost is a site (a2ensite xapi-frontdoor-vhost);
# the route table and xapi's default settings, which only that vhost
# includes, go where no a2enconf finds them ($(FRONTDOORDIR)), and the
# vhost's Include lines are pointed there
FRONTDOORDIR ?= $(HTTPD_SYSCONFDIR)/xapi-forward
SITESDIR ?= $(HTTPD_SYSCONFDIR)/sites-available
install-frontdoor:
	install -d $(DESTDIR)$(FRONTDOORDIR) $(DESTDIR)$(SITESDIR)
	install -m 644 conf.d/xapi-frontdoor.conf \
	  conf.d/xapi-frontdoor-settings.conf $(DESTDIR)$(FRONTDOORDIR)/
	sed 's|/etc/apache2/xapi-forward/|$(FRONTDOORDIR)/|g' \
	  conf.d/xapi-frontdoor-vhost.conf \
	  >$(DESTDIR)$(SITESDIR)/xapi-frontdoor-vhost.conf

install: $(MODULE) install-kit install-sync install-frontdoor
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(HTTPD_LIBEXECDIR) -n xapi_forward \
	  mod_xapi_forward.la
	install -d $(DESTDIR)$(HTTPD_INCLUDEDIR)
	install -m 644 $(SRCDIR)/mod_xapi_forward.h $(DESTDIR)$(HTTPD_INCLUDEDIR)/
	install -d $(DESTDIR)$(HTTPD_SYSCONFDIR)/mods-available
	install -m 644 conf.d/xapi_forward.load conf.d/xapi_forward.conf \
	  $(DESTDIR)$(HTTPD_SYSCONFDIR)/mods-available/

# ---- unit tests (cmocka) --------------------------------------------------
t/unit/test_xf_envelope: t/unit/test_xf_envelope.c $(COREDIR)/xf_envelope.c $(COREDIR)/xf_parse.c $(HDRS) t/unit/xf_test.h config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_envelope.c $(COREDIR)/xf_parse.c $(UNIT_LIBS)

t/unit/test_xf_http: t/unit/test_xf_http.c $(COREDIR)/xf_http.c $(COREDIR)/xf_parse.c $(HDRS) config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_http.c $(COREDIR)/xf_parse.c $(UNIT_LIBS)

t/unit/test_xf_fdpass: t/unit/test_xf_fdpass.c $(COREDIR)/xf_fdpass.c $(HDRS) config.mk
	$(CC) $(UNIT_CFLAGS) -Wl,--wrap=sendmsg -o $@ $< $(COREDIR)/xf_fdpass.c $(UNIT_LIBS)

t/unit/test_xf_auth: t/unit/test_xf_auth.c $(COREDIR)/xf_auth.c $(COREDIR)/xf_parse.c $(HDRS) config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_auth.c $(COREDIR)/xf_parse.c $(UNIT_LIBS) $(CRYPTO_LIBS)

t/unit/test_xf_xapi: t/unit/test_xf_xapi.c $(COREDIR)/xf_xapi.c $(HDRS) config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_xapi.c $(UNIT_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS) -lssl -lpthread

t/unit/test_xf_svc: t/unit/test_xf_svc.c $(COREDIR)/xf_svc.c $(HDRS) config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_svc.c $(UNIT_LIBS)

t/unit/test_xfrecv: t/unit/test_xfrecv.c $(KIT_SRC) config.mk
	$(CC) $(UNIT_CFLAGS) -Ikit/c -o $@ $< kit/c/xapi_forward_receiver.c $(UNIT_LIBS)

t/unit/test_xf_routes: t/unit/test_xf_routes.c $(COREDIR)/xf_routes.c $(HDRS) t/unit/xf_test.h config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_routes.c $(UNIT_LIBS)

t/unit/test_xf_proxyline: t/unit/test_xf_proxyline.c $(COREDIR)/xf_proxyline.c $(HDRS) t/unit/xf_test.h config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_proxyline.c $(UNIT_LIBS)

t/unit/test_xf_connectline: t/unit/test_xf_connectline.c $(COREDIR)/xf_connectline.c $(COREDIR)/xf_routes.c $(HDRS) t/unit/xf_test.h config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_connectline.c $(COREDIR)/xf_routes.c $(UNIT_LIBS)

t/unit/test_xf_cert: t/unit/test_xf_cert.c $(COREDIR)/xf_cert.c $(HDRS) t/unit/xf_test.h config.mk
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COREDIR)/xf_cert.c $(UNIT_LIBS) $(CRYPTO_LIBS)

unit: $(UNIT)
	@for t in $(UNIT); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=0 ./$$t || exit 1; done
	@echo "== kit/python (unittest)"
	@cd kit/python && python3 -B -m unittest -q test_xapi_forward_receiver

check: all unit check-layering check-config check-docs check-exports fuzz-replay
	@echo "make check: OK"

check-valgrind: $(UNIT)
	@for t in $(UNIT); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=1 --leak-check=full ./$$t || exit 1; done

# the pure core (docs/development.md: Source layout) includes no httpd header and no
# glue header: every quoted include names a file of $(COREDIR); and every
# core file is in the build
check-layering:
	@bad=$$(grep -lE '#include +[<"](http|mod_proxy\.h|httpd\.h|ap_|util_)' \
	  $(COREDIR)/*.c $(COREDIR)/*.h 2>/dev/null); \
	if [ -n "$$bad" ]; then echo "httpd header in pure core: $$bad"; exit 1; fi; \
	for f in $(COREDIR)/*.c $(COREDIR)/*.h; do \
	  for h in $$(sed -n 's/^#include "\([^"]*\)".*/\1/p' $$f); do \
	    [ -f $(COREDIR)/$$h ] || { echo "$$f includes $$h, not a core header"; exit 1; }; \
	  done; done; \
	for f in $(COREDIR)/*.c; do case " $(CORE) " in *" $$f "*) ;; \
	  *) echo "$$f is not in CORE (Makefile)"; exit 1;; esac; done

# the .so exports the module record and nothing else
check-exports: $(MODULE)
	@syms=$$(nm -D --defined-only $(MODULE) | awk '$$2 !~ /^[aAuUvVwW]$$/ {print $$3}'); \
	if [ "$$syms" != xapi_forward_module ]; then \
	  echo "exported from $(MODULE) besides xapi_forward_module:"; echo "$$syms"; exit 1; fi

# every conf field is in create and merge; every directive is documented
# the defaults as xf_config.h's rows give them (t/check-config.sh)
t/config_defaults: t/config_defaults.c $(SRCDIR)/xf_config.h $(COREDIR)/xf_types.h config.mk
	$(CC) -O0 $(WARN_CFLAGS) -Wno-unused-function -I$(SRCDIR) -I$(COREDIR) \
	  -I$$($(APXS) -q INCLUDEDIR) $(APR_CFLAGS) -o $@ $<

check-config: t/config_defaults
	@sh t/check-config.sh

# every relative link and #anchor of README.md and docs/ resolves
check-docs:
	@sh t/check-docs.sh

# ---- integration tests (Apache::Test, as an unprivileged user) -----------
test: check
	@if [ "$(HAVE_APACHE_TEST)" != yes ]; then \
	  echo "*** SKIPPING Apache::Test suite: install libapache2-mod-perl2 and libsocket-msghdr-perl"; \
	  exit 0; fi; \
	sh t/run-apache-tests.sh $(CURDIR)/$(MODULE)

# ---- the live module under memory checkers (t/run-checked.sh) ----------
# the module built with ASan + UBSan in its own directory (the normal
# objects stay as they are); httpd runs it with the runtimes preloaded
ASAN_DIR    = build/asan
ASAN_MODULE = $(ASAN_DIR)/.libs/mod_xapi_forward.so
ASAN_WC     = -Wc,-O1 -Wc,-g -Wc,-fno-omit-frame-pointer \
              -Wc,-fsanitize=address,undefined
# hand-off and relay files run under valgrind (single process: slow):
# path hand-off/relay (15), hand-off (20), control hold (25), buffered
# bytes (30), relay and tunnel (40-49)
VALGRIND_LIVE_TESTS = $(wildcard t/xapi_forward/15_*.t t/xapi_forward/20_*.t \
              t/xapi_forward/25_*.t t/xapi_forward/30_*.t \
              t/xapi_forward/4[0-9]_*.t)

$(ASAN_MODULE): config.mk $(SRC) $(HDRS) $(EXPORTS)
	rm -rf $(ASAN_DIR) && mkdir -p $(ASAN_DIR)/$(COREDIR)
	for f in $(sort $(SRC) $(HDRS)); do cp $$f $(ASAN_DIR)/$$f; done
	cd $(ASAN_DIR) && $(APXS) -c -o mod_xapi_forward.la $(APXS_WC) \
	  $(ASAN_WC) $(APXS_WL) \
	  $(foreach f,$(JSONC_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS),-Wc,$(f)) \
	  -I$(SRCDIR) -I$(COREDIR) $(SRC) -lasan -lubsan $(JSONC_LIBS) $(CURL_LIBS) \
	  $(CRYPTO_LIBS)

# the whole suite (event MPM; XF_MPMS adds passes) against the ASan module
test-asan: $(ASAN_MODULE)
	sh t/run-checked.sh asan $(CURDIR)/$(ASAN_MODULE) $(TESTS)

test-valgrind-live: $(MODULE)
	sh t/run-checked.sh valgrind $(CURDIR)/$(MODULE) \
	  $(or $(TESTS),$(VALGRIND_LIVE_TESTS))

# ---- soak: t/xapi_forward/95_soak_short.t with big counts ----------------
# 200 concurrent ab clients, event MPM, loopback; -D XF_SOAK gives the
# event MPM 2 children of 250 threads (t/conf/soak.conf.in says why:
# Apache::Test's -threadsperchild/-minclients/-maxclients only set up the
# worker MPM); the test tree in a /tmp/xfsoak.* dir of its own (the
# default /tmp/xft.* ones were removed under long runs on the shared
# machine); no verbose re-run of a failed soak (it is verbose already)
SOAK_HANDOFFS    = 100000
SOAK_RELAYED     = 100000
SOAK_CONCURRENCY = 200
SOAK_RSS_KB      = 16384
SOAK_TIMEOUT     = 3600
soak: $(MODULE)
	dir=$$(mktemp -d /tmp/xfsoak.XXXXXX) && chmod 755 $$dir && \
	XF_SOAK_HANDOFFS=$(SOAK_HANDOFFS) XF_SOAK_RELAYED=$(SOAK_RELAYED) \
	XF_SOAK_CONCURRENCY=$(SOAK_CONCURRENCY) XF_SOAK_RSS_KB=$(SOAK_RSS_KB) \
	XF_TMPDIR=$$dir XF_MPMS= XF_RERUN=0 timeout $(SOAK_TIMEOUT) \
	  sh t/run-apache-tests.sh $(CURDIR)/$(MODULE) -verbose \
	  -defines XF_SOAK t/xapi_forward/95_soak_short.t

# the shared comparison (hand-off row, relay row), then our own rows
# (authenticated hand-off, TLS relay vs mod_proxy_http); BENCH_ENV passes
# knobs to both, e.g. BENCH_ENV="ROUNDS=1 DUR=5"
bench: $(MODULE)
	env $(BENCH_ENV) bash bench/run-shared.sh $(CURDIR)/$(MODULE)
	env $(BENCH_ENV) bash bench/extra.sh $(CURDIR)/$(MODULE)

demo:
	sh demo/quickstart.sh

include fuzz/fuzz.mk

format:
	clang-format -i $(SRCDIR)/*.c $(SRCDIR)/*.h $(COREDIR)/*.c $(COREDIR)/*.h t/unit/*.c t/unit/*.h \
	  kit/c/*.c kit/c/*.h

format-check:
	clang-format --dry-run --Werror $(SRCDIR)/*.c $(SRCDIR)/*.h \
	  $(COREDIR)/*.c $(COREDIR)/*.h t/unit/*.c t/unit/*.h \
	  kit/c/*.c kit/c/*.h

clean:
	rm -rf .libs $(SRCDIR)/.libs $(COREDIR)/.libs *.la *.lo *.slo \
	  $(SRCDIR)/*.lo $(SRCDIR)/*.slo $(SRCDIR)/*.o $(COREDIR)/*.lo \
	  $(COREDIR)/*.slo $(COREDIR)/*.o $(UNIT) t/logs fuzz/bin build \
	  kit/c/libxfrecv.so* kit/c/xfr-hello t/config_defaults

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache \
	  aclocal.m4 $(SRCDIR)/xf_version.h

.PHONY: all install install-kit install-sync install-frontdoor unit check check-valgrind check-layering check-config check-docs check-exports \
        test test-asan test-valgrind-live soak bench demo format format-check clean distclean
