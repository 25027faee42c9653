package io.vlaserve.cli;

import io.vlaserve.launcher.ServiceProcess;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU used by each service process the load test started, and by the load generator itself, over
 * the measured window, in cores (CPU seconds per second). Services given by address are not
 * measured. Not thread-safe.
 */
final class ServiceCpu {
  private final List<ServiceProcess> services;
  private final Map<String, Long> atStart = new LinkedHashMap<>();
  private long startNanos;

  ServiceCpu(List<ServiceProcess> services) {
    this.services = List.copyOf(services);
  }

  void startWindow() {
    startNanos = System.nanoTime();
    for (ServiceProcess service : services) {
      atStart.put(service.name(), service.cpuNanos());
    }
    atStart.put(GENERATOR, ownCpuNanos());
  }

  /** Cores used since {@link #startWindow()}, by service name and "load generator"; empty if it never started. */
  Map<String, Double> endWindow() {
    Map<String, Double> cores = new LinkedHashMap<>();
    if (atStart.isEmpty()) {
      return cores;
    }
    double seconds = (System.nanoTime() - startNanos) * 1e-9;
    for (ServiceProcess service : services) {
      long before = atStart.get(service.name());
      long after = service.cpuNanos();
      if (before >= 0 && after >= 0) {
        cores.put(service.name(), (after - before) * 1e-9 / seconds);
      }
    }
    cores.put(GENERATOR, (ownCpuNanos() - atStart.get(GENERATOR)) * 1e-9 / seconds);
    return cores;
  }

  private static final String GENERATOR = "load generator";

  private static long ownCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }
}
