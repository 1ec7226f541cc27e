# Two commands do everything: `make demo` (install, then build the demo VOD end to end, offline)
# and `make test` (install, lint, run the tests; what CI runs).
VENV := .venv

.PHONY: install demo test clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# `klipstream run` runs Snakemake for the demo VOD, then prints where the report, JSON, clips and status are.
demo: install
	$(VENV)/bin/klipstream run demo --cores 2

test:
	bash .ci/run

clean:
	rm -rf output logs benchmarks .snakemake
