# Fuzzing (libFuzzer, clang) and the corpus replay run by `make check`.
# A new target: add its name to FUZZ_TARGETS, write fuzz/fuzz_<name>.c,
# set FUZZ_SRC_<name> (the sources it needs) and, if any, FUZZ_LIBS_<name>;
# seeds go to fuzz/corpus/<name>/, a dictionary to fuzz/<name>.dict.

FUZZ_TARGETS = envelope parse http xapi

FUZZ_SRC_envelope = $(COREDIR)/xf_envelope.c $(COREDIR)/xf_parse.c
FUZZ_SRC_parse    = $(COREDIR)/xf_parse.c $(COREDIR)/xf_auth.c
FUZZ_LIBS_parse   = $(CRYPTO_LIBS)
FUZZ_SRC_http     = $(COREDIR)/xf_http.c $(COREDIR)/xf_parse.c
FUZZ_SRC_xapi     = $(COREDIR)/xf_xapi.c
FUZZ_LIBS_xapi    = $(CURL_LIBS) $(CRYPTO_LIBS)

FUZZ_CC     = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -I$(COREDIR) -Ifuzz $(APR_CFLAGS) $(JSONC_CFLAGS) \
              $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
FUZZ_BIN    = $(FUZZ_TARGETS:%=fuzz/bin/fuzz_%)
REPLAY_BIN  = $(FUZZ_TARGETS:%=fuzz/bin/replay_%)
# seconds per target for `make fuzz`; FUZZ_ARGS: more libFuzzer options
FUZZ_TIME   = 60
FUZZ_ARGS   =

.SECONDEXPANSION:

fuzz/bin/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $$(FUZZ_SRC_$$*) $(HDRS) config.mk
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(APR_LIBS) \
	  $(JSONC_LIBS) $(FUZZ_LIBS_$*)

# the replay driver: ordinary compiler, the configure flags (sanitizers
# with --enable-sanitizers)
fuzz/bin/replay_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz.h $$(FUZZ_SRC_$$*) $(HDRS) config.mk
	@mkdir -p fuzz/bin
	$(CC) -g -O1 $(WARN_CFLAGS) $(SAN_CFLAGS) -I$(COREDIR) -Ifuzz \
	  $(APR_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) \
	  -o $@ fuzz/replay.c $< $(FUZZ_SRC_$*) $(APR_LIBS) $(JSONC_LIBS) \
	  $(FUZZ_LIBS_$*)

# every committed corpus file and regression input, in `make check`
fuzz-replay: $(REPLAY_BIN)
	@for t in $(FUZZ_TARGETS); do \
	  ASAN_OPTIONS=detect_leaks=0 ./fuzz/bin/replay_$$t fuzz/corpus/$$t \
	    $$(test -d fuzz/regress/$$t && echo fuzz/regress/$$t) || exit 1; \
	done

# one target after the other, FUZZ_TIME seconds each, in one process (no
# -jobs: libFuzzer then forks and logs to fuzz-N.log): new inputs
# go to fuzz/work/<target> (not committed), crashes to fuzz/findings/
fuzz: $(FUZZ_BIN)
	@mkdir -p fuzz/findings
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/work/$$t; echo "== fuzz_$$t ($(FUZZ_TIME) s)"; \
	  ./fuzz/bin/fuzz_$$t -max_total_time=$(FUZZ_TIME) \
	    -print_final_stats=1 -dict=fuzz/$$t.dict \
	    -artifact_prefix=fuzz/findings/$$t- $(FUZZ_ARGS) \
	    fuzz/work/$$t fuzz/corpus/$$t || exit 1; \
	done

# fold what fuzzing found into the committed corpus (minimized)
fuzz-merge: $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do \
	  ./fuzz/bin/fuzz_$$t -merge=1 fuzz/corpus/$$t fuzz/work/$$t || exit 1; \
	done

fuzz-clean:
	rm -rf fuzz/bin fuzz/work fuzz/findings fuzz-*.log

.PHONY: fuzz fuzz-replay fuzz-merge fuzz-clean
