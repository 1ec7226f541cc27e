# Two commands do everything: `make demo` (install, then build the demo VOD end to end, offline)
# and `make test` (install, lint, run the tests; what CI runs).
VENV := .venv

UV := uv==0.13.8
LOCK_ARGS :=

.PHONY: install demo test clean lock

# Exactly the locked versions (requirements-dev.lock, hashes checked), in a venv made anew whenever the lock or
# pyproject.toml changes; then the package itself, editable, without dependencies.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-dev.lock
	python3 -m venv --clear $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

# Refresh the lock files (and envs/klipstream.yaml) after pyproject.toml changed: `make lock && make install`.
# Versions already locked are kept where pyproject.toml allows them; `make lock LOCK_ARGS=--upgrade` takes the newest.
lock:
	test -x .cache/uv/bin/uv || (python3 -m venv .cache/uv && .cache/uv/bin/pip install -q '$(UV)')
	python3 -m devtools.lock --uv .cache/uv/bin/uv $(LOCK_ARGS)

# `klipstream run` runs Snakemake for the demo VOD, then prints where the report, JSON, clips and status are.
demo: install
	$(VENV)/bin/klipstream run demo --cores 2

test:
	bash .ci/run

clean:
	rm -rf output logs benchmarks .snakemake
