package io.vlaserve.controller.server;

import io.vlaserve.service.GrpcServerPort;
import static io.vlaserve.controller.server.ExecuteSession.chunk;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.vlaserve.controller.loop.ControlLoop;
import io.vlaserve.controller.loop.LoopStatistics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * Control-loop jitter of the real app at 1 kHz: idle, or while N clients each stream a 10-step
 * chunk every 100 ms to their own robot over gRPC (Netty, loopback). The loop statistics are reset
 * after a warm-up, then read after the run. Not part of the default build.
 *
 * <pre>
 * # idle, one robot, 60 s
 * mvn -B -ntp test -pl controller-bridge -Dtest=LoopJitterBenchmark -Dbench.robots=1 -Dbench.streams=0 -Dbench.seconds=60
 * # 64 robots driven by 64 streams, 60 s
 * mvn -B -ntp test -pl controller-bridge -Dtest=LoopJitterBenchmark -Dbench.robots=64 -Dbench.streams=64 -Dbench.seconds=60
 * </pre>
 *
 * Add {@code -Dbench.loops=N} to spread the robots over N loop threads. Prints a markdown table
 * row and appends it to {@code controller-bridge/target/benchmarks/loop-jitter.md}.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.grpc.server.port=0",
      "spring.grpc.server.address=127.0.0.1",
      "vla.controller.simulated-robots=${bench.robots:1}",
      "vla.controller.loop-threads=${bench.loops:1}",
      "logging.level.root=WARN"
    })
class LoopJitterBenchmark {
  @Autowired GrpcServerPort grpcPort;
  @Autowired RobotFleet fleet;

  @Test
  void loopJitter() throws Exception {
    int streams = Integer.getInteger("bench.streams", 0);
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "60"));
    if (streams > fleet.robots().size()) {
      throw new IllegalArgumentException("bench.streams " + streams + " > bench.robots " + fleet.robots().size());
    }
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort.await(30),
        InsecureChannelCredentials.create()).build();
    List<ExecuteSession> sessions = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      sessions.add(ExecuteSession.start(channel, fleet.robots().get(i).id(), false));
    }
    SplittableRandom random = new SplittableRandom(1);
    long id = 0;
    long warmUpEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    boolean measuring = false;
    long end = Long.MAX_VALUE;
    long next = System.nanoTime();
    while (System.nanoTime() < end) {
      if (!measuring && System.nanoTime() >= warmUpEnd) {
        fleet.loops().forEach(loop -> loop.statistics().reset());
        measuring = true;
        end = System.nanoTime() + Math.round(seconds * 1e9);
      }
      id++;
      for (ExecuteSession session : sessions) {
        // Small back-and-forth motions keep every robot inside its workspace for any duration.
        double direction = id % 20 < 10 ? 1 : -1;
        session.send(chunk(id, Instant.now().minusMillis(80), ExecuteSession.repeat(10,
            direction * 0.005 + random.nextDouble(-0.001, 0.001), random.nextDouble(-0.001, 0.001), 0, 0, 0, 0, 1)));
      }
      next += 100_000_000;
      long sleep = next - System.nanoTime();
      if (sleep > 0) {
        TimeUnit.NANOSECONDS.sleep(sleep);
      }
    }
    StringBuilder rows = new StringBuilder();
    for (ControlLoop loop : fleet.loops()) {
      LoopStatistics.Snapshot s = loop.statistics().snapshot();
      rows.append(String.format(Locale.ROOT,
          "| %.0f Hz | %d | %d | %.0f s | %d | %.1f | %.1f | %.1f | %.1f | %d | %.1f | %.1f | %.1f |%n",
          s.rateHz(), fleet.robots().size(), streams, seconds, s.ticks(), s.periodErrorP50Nanos() / 1e3,
          s.periodErrorP99Nanos() / 1e3, s.periodErrorP999Nanos() / 1e3, s.periodErrorMaxNanos() / 1e3,
          s.missedDeadlines(), s.computeP50Nanos() / 1e3, s.computeP99Nanos() / 1e3, s.computeMaxNanos() / 1e3));
    }
    String header = "| rate | robots | streams | duration | ticks | period error p50 (us) | p99 | p99.9 | max |"
        + " missed deadlines | compute p50 (us) | compute p99 | compute max |\n"
        + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    System.out.println(header + rows);
    for (ExecuteSession session : sessions) {
      session.close();
    }
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    write(header, rows.toString());
  }

  private static void write(String header, String rows) throws IOException {
    Path out = Path.of("target", "benchmarks", "loop-jitter.md");
    Files.createDirectories(out.getParent());
    if (!Files.exists(out)) {
      Files.writeString(out, header);
    }
    Files.writeString(out, rows, java.nio.file.StandardOpenOption.APPEND);
  }
}
