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

demo: install
	$(VENV)/bin/snakemake --cores 2 all

test:
	bash .ci/run

clean:
	rm -rf output logs benchmarks .snakemake
