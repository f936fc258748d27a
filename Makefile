# FlowTrace - zero-code call tracer for Python.  `make help` lists targets and options.

CC      ?= cc
V       ?= 0
SAN     ?=
PYTHON  ?= /usr/bin/python3
PREFIX  ?= /usr/local
O       ?= build
# The one version of FlowTrace: every command's --version and the wheel read VERSION.
FT_VERSION := $(shell cat VERSION)

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wvla -Wundef -Wwrite-strings -Wpointer-arith -Wno-format-nonliteral
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -1)),)
WARN += -Wimplicit-fallthrough=3
else
WARN += -Wimplicit-fallthrough
endif

OPT      ?= -O2 -g
CFLAGS_COMMON := -std=gnu11 $(OPT) $(WARN) -I. -MMD -MP -fno-omit-frame-pointer \
                 -DFT_VERSION='"$(FT_VERSION)"'
ifneq ($(SAN),)
CFLAGS_COMMON += -fsanitize=$(SAN) -fno-sanitize-recover=all
LDFLAGS_SAN   := -fsanitize=$(SAN)
endif
# Everything that may end up inside libflowtrace.so is position-independent and hidden.
CFLAGS_PIC := $(CFLAGS_COMMON) -fPIC -fvisibility=hidden
# The engines' callbacks run for every call and return (docs/architecture.md, "The fast
# path"): their fast paths are leaves, which then keep no frame pointer of their own, and
# the records' words are stored one by one (paired in SSE registers they cost more).
HOT_CFLAGS := -momit-leaf-frame-pointer -fno-tree-slp-vectorize
$(O)/inject/engine_monitor.o $(O)/inject/engine_profile.o: CFLAGS_PIC += $(HOT_CFLAGS)
# The writer's per-call files (lib/calls.c's record loop and tree, lib/emit.c's text):
# a frame pointer in each of their small functions costs the writer 1-2% of its
# instructions (docs/architecture.md, "The writer's cost").
WRITER_HOT_CFLAGS := -fomit-frame-pointer
$(O)/lib/calls.o $(O)/lib/emit.o: CFLAGS_PIC += $(WRITER_HOT_CFLAGS)

