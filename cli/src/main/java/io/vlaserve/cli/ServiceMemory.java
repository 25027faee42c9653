package io.vlaserve.cli;

import io.vlaserve.launcher.ServiceProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Memory of each service a soak started, sampled along the run: resident set size (from
 * {@code /proc}) and, from its Prometheus page, the live data the last old-generation collection
 * left ({@code jvm_gc_live_data_size_bytes}) and the heap in use. Growth compares the run's last
 * tenth with its first tenth, each by its smallest sample. The heap is judged by its live data once
 * a collection has measured it in both tenths (a leak raises it); until then by the heap's floor
 * between collections, which a collector that collects the old generation rarely (ZGC with a large
 * heap) lets rise without any leak, so only a run long enough for old collections says. RSS is
 * judged net of the JIT's code cache and metaspace ({@code jvm_memory_used_bytes} of the CodeHeap
 * and class-metadata pools): a service under load keeps compiling for many minutes and keeps the
 * code and profiles it compiled, which is bounded by the code it runs, not by how long it runs (a
 * 16-robot run's gateway: 5 MB of code cache and 1 MB of metaspace in 5 minutes after a 2-minute
 * warm-up, every other native area flat under native memory tracking). Not thread-safe.
 */
final class ServiceMemory {
  /** One sample of one service. */
  record Sample(double atSeconds, String service, long rssBytes, long heapBytes, long liveBytes, long codeBytes) {
    /** Resident memory other than the JIT's code cache and metaspace. */
    long rssBeyondCode() {
      return codeBytes > 0 ? rssBytes - codeBytes : rssBytes;
    }
  }

  private final List<ServiceProcess> services;
  private final Function<ServiceProcess, String> metricsPage;
  private final List<Sample> samples = new ArrayList<>();

  /** @param metricsPage a service's Prometheus text ("" if it could not be read) */
  ServiceMemory(List<ServiceProcess> services, Function<ServiceProcess, String> metricsPage) {
    this.services = List.copyOf(services);
    this.metricsPage = metricsPage;
  }

  /** Samples every service now; {@code atSeconds} is the time into the measured window. */
  void sample(double atSeconds) {
    for (ServiceProcess service : services) {
      String page = metricsPage.apply(service);
      samples.add(new Sample(atSeconds, service.name(), rss(service.pid()), heapUsed(page), liveData(page),
          codeAndMetadata(page)));
    }
  }

  /**
   * Per service: RSS and heap floors at the start and end of the run and their growth, and whether
   * either grew more than {@code limit} (0.05 for 5%).
   */
  Map<String, Map<String, Object>> growth(double limit) {
    return growth(samples, services.stream().map(ServiceProcess::name).toList(), limit);
  }

  /** As {@link #growth(double)}, for {@code samples} of the services named {@code names}. */
  static Map<String, Map<String, Object>> growth(List<Sample> samples, List<String> names, double limit) {
    Map<String, Map<String, Object>> verdicts = new LinkedHashMap<>();
    for (String name : names) {
      List<Sample> own = samples.stream().filter(s -> s.service().equals(name)).toList();
      if (own.size() < 2) {
        continue;
      }
      int tenth = Math.max(1, own.size() / 10);
      List<Sample> first = own.subList(0, tenth);
      List<Sample> last = own.subList(own.size() - tenth, own.size());
      long rssBefore = floor(first, Sample::rssBytes);
      long rssAfter = floor(last, Sample::rssBytes);
      long liveBefore = floor(first, Sample::liveBytes);
      long liveAfter = floor(last, Sample::liveBytes);
      boolean live = liveBefore > 0 && liveAfter > 0;
      long heapBefore = live ? liveBefore : floor(first, Sample::heapBytes);
      long heapAfter = live ? liveAfter : floor(last, Sample::heapBytes);
      double rssGrowth = grow(rssBefore, rssAfter);
      double heapGrowth = grow(heapBefore, heapAfter);
      long codeBefore = floor(first, Sample::codeBytes);
      long codeAfter = floor(last, Sample::codeBytes);
      // The rest of RSS against the whole, so that the limit means the same share of the process.
      double rssBeyondCodeGrowth = rssBefore <= 0 ? 0
          : (floor(last, Sample::rssBeyondCode) - floor(first, Sample::rssBeyondCode)) / (double) rssBefore;
      Map<String, Object> verdict = new LinkedHashMap<>();
      verdict.put("rss_mb_first", rssBefore / 1e6);
      verdict.put("rss_mb_last", rssAfter / 1e6);
      verdict.put("rss_growth", rssGrowth);
      verdict.put("code_mb_first", codeBefore / 1e6);
      verdict.put("code_mb_last", codeAfter / 1e6);
      verdict.put("rss_growth_beyond_code", rssBeyondCodeGrowth);
      verdict.put("heap_basis", live ? "live data after old collections" : "heap floor (no old collection in both tenths)");
      verdict.put("heap_mb_first", heapBefore / 1e6);
      verdict.put("heap_mb_last", heapAfter / 1e6);
      verdict.put("heap_growth", heapGrowth);
      verdict.put("grew", rssBeyondCodeGrowth > limit || heapGrowth > limit);
      verdicts.put(name, verdict);
    }
    return verdicts;
  }

  /** Writes every sample as CSV: seconds, service, rss_bytes, heap_bytes, live_bytes, code_bytes. */
  void write(Path csv) {
    StringBuilder text = new StringBuilder("seconds,service,rss_bytes,heap_bytes,live_bytes,code_bytes\n");
    for (Sample s : samples) {
      text.append(String.format(Locale.ROOT, "%.1f,%s,%d,%d,%d,%d%n", s.atSeconds(), s.service(), s.rssBytes(),
          s.heapBytes(), s.liveBytes(), s.codeBytes()));
    }
    try {
      Files.writeString(csv, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long floor(List<Sample> samples, java.util.function.ToLongFunction<Sample> value) {
    return samples.stream().mapToLong(value).filter(v -> v > 0).min().orElse(0);
  }

  private static double grow(long before, long after) {
    return before <= 0 ? 0 : (after - before) / (double) before;
  }

  /** Resident set size of {@code pid} in bytes (VmRSS), -1 if unknown. */
  static long rss(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          String[] fields = line.trim().split("\\s+");
          return Long.parseLong(fields[1]) * 1024; // kB
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux, or the process is gone.
    }
    return -1;
  }

  /** Live data after the last old-generation collection, bytes; 0 before one, -1 if absent. */
  static long liveData(String prometheus) {
    for (String line : prometheus.lines().toList()) {
      if (line.startsWith("jvm_gc_live_data_size_bytes")) {
        return Math.round(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
      }
    }
    return -1;
  }

  /** Heap in use, bytes: the sum of jvm_memory_used_bytes over the heap's pools; -1 if absent. */
  static long heapUsed(String prometheus) {
    double sum = 0;
    boolean found = false;
    for (String line : prometheus.lines().toList()) {
      if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? Math.round(sum) : -1;
  }

  /**
   * The JIT's code cache and class metadata in use, bytes: jvm_memory_used_bytes over the CodeHeap
   * pools (or the single "CodeCache" one) and Metaspace (which includes the compressed class space,
   * so that pool is not added again); -1 if absent.
   */
  static long codeAndMetadata(String prometheus) {
    double sum = 0;
    boolean found = false;
    for (String line : prometheus.lines().toList()) {
      if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"nonheap\"")
          && (line.contains("id=\"CodeHeap") || line.contains("id=\"CodeCache\"") || line.contains("id=\"Metaspace\""))) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? Math.round(sum) : -1;
  }
}
