package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What a soak reads of a service's memory, and how it judges growth. */
class ServiceMemoryTest {
  @Test
  void heapInUseIsTheSumOfTheHeapPoolsAndAbsentWithoutThem() {
    String page = """
        # HELP jvm_memory_used_bytes The amount of used memory
        jvm_memory_used_bytes{area="heap",id="G1 Eden Space",service="x"} 1.0E7
        jvm_memory_used_bytes{area="heap",id="G1 Old Gen",service="x"} 3.0E7
        jvm_memory_used_bytes{area="nonheap",id="Metaspace",service="x"} 9.0E7
        """;
    assertEquals(40_000_000L, ServiceMemory.heapUsed(page));
    assertEquals(-1, ServiceMemory.heapUsed("process_uptime_seconds 3.0"));
    assertEquals(52_000_000L, ServiceMemory.liveData("jvm_gc_live_data_size_bytes{service=\"x\"} 5.2E7"));
  }

  @Test
  void growthComparesTheFloorsOfTheFirstAndLastTenthOfTheRun() {
    java.util.List<ServiceMemory.Sample> samples = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      // A sawtooth heap whose floor stays at 100 MB; RSS creeping up 1 MB a sample.
      samples.add(new ServiceMemory.Sample(i, "steady", 500_000_000L, i % 2 == 0 ? 100_000_000L : 300_000_000L, 0,
          50_000_000L));
      samples.add(new ServiceMemory.Sample(i, "leaking", 500_000_000L + 1_000_000L * i, 100_000_000L + 5_000_000L * i,
          0, 50_000_000L));
      // Its heap floor rises (no old collection yet), its live data after old collections does not.
      samples.add(new ServiceMemory.Sample(i, "collected", 500_000_000L, 100_000_000L + 5_000_000L * i, 80_000_000L,
          -1));
      // RSS up 2 MB a sample, all of it the JIT's code cache and metaspace.
      samples.add(new ServiceMemory.Sample(i, "compiling", 500_000_000L + 2_000_000L * i, 100_000_000L, 80_000_000L,
          40_000_000L + 2_000_000L * i));
      // RSS up 3 MB a sample, 1 MB of it code: the other 2 MB is native memory the JIT does not explain.
      samples.add(new ServiceMemory.Sample(i, "native", 500_000_000L + 3_000_000L * i, 100_000_000L, 80_000_000L,
          40_000_000L + 1_000_000L * i));
    }
    var growth = ServiceMemory.growth(samples, java.util.List.of("steady", "leaking", "collected", "compiling", "native"),
        0.05);
    assertEquals(0.0, (double) growth.get("steady").get("heap_growth"), 1e-9, "the floor, not the sawtooth's tops");
    assertEquals(false, growth.get("steady").get("grew"));
    // First tenth (samples 0, 1) floors at 100 MB; last tenth (18, 19) at 190 MB.
    assertEquals(0.9, (double) growth.get("leaking").get("heap_growth"), 1e-9);
    assertEquals(18.0 / 500, (double) growth.get("leaking").get("rss_growth"), 1e-9);
    assertEquals(true, growth.get("leaking").get("grew"));
    assertEquals(0.0, (double) growth.get("collected").get("heap_growth"), 1e-9, "judged by its live data");
    assertEquals(false, growth.get("collected").get("grew"));
    assertEquals(36.0 / 500, (double) growth.get("compiling").get("rss_growth"), 1e-9);
    assertEquals(0.0, (double) growth.get("compiling").get("rss_growth_beyond_code"), 1e-9);
    assertEquals(40.0, (double) growth.get("compiling").get("code_mb_first"), 1e-9);
    assertEquals(76.0, (double) growth.get("compiling").get("code_mb_last"), 1e-9);
    assertEquals(false, growth.get("compiling").get("grew"), "the JIT's code is bounded by the code a service runs");
    assertEquals(36.0 / 500, (double) growth.get("native").get("rss_growth_beyond_code"), 1e-9);
    assertEquals(true, growth.get("native").get("grew"));
  }

  @Test
  void codeAndMetadataIsTheCodeCachePoolsAndMetaspaceWithoutCountingClassSpaceTwice() {
    String page = """
        jvm_memory_used_bytes{area="nonheap",id="CodeHeap 'non-nmethods'"} 1000000.0
        jvm_memory_used_bytes{area="nonheap",id="CodeHeap 'profiled nmethods'"} 2.0E7
        jvm_memory_used_bytes{area="nonheap",id="CodeHeap 'non-profiled nmethods'"} 6000000.0
        jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 6.0E7
        jvm_memory_used_bytes{area="nonheap",id="Compressed Class Space"} 8000000.0
        jvm_memory_used_bytes{area="heap",id="Tenured Gen"} 3.0E7
        """;
    assertEquals(87_000_000L, ServiceMemory.codeAndMetadata(page));
    assertEquals(-1, ServiceMemory.codeAndMetadata("process_uptime_seconds 3.0"));
  }

  @Test
  void thisProcessHasAResidentSetOnLinux() {
    long rss = ServiceMemory.rss(ProcessHandle.current().pid());
    assertTrue(rss > 1_000_000 || !System.getProperty("os.name").startsWith("Linux"), "RSS " + rss);
  }
}
