# loadlab's two commands. Both install whatever is missing first (scripts/ensure-tools.sh) and skip what is there.
#   make serve   build the web app and serve it on http://127.0.0.1:8080
#   make test    every test: native (unit, integration, CLI), wasm (trace hashes and the web components, in
#                headless Chromium) and end-to-end (Playwright)
# Slow checks, before calling an issue done (not part of make test):
#   make fuzz          the property tests' long run: 10⁶ cases from a fresh seed it prints (LOADLAB_FUZZ_CASES,
#                      LOADLAB_FUZZ_SEED to change)
#   make mutants       cargo-mutants over the engine, the invariant checker, the trace hash and the controllers'
#                      formulas (mutants-core), then over every model's invariant checkers, the URL state and the
#                      page's reducer (mutants-laws); make mutants-quick runs the three-file subset with the unit tests only

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CHROMEDRIVER := /usr/bin/chromedriver
# The native CLI, wherever cargo puts its target directory (the e2e tests read it from LOADLAB_CLI).
CLI := $(or $(CARGO_TARGET_DIR),target)/release/loadlab
export LOADLAB_CLI := $(CLI)

.PHONY: serve test tools-web tools lint test-native test-wasm build-web test-e2e screenshots fuzz mutants mutants-core mutants-laws mutants-quick

serve: tools-web
	trunk serve --offline --release

test: tools lint test-native test-wasm build-web test-e2e

tools-web:
	@bash scripts/ensure-tools.sh web

tools:
	@bash scripts/ensure-tools.sh all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings

test-native:
	cargo test
	cargo build --release