LIB_SRCS    := $(wildcard lib/*.c)
INJECT_SRCS := $(wildcard inject/*.c)
WRITER_SRCS := $(wildcard tools/writer/*.c)
CLI_SRCS    := $(wildcard tools/cli/*.c)
RUN_SRCS    := $(wildcard tools/run/*.c)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)

LIB_OBJS    := $(LIB_SRCS:%.c=$(O)/%.o)
INJECT_OBJS := $(INJECT_SRCS:%.c=$(O)/%.o)
WRITER_OBJS := $(WRITER_SRCS:%.c=$(O)/%.o)
CLI_OBJS    := $(CLI_SRCS:%.c=$(O)/%.o)
RUN_OBJS    := $(RUN_SRCS:%.c=$(O)/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)

CORE   := $(O)/libftcore.a
SO     := $(O)/libflowtrace.so
WRITER := $(O)/flowtrace-writer
CLI    := $(O)/flowtrace
RUNNER := $(O)/flowtrace-run

UV_LIBS := $(shell pkg-config --libs libuv 2>/dev/null || echo -luv)

.PHONY: all deps test unit unit-san integration viewer-test demo bench install clean help check-abi \
        fuzz fuzz-short pythons lint format format-check tidy cppcheck bench-instr wheel

all: $(SO) $(WRITER) $(CLI) $(RUNNER)

$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_PIC) -c $< -o $@

$(O)/inject/%.o: inject/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_PIC) -c $< -o $@

$(O)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_COMMON) -c $< -o $@

# The viewer's files become C strings (as uftrace embeds its scripts): each line quoted,
# with backslashes, quotes and question marks (no trigraphs) escaped.
VIEWER_ASSETS := $(wildcard tools/viewer/*.html tools/viewer/*.css tools/viewer/*.js)
VIEWER_CSTR   := $(VIEWER_ASSETS:tools/viewer/%=$(O)/tools/viewer/%.cstr)

$(O)/tools/viewer/%.cstr: tools/viewer/%
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  GEN     $@"
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@

$(O)/tools/cli/viewer.o: tools/cli/viewer.c $(VIEWER_CSTR)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_COMMON) -I$(O)/tools/viewer -c $< -o $@

$(CORE): $(LIB_OBJS)
	@[ "$(V)" = 1 ] || echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# No libpython at link time, nothing exported but the _exit interposer, all symbols bound
# at load time so the hot path never goes through the lazy resolver.
$(SO): $(INJECT_OBJS) $(CORE) inject/exports.map
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) -shared -o $@ $(INJECT_OBJS) $(CORE) $(LDFLAGS_SAN) -Wl,--no-undefined -Wl,-z,now \
	    -Wl,--version-script=inject/exports.map -lpthread -ldl

# The writer links libuv, SQLite, zstd and libmd statically (the archives of Debian's -dev
# packages): binding their symbols at start cost the dynamic loader 1.5M instructions, 8 per
# event of fib(23) (docs/architecture.md, "The writer's cost"). WRITER_STATIC=0: shared.
WRITER_STATIC ?= 1
ifeq ($(WRITER_STATIC),1)
WRITER_LIBS := -Wl,-Bstatic -luv_a -lsqlite3 -lzstd -lmd -Wl,-Bdynamic -lpthread -ldl -lrt -lm
else
WRITER_LIBS := $(UV_LIBS) -lsqlite3 -lzstd -lmd
endif

$(WRITER): $(WRITER_OBJS) $(CORE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) -o $@ $(WRITER_OBJS) $(CORE) $(LDFLAGS_SAN) $(WRITER_LIBS)

# The wrapper: no library beyond libc and the core (settings).
$(RUNNER): $(RUN_OBJS) $(CORE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) -o $@ $(RUN_OBJS) $(CORE) $(LDFLAGS_SAN) -lm

# The CLI reads the runs index and names scripts as the writer does, through lib/ (index.c,
# script.c): one schema, one rule.
$(CLI): $(CLI_OBJS) $(CORE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) -o $@ $(CLI_OBJS) $(CORE) $(LDFLAGS_SAN) -lyajl \
	    -lsqlite3 -lzstd -lm

# A unit test of a tools/ module links that module's object and libraries too.
UNIT_LIBS_test_index := -lsqlite3
$(O)/tests/unit/test_tree: $(O)/tools/cli/tree.o $(O)/tools/cli/pyval.o
UNIT_LIBS_test_tree := -lyajl
$(O)/tests/unit/test_group: $(O)/tools/cli/group.o
$(O)/tests/unit/test_term: $(O)/tools/cli/term.o
$(O)/tests/unit/test_walk: $(O)/tools/cli/walk.o
$(O)/tests/unit/test_graft: $(O)/tools/cli/graft.o
$(O)/tests/unit/test_diff: $(O)/tools/cli/diff.o
$(O)/tests/unit/test_pylit: $(O)/tools/cli/pylit.o
$(O)/tests/unit/test_pyval: $(O)/tools/cli/pyval.o
UNIT_LIBS_test_walk := -lm
$(O)/tests/unit/test_procs: $(O)/tools/writer/procs.o
$(O)/tests/unit/test_recover: $(O)/tools/writer/recover.o $(O)/tools/writer/procs.o \
    $(O)/tools/writer/replay.o \
    $(O)/tools/writer/journal.o
$(O)/tests/unit/test_run_opts: $(O)/tools/run/opts.o
$(O)/tests/unit/test_run_late: $(O)/tools/run/late.o
$(O)/tests/unit/test_run_watch: $(O)/tools/run/watch.o

# A unit test of an inject/ module links the objects of the layers it stands on (the pure
# parts of the preloaded library: no Python needed, or a few fakes in the test).
INJECT_BASE := $(O)/inject/config.o $(O)/inject/log.o $(O)/inject/crit.o
$(O)/tests/unit/test_crit: $(O)/inject/crit.o
$(O)/tests/unit/test_deflog: $(O)/inject/deflog.o
$(O)/tests/unit/test_scope: $(O)/inject/scope.o $(INJECT_BASE)
$(O)/tests/unit/test_config: $(INJECT_BASE)
$(O)/tests/unit/test_tstate: $(O)/inject/tstate.o $(O)/inject/emit.o $(INJECT_BASE)
$(O)/tests/unit/test_ship: $(O)/inject/ship.o $(O)/inject/tstate.o $(O)/inject/emit.o \
    $(O)/inject/deflog.o $(O)/inject/srclog.o $(INJECT_BASE)
$(O)/tests/unit/test_srclog: $(O)/inject/srclog.o
$(O)/tests/unit/test_text: $(O)/inject/text.o
$(O)/tests/unit/test_pylayout: $(O)/inject/pylayout.o $(O)/inject/pyapi.o $(INJECT_BASE)

$(O)/tests/unit/%: tests/unit/%.c $(CORE)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_COMMON) -o $@ $< $(filter %.o,$^) $(CORE) $(LDFLAGS_SAN) -lcmocka -lzstd -lmd -lm \
	    $(UNIT_LIBS_$*)

# ---- Dependencies -------------------------------------------------------------------
DEB_PACKAGES := build-essential pkg-config libuv1-dev libcmocka-dev libsqlite3-dev libyajl-dev \
                libzstd-dev zstd valgrind \
                libcurl4-openssl-dev wrk \
                python3-pytest python3-flask python3-django python3-fastapi python3-uvicorn \
                python3-httpx clang chromium patchelf debian-archive-keyring clang-format clang-tidy \
                cppcheck python3-build python3-wheel python3-setuptools python3-venv \
                python3-pytest-xdist gdb libmd-dev
VIEWER_TEST_DIR := tests/viewer

# Debian packages first (node and npm only if the machine has no node of its own), then
# the browser test's npm packages, pinned by tests/viewer/package-lock.json.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	    echo "  DEPS    installing:$$missing"; \
	    if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install:$$missing" >&2; exit 1; fi; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	@if [ ! -f $(VIEWER_TEST_DIR)/node_modules/playwright-core/package.json ]; then \
	    echo "  DEPS    npm ci in $(VIEWER_TEST_DIR) (playwright-core)"; \
	    cd $(VIEWER_TEST_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null || exit 1; \
	fi

# ---- Tests --------------------------------------------------------------------------
# The builds and the lint run NPROC jobs at once, each job's output printed whole when it
# ends (-O): a failure fails its stage as before, its messages together.
NPROC := $(shell nproc 2>/dev/null || echo 1)
SUBMAKE_J = $(MAKE) --no-print-directory -j$(NPROC) -O
test: deps
	$(Q)sh tests/house.sh snapshot $(O)/house.before
	$(Q)$(SUBMAKE_J) all unit
	$(Q)$(SUBMAKE_J) lint
	$(Q)$(SUBMAKE_J) unit-san
	$(Q)$(SUBMAKE_J) fuzz-short
	$(Q)$(MAKE) --no-print-directory pythons
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)$(MAKE) --no-print-directory viewer-test
	$(Q)sh tests/house.sh check $(O)/house.before

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done

unit-san:
	$(Q)$(MAKE) --no-print-directory O=build-san SAN=address,undefined OPT="-O1 -g" unit

# Debian's python3.13 (trixie) and python3.14 (sid), unpacked under $(O)/pythons/ with a
# private apt configuration (tests/pythons.sh); the integration tests find them there.
# Cached; an unreachable archive skips them loudly, any other failure fails the build.
PYTHONS := 3.13:trixie 3.14:sid
pythons:
	@for spec in $(PYTHONS); do \
	    v=$${spec%%:*}; suite=$${spec#*:}; \
	    sh tests/pythons.sh $(O)/pythons/$$v $$v $$suite >/dev/null; rc=$$?; \
	    if [ $$rc = 0 ]; then echo "  PYTHON  $(O)/pythons/$$v/python"; \
	    elif [ $$rc = 3 ]; then \
	        echo "*** make pythons: Debian's archive ($$suite) cannot be reached:" >&2; \
	        echo "*** the integration tests run WITHOUT python$$v" >&2; \
	    else exit 1; fi; \
	done

# File-system faults for the integration tests (preloaded into the writer only).
FAULTFS := $(O)/tests/libfaultfs.so
$(FAULTFS): tests/integration/faultfs.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_COMMON) -fPIC -shared -o $@ $< -ldl

# A C program that dlopens libpython (not linked against it), for test_host.py.
DLHOST := $(O)/tests/dlhost
$(DLHOST): tests/integration/dlhost.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_COMMON) -o $@ $< -ldl

# Under pytest-xdist, JOBS workers (default: twice the cores, since most tests wait on the
# processes they trace); JOBS=1 runs the suite in one process. Nothing is written into the
# tree: no bytecode caches, no .pytest_cache.
JOBS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
PYTEST_JOBS = $(if $(filter 1,$(JOBS)),,-n $(JOBS))
integration: all $(FAULTFS) $(DLHOST) wheel
	$(Q)FLOWTRACE_BUILD=$(abspath $(O)) PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -q \
	    -p no:cacheprovider $(PYTEST_JOBS) --durations=10 tests/integration

# The HTML viewer in Debian's chromium (playwright-core), the 1,000,000-call run included:
# every tests/viewer/*.test.mjs, one browser each.
viewer-test: all
	$(Q)cd $(VIEWER_TEST_DIR) && FLOWTRACE_BUILD=$(abspath $(O)) PYTHON=$(PYTHON) \
	    node --test --test-reporter=spec $(notdir $(wildcard $(VIEWER_TEST_DIR)/*.test.mjs))

# ---- Fuzzing: the writer's frame decoder and run builder fed arbitrary bytes ----------
# libFuzzer (clang) with ASan, UBSan and leak checks. `make fuzz` runs FUZZ_TIME seconds
# (the corpus it grows stays in build-fuzz/corpus); `make test` runs FUZZ_SHORT seconds.
# Seeds: real streams (tests/fuzz/corpus, see real_seeds.sh) and synthetic ones.
FUZZ_CC    ?= clang
FUZZ_O     := build-fuzz
FUZZ_TIME  ?= 600
FUZZ_SHORT ?= 20
FUZZ_WARN  := $(filter-out -Wimplicit-fallthrough=3,$(WARN)) -Wimplicit-fallthrough
FUZZ_FLAGS := -std=gnu11 -O1 -g -I. $(FUZZ_WARN) -fno-omit-frame-pointer \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZER     := $(FUZZ_O)/fuzz_stream

# One object per source (built in parallel under -j), compiled with the fuzzer's
# instrumentation and sanitizers, headers followed (-MMD).
FUZZ_OBJS  := $(FUZZ_O)/tests/fuzz/fuzz_stream.o $(LIB_SRCS:%.c=$(FUZZ_O)/%.o)

$(FUZZ_O)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

$(FUZZER): $(FUZZ_OBJS)
	@[ "$(V)" = 1 ] || echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_OBJS) -lzstd -lmd -lsqlite3

$(FUZZ_O)/make_seeds: tests/fuzz/make_seeds.c tests/unit/stream.h $(CORE)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_COMMON) -o $@ tests/fuzz/make_seeds.c $(CORE) -lzstd -lmd

define fuzz-run
	@mkdir -p $(FUZZ_O)/corpus $(FUZZ_O)/seeds $(FUZZ_O)/artifacts
	$(Q)$(FUZZ_O)/make_seeds $(FUZZ_O)/seeds
	@echo "  FUZZ    $(FUZZER) for $(1) s"
	$(Q)$(FUZZER) -max_total_time=$(1) -artifact_prefix=$(FUZZ_O)/artifacts/ \
	    -print_final_stats=1 $(FUZZ_O)/corpus tests/fuzz/corpus $(FUZZ_O)/seeds \
	    >$(FUZZ_O)/last.log 2>&1 || { tail -40 $(FUZZ_O)/last.log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_O)/last.log | \
	    sed 's/^/  FUZZ    /'
endef

fuzz: $(FUZZER) $(FUZZ_O)/make_seeds
	$(call fuzz-run,$(FUZZ_TIME))

fuzz-short: $(FUZZER) $(FUZZ_O)/make_seeds
	$(call fuzz-run,$(FUZZ_SHORT))

# The library's whole ABI: the _exit interposer and control.h's entry points.
ABI_EXPORTS := _exit flowtrace_start flowtrace_stop flowtrace_region_begin flowtrace_region_end
check-abi: $(SO)
	@bad=$$(nm -D --undefined-only $(SO) | grep -E ' _?Py' || true); \
	if [ -n "$$bad" ]; then echo "check-abi: $(SO) links CPython symbols:"; echo "$$bad"; exit 1; fi
	@extra=$$(nm -D --defined-only $(SO) | awk '{print $$3}' | grep -v -x $(ABI_EXPORTS:%=-e %) || true); \
	if [ -n "$$extra" ]; then echo "check-abi: $(SO) exports more than $(ABI_EXPORTS):"; echo "$$extra"; exit 1; fi
	@for s in $(ABI_EXPORTS); do nm -D --defined-only $(SO) | awk '{print $$3}' | grep -q -x "$$s" || \
	    { echo "check-abi: $(SO) does not export $$s"; exit 1; }; done
	@echo "  ABI     $(SO): no CPython link, exports only $(ABI_EXPORTS)"

# ---- Lint: formatting, clang-tidy, cppcheck, the ABI (STYLE.md B.5) -------------------
C_FILES   = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
TIDY_SRCS = $(filter lib/%.c inject/%.c tools/%.c,$(C_FILES))
TIDY_FLAGS := -std=gnu11 -I. -I$(O)/tools/viewer -Wno-unknown-warning-option -DFT_VERSION=\"$(FT_VERSION)\"

format:
	$(Q)clang-format -i $(C_FILES)

format-check:
	$(Q)clang-format --dry-run -Werror $(C_FILES)
	@echo "  FORMAT  clean"

tidy: $(VIEWER_CSTR)
	$(Q)out=$$(printf '%s\n' $(TIDY_SRCS) | xargs -P2 -n1 sh -c \
	    'clang-tidy --quiet "$$@" -- $(TIDY_FLAGS) 2>&1 || echo TIDY-FAILED' tidy); \
	    printf '%s\n' "$$out" | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated|^$$|^TIDY-FAILED'; \
	    case "$$out" in *TIDY-FAILED*) exit 1;; esac
	@echo "  TIDY    clean"

cppcheck:
	$(Q)cppcheck --enable=warning,style,performance,portability --error-exitcode=1 --inline-suppr \
	    --std=c11 -q -I. -Ilib -Iinject lib inject tools
	@echo "  CPPCHK  clean"

lint: format-check tidy cppcheck check-abi

# ---- The wheel: the Python package (python/) with the native parts in flowtrace/_bin ----
# Staged under $(O)/wheel (the binaries copied and stripped, VERSION beside the package),
# then built by Debian's python3-build without isolation (setuptools, wheel; no PyPI).
WHEEL_STAGE := $(O)/wheel
PY_SRCS     := $(wildcard python/flowtrace/*.py) python/pyproject.toml python/setup.py

wheel: $(SO) $(WRITER) $(CLI) $(RUNNER) $(PY_SRCS) VERSION
	@[ "$(V)" = 1 ] || echo "  WHEEL   $(O)/dist/flowtrace-$(FT_VERSION)-py3-none-*.whl"
	$(Q)rm -rf $(WHEEL_STAGE) $(O)/dist && mkdir -p $(WHEEL_STAGE)/flowtrace/_bin $(O)/dist
	$(Q)cp python/pyproject.toml python/setup.py README.md $(WHEEL_STAGE)/
	$(Q)cp python/flowtrace/*.py $(WHEEL_STAGE)/flowtrace/
	$(Q)cp VERSION $(WHEEL_STAGE)/flowtrace/VERSION
	$(Q)install -m 0755 $(SO) $(WRITER) $(CLI) $(RUNNER) $(WHEEL_STAGE)/flowtrace/_bin/
	$(Q)strip --strip-unneeded $(WHEEL_STAGE)/flowtrace/_bin/libflowtrace.so \
	    $(WHEEL_STAGE)/flowtrace/_bin/flowtrace-writer $(WHEEL_STAGE)/flowtrace/_bin/flowtrace
	$(Q)cd $(WHEEL_STAGE) && $(PYTHON) -m build --wheel --no-isolation \
	    --outdir $(abspath $(O))/dist . >build.log 2>&1 || { tail -20 build.log; exit 1; }

# ---- Demo, bench, install -----------------------------------------------------------
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rm -rf $(O)/demo-out
	$(Q)$(RUNNER) -o $(O)/demo-out $(PYTHON) tests/integration/programs/shop.py --customer "ana maria" --coffee 3
	$(Q)$(CLI) show -d $(O)/demo-out

# Debian's 3.11, and 3.13 when `make pythons` has fetched it (the sys.monitoring engine).
bench: all
	$(Q)$(PYTHON) bench/run.py --build $(abspath $(O)) --python /usr/bin/python3.11 \
	    $(if $(wildcard $(O)/pythons/3.13/python),--python $(abspath $(O))/pythons/3.13/python)
	$(Q)$(PYTHON) bench/server.py --build $(abspath $(O)) --python /usr/bin/python3.11

# The same costs in instructions (callgrind): deterministic on a loaded machine. Ratios to
# the empty-hook floor for fib, the library-heavy workload and a pytest suite; the
# writer's instructions per event; bytes per call. BENCH_FT passes flowtrace-run options.
bench-instr: all
	$(Q)$(PYTHON) bench/instr.py --build $(abspath $(O)) --python /usr/bin/python3.11 \
	    $(if $(BENCH_FT),--ft $(BENCH_FT))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/flowtrace
	install -m 0644 $(SO) $(DESTDIR)$(PREFIX)/lib/flowtrace/libflowtrace.so
	install -m 0755 $(WRITER) $(DESTDIR)$(PREFIX)/lib/flowtrace/flowtrace-writer
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/flowtrace
	install -m 0755 $(RUNNER) $(DESTDIR)$(PREFIX)/bin/flowtrace-run

clean:
	rm -rf build build-san build-fuzz

help:
	@echo "FlowTrace make targets:"
	@echo "  all          build build/libflowtrace.so, build/flowtrace-writer, build/flowtrace,"
	@echo "               build/flowtrace-run (default)"
	@echo "  deps         apt-get install missing Debian packages (run as root)"
	@echo "  demo         build, trace a sample program, print its call tree"
	@echo "  test         deps + build + unit tests (plain and ASan/UBSan) + fuzz-short + check-abi"
	@echo "               + pythons + integration (xdist, JOBS) + viewer-test; the source tree"
	@echo "               must be as it was before (tests/house.sh)"
	@echo "  unit         cmocka unit tests"
	@echo "  unit-san     unit tests under AddressSanitizer and UBSan (into build-san/)"
	@echo "  pythons      Debian's python3.13 and 3.14 unpacked into build/pythons (cached)"
	@echo "  integration  pytest suite: every interpreter found, under the preload"
	@echo "  viewer-test  the HTML viewer in headless chromium (playwright-core), 1M-call run included"
	@echo "  check-abi    the preload library links no CPython symbol and exports only _exit and"
	@echo "               inject/control.h's entry points"
	@echo "  lint         format-check + tidy (clang-tidy) + cppcheck + check-abi"
	@echo "  format       clang-format -i every C file (formatting-only commits)"
	@echo "  fuzz         libFuzzer on the frame decoder and run builder for FUZZ_TIME s (600)"
	@echo "  fuzz-short   the same for FUZZ_SHORT s (20; part of test)"
	@echo "  bench        overhead ratios against an untraced run and an empty profile hook; a"
	@echo "               FastAPI server under wrk: untraced, traced, --sample 0.01 --keep failed"
	@echo "  bench-instr  the same in instructions (callgrind): traced process, writer per event,"
	@echo "               end to end, bytes per call (BENCH_FT='--compress' passes options)"
	@echo "  install      install under PREFIX (default /usr/local)"
	@echo "  wheel        build/dist/flowtrace-VERSION-py3-none-PLATFORM.whl (pip install --no-index)"
	@echo "  clean        remove build/ and build-san/"
	@echo "Options: V=1 (show commands)  CC=clang  SAN=address,undefined  O=dir  PYTHON=...  PREFIX=..."
	@echo "         JOBS=n (integration test workers; default twice the cores, 1: no xdist)"
	@echo "         WRITER_STATIC=0 (the writer links libuv, SQLite, zstd, libmd as shared libraries)"
	@echo "         FUZZ_TIME=s  FUZZ_SHORT=s  FUZZ_CC=clang"

-include $(LIB_OBJS:.o=.d) $(INJECT_OBJS:.o=.d) $(WRITER_OBJS:.o=.d) $(CLI_OBJS:.o=.d) \
         $(RUN_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)
