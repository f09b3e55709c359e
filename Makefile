# gatehouse: the two commands a new user needs are `make demo` and `make test`.
.PHONY: dev demo test bench package check-package smoke down lint

dev:   ## local stack with demo data, until Ctrl-C
	scripts/dev.sh

demo:  ## bring the stack up if needed and run the narrated scenario
	scripts/demo.sh

test:  ## every test (installs tools, builds, runs unit, emulator, SDK, template and e2e tests)
	scripts/test.sh

bench: ## release builds + the local stack, then cold start, memory, latency, calls and sizes (BENCHMARKS.md)
	scripts/bench.sh

package: ## arm64 sam build of every function and the Cerbos layer, Lambda zips and sizes (docs/deploy.md)
	scripts/package.sh

check-package: ## package, then check the arm64 artifacts (ELF, glibc, no aws-lc, smoke under qemu)
	scripts/check-package.sh

smoke: ## check a deployed stack without writing anything: make smoke STACK=<name> (or STACK=local)
	@test -n "$(STACK)" || { echo "make smoke: set STACK=<CloudFormation stack name> or STACK=local"; exit 2; }
	scripts/bootstrap.sh >/dev/null
	.venv/bin/python scripts/smoke.py "$(STACK)"

down:  ## stop a stack left running (dev and test profiles)
	scripts/stack.sh down dev; scripts/stack.sh down test; scripts/stack.sh down bench

lint:
	cargo clippy --workspace --all-targets -- -D warnings
	scripts/check-template.sh