# The wasm build must reproduce the native build's trace hashes: the values come from running the native CLI
# now, and reach the wasm test at compile time.
test-wasm: test-native
	LOADLAB_NATIVE_HASH_PLAIN=$$($(CLI) run --scenario plain-s1 --duration 5 --seed 7 --format json | sed -n 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/p') \
	LOADLAB_NATIVE_HASH_LOADMONITOR=$$($(CLI) run --scenario slow --controller mw-loadmonitor --duration 40 --seed 3 --set fault_at=10 --format json | sed -n 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/p') \
	LOADLAB_NATIVE_HASH_LOGNORMAL=$$($(CLI) run --scenario mmc --duration 20 --seed 5 --set latency_dist=lognormal --set lognormal_sigma=1.5 --format json | sed -n 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/p') \
	cargo test --target wasm32-unknown-unknown --test wasm
	cargo test --target wasm32-unknown-unknown --lib

# Then a .br and a .gz beside each text or wasm file in dist/, for hosts that serve precompressed files (README: Hosting).
build-web:
	trunk build --release --offline
	node scripts/compress-dist.mjs dist

test-e2e: build-web test-native
	node --test --test-concurrency=1 tests/e2e/

# Desktop and phone screenshots of the main states into shots/ (not a test; for looking at the page).
screenshots: build-web
	node scripts/screenshots.mjs

# A fresh seed each time, printed first (LOADLAB_FUZZ_SEED=N make fuzz replays one); a failing property prints it too.
fuzz:
	@seed=$${LOADLAB_FUZZ_SEED:-$$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}; \
	echo "fuzz seed: $$seed (replay with LOADLAB_FUZZ_SEED=$$seed make fuzz)"; \
	LOADLAB_FUZZ_SEED=$$seed cargo test --release -- --ignored fuzz

# Mutation testing. Each mutant rebuilds the crate in the fast `mutants` profile (Cargo.toml) and runs the tests
# that judge these files: the unit tests (the engine's toy model, the corrupted invariants, the controllers'
# formulas) and the integration tests named in MUTANTS_TESTS. Survivors are listed in mutants.out/missed.txt.
MUTANTS_FILES := src/engine/mod.rs src/engine/run.rs src/models/section/invariants.rs \
	src/controller/mediawiki/loadmonitor.rs src/controller/mediawiki/conn_p.rs src/controller/mediawiki/pid.rs \
	$(wildcard src/controller/production/*.rs)
MUTANTS_TESTS ?= engine invariants controller determinism reliability fuzz
MUTANTS_QUICK := src/engine/mod.rs src/models/section/invariants.rs src/controller/mediawiki/conn_p.rs

# The laws' checkers: in these files only the functions named check, check_invariants, check_worker, check_hosts
# and check_servers (Koha's nodes, HAProxy and pages, Sahana's ledger, workers and locks, Galera's cluster and
# writer, the section's replicas); all of urlstate and of the page's reducer. Judged by the unit tests only (the
# corrupted-state tests, the URL round trips, the reducer's tests), built with --lib so a mutant rebuilds one test
# binary (README: Mutation testing).
MUTANTS_LAWS_FILES := src/models/koha/haproxy.rs src/models/koha/node.rs src/models/koha/summary.rs \
	src/models/koha/mod.rs src/models/sahana/coupling.rs src/models/sahana/model.rs src/models/sahana/worker.rs \
	src/models/sahana/mod.rs src/models/galera/cluster.rs src/models/galera/writer.rs src/models/galera/mod.rs \
	src/models/section/replication.rs src/urlstate.rs src/page/state.rs
MUTANTS_LAWS_RE := ' in ([A-Za-z]+::)?check(_invariants|_worker|_hosts|_servers)?$$|^src/urlstate.rs|^src/page/state.rs'
# The unit tests' filters. With MUTANTS_LAWS_FILES='src/urlstate.rs src/page/state.rs' they may be narrowed to
# 'urlstate:: page::': no module under src/models uses either file, so the models' tests (6 s a mutant) cannot
# catch their mutants.
MUTANTS_LAWS_TESTS ?= models:: urlstate:: page::

mutants: mutants-core mutants-laws

# cargo-mutants --in-place in a disposable copy, never in this tree: the working tree's files (tracked and untracked,
# not ignored, uncommitted edits included) are copied to MUTANTS_SCRATCH with fresh times, its target/ is kept from
# the last run so only the crate rebuilds, cargo-mutants builds it once for the baseline and then each mutant is an
# incremental rebuild of that tree (2-7 s here, against ~90 s for the copy cargo-mutants makes of the tree per
# mutant). A mutant left in the copy by an interrupted run is overwritten by the next copy. Results land here, in
# mutants.out (mutants-core) and mutants-laws/mutants.out. MUTANTS_ARGS adds options (MUTANTS_ARGS='--shard 2/4');
# to run some files only, set the list: make mutants-laws MUTANTS_LAWS_FILES=src/urlstate.rs.
MUTANTS_SCRATCH ?= $(or $(TMPDIR),/tmp)/loadlab-mutants-$(notdir $(CURDIR))
MUTANTS_ARGS ?=
define mutants_scratch
	@command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
	@case "$(abspath $(MUTANTS_SCRATCH))/" in "$(CURDIR)/"*) echo "MUTANTS_SCRATCH must lie outside this tree"; exit 1;; esac
	mkdir -p $(MUTANTS_SCRATCH)
	find $(MUTANTS_SCRATCH) -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
	git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xmf - -C $(MUTANTS_SCRATCH)
endef

mutants-core:
	$(mutants_scratch)
	cd $(MUTANTS_SCRATCH) && CARGO_TARGET_DIR=$(abspath $(MUTANTS_SCRATCH))/target cargo mutants --in-place \
		--profile mutants --test-tool cargo --timeout 900 --build-timeout 900 -o $(CURDIR) $(MUTANTS_ARGS) \
		$(addprefix --file ,$(MUTANTS_FILES)) -- --lib --test all -- $(MUTANTS_TESTS)

mutants-laws:
	$(mutants_scratch)
	cd $(MUTANTS_SCRATCH) && CARGO_TARGET_DIR=$(abspath $(MUTANTS_SCRATCH))/target cargo mutants --in-place \
		--profile mutants --test-tool cargo --timeout 180 --build-timeout 900 --cargo-arg=--lib -o $(CURDIR)/mutants-laws $(MUTANTS_ARGS) \
		$(addprefix --file ,$(MUTANTS_LAWS_FILES)) --re $(MUTANTS_LAWS_RE) -- -- $(MUTANTS_LAWS_TESTS)

mutants-quick:
	$(mutants_scratch)
	cd $(MUTANTS_SCRATCH) && CARGO_TARGET_DIR=$(abspath $(MUTANTS_SCRATCH))/target cargo mutants --in-place \
		--profile mutants --test-tool cargo --timeout 120 --build-timeout 600 -o $(CURDIR) $(MUTANTS_ARGS) \
		$(addprefix --file ,$(MUTANTS_QUICK)) -- --lib -- invariants controller::mediawiki engine::
