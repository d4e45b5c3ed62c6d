"""The parts of bench/gateway_overhead.py: mock upstream, load generator, processes, report, CPU cost."""
