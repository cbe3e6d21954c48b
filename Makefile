# SPDX-License-Identifier: Apache-2.0
# kura - one non-recursive Makefile.
#
#   make                      build/kura, build/kurad, build/libkura.a and build/libkurad.a
#   make check                unit tests, fuzz corpus replay, end-to-end tests
#   make SANITIZE=address,undefined check   the same under ASan+UBSan (in build/san)
#   make SANITIZE=thread check               under TSan (in build/tsan)
#   make fuzz                 libFuzzer binaries (clang) in build/fuzz
#   make QUICK=1 check        skip the slowest end-to-end tests
#   make index-cost           build/bench/index_cost: memory and speed of the index
#   make repo-fuzz            the long repository fuzzer (bench/repo_damage_fuzz_long.sh; ITER, SEED)
#   make deb                  kura and kurad Debian packages in build/deb (scripts/deb.sh)

CC ?= cc
PKGS := libsodium libzstd jansson pwquality libcrypto libcurl expat
PKGS += libgfshare libqrencode # key split (lib/crypto/keyshare.c) and its printed sheets
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libmicrohttpd)
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
SERVER_LIBS := $(shell pkg-config --libs libmicrohttpd)

ifeq ($(SANITIZE),)
BUILD ?= build
OPT ?= -O2
else
BUILD ?= build/$(if $(findstring thread,$(SANITIZE)),tsan,san)
OPT ?= -O1
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CFLAGS_ALL := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(OPT) -g -Wall -Wextra -Werror \
	-Wshadow -Wno-unused-parameter -Iinclude -Ilib $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread

LIB_SRC := $(sort $(wildcard lib/*/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
SERVER_SRC := $(sort $(wildcard server/*.c))
SERVER_LIB_SRC := $(filter-out server/main.c,$(SERVER_SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# Data compiled in: the ransom-note names (lib/detect/ransom_notes.txt) as a C array.
GEN_SRC := build/gen/detect_note_list.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o)
SERVER_LIB_OBJ := $(SERVER_LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all check fuzz clean tests index-cost
all: $(BUILD)/kura $(BUILD)/kurad $(BUILD)/libkura.a $(BUILD)/libkurad.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

build/gen/detect_note_list.c: lib/detect/ransom_notes.txt
	@mkdir -p $(dir $@)
	awk 'BEGIN { print "/* generated from lib/detect/ransom_notes.txt by the Makefile: do not edit */"; \
		print "#include <stddef.h>"; print "#include \"detect/notes.h\""; \
		print "const char *const kura_detect_note_patterns[] = {" } \
		/^#/ || /^[ \t]*$$/ { next } \
		{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); print "\t\"" $$0 "\"," } \
		END { print "\tNULL,"; print "};" }' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/libkura.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/kura: $(CLI_OBJ) $(BUILD)/libkura.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(BUILD)/libkura.a $(LIBS) $(FUSE_LIBS)

# The vault server as a library: every server file but main.c, so that its
# unit tests and fuzz replays link it as the library's tests link libkura.a.
$(BUILD)/libkurad.a: $(SERVER_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/kurad: $(BUILD)/obj/server/main.o $(BUILD)/libkurad.a $(BUILD)/libkura.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/obj/server/main.o $(BUILD)/libkurad.a $(BUILD)/libkura.a \
		$(LIBS) $(SERVER_LIBS)

# Every test links both libraries; the linker takes only what a test uses.
# A test's own header dependencies come from its .d file.
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libkurad.a $(BUILD)/libkura.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -Iserver -MMD -MP -o $@ $< $(BUILD)/libkurad.a \
		$(BUILD)/libkura.a $(LIBS) $(SERVER_LIBS) -lcmocka $(LDFLAGS_ALL)

# Every fuzz target is also built with a small driver that replays its corpus,
# so the normal test run exercises what the fuzzers found.  The target comes
# last: with two sources, gcc's -MMD file holds the last one's headers.
$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/libkurad.a \
		$(BUILD)/libkura.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Iserver -MMD -MP -o $@ tests/fuzz/replay_main.c $< $(BUILD)/libkurad.a \
		$(BUILD)/libkura.a $(LIBS) $(SERVER_LIBS) $(LDFLAGS_ALL)

# What the in-memory index costs per chunk (bench/README.md); built with the
# tests so that it keeps compiling.
$(BUILD)/bench/index_cost: bench/index_cost.c $(BUILD)/libkura.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libkura.a $(LIBS) $(LDFLAGS_ALL)
index-cost: $(BUILD)/bench/index_cost

# Test tools.  eiofs, a FUSE file system that answers EIO (tests/e2e/eio.sh),
# built without sanitizers, and only where libfuse3-dev is installed
# (scripts/deps.sh installs it; the test says SKIP without it).
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null)
TOOL_BIN := $(if $(FUSE_LIBS),$(BUILD)/tools/eiofs)
# `kura mount` (cli/mount_fuse.c) too: without libfuse3-dev kura builds, and mount says so.
$(BUILD)/obj/cli/mount_fuse.o: CFLAGS_ALL += $(if $(FUSE_LIBS),$(FUSE_CFLAGS),-DKURA_NO_FUSE)
$(BUILD)/tools/eiofs: tests/tools/eiofs.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror $(FUSE_CFLAGS) -o $@ $< $(FUSE_LIBS)

# deepsnap writes a snapshot nested deeper than the limit (tests/e2e/deep_tree.sh).
$(BUILD)/tools/deepsnap: tests/tools/deepsnap.c $(BUILD)/libkura.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(BUILD)/libkura.a $(LIBS) $(LDFLAGS_ALL)

# hostilesnap writes a snapshot with names that try to leave a mount (tests/e2e/mount.sh).
$(BUILD)/tools/hostilesnap: tests/tools/hostilesnap.c $(BUILD)/libkura.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(BUILD)/libkura.a $(LIBS) $(LDFLAGS_ALL)

# refsnap writes snapshots with chunks stored against others (tests/e2e/refblobs.sh).
$(BUILD)/tools/refsnap: tests/tools/refsnap.c $(BUILD)/libkura.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(BUILD)/libkura.a $(LIBS) $(LDFLAGS_ALL)

tests: $(BUILD)/kura $(BUILD)/kurad $(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/bench/index_cost \
	$(TOOL_BIN) $(BUILD)/tools/deepsnap $(BUILD)/tools/hostilesnap $(BUILD)/tools/refsnap

check: tests
	BUILD=$(BUILD) QUICK=$(QUICK) tests/run.sh

# Built from a copy of the tree with packaging/debian/ (scripts/deb.sh): the
# work tree and its build/ are left as they are.
.PHONY: deb
deb:
	scripts/deb.sh

.PHONY: repo-fuzz
repo-fuzz: $(BUILD)/kura
	KURA=$(CURDIR)/$(BUILD)/kura bench/repo_damage_fuzz_long.sh

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Ilib $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined
fuzz: $(FUZZ_BIN)
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(GEN_SRC) $(SERVER_LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iserver -o $@ $< $(LIB_SRC) $(GEN_SRC) $(SERVER_LIB_SRC) $(LIBS) $(SERVER_LIBS)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SERVER_OBJ:.o=.d) $(UNIT_BIN:=.d) $(REPLAY_BIN:=.d) \
	$(BUILD)/tools/deepsnap.d $(BUILD)/tools/hostilesnap.d $(BUILD)/tools/refsnap.d
