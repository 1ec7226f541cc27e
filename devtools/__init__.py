"""Development-only generators, outside the runtime package: the demo VOD (`python -m devtools.demo`, run from the
repository root) and the synthetic VODs of the benchmarks (`devtools.synth`)."""
