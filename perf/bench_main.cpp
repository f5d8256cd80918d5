// One main for all microbenchmarks in ringlane_microbench.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
