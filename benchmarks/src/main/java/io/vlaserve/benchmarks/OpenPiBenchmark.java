package io.vlaserve.benchmarks;

import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.launcher.ServiceProcess;
import io.vlaserve.policy.v1.InferRequest;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/**
 * policy-service's openpi WebSocket endpoint against its gRPC Infer, in one run (issue 22): the same
 * observation (the benchmark scene's 64x64 RGB8 frame, state and instruction) from N robots, each
 * at a robot's pace (one observation every {@code -DperiodMs}, 100) with a random phase, each robot
 * waiting for its answer before the next. Slices alternate protocol and fleet size, {@code -Drounds}
 * (3) times, each {@code -Dseconds} (10) after an unrecorded second; the client's latency (send to
 * whole answer read) per protocol and fleet size over all rounds. policy-service runs as its own
 * process on loopback, plaintext, as {@link ContinuousBatchingBenchmark#startPolicyService}.
 *
 * <p>The openpi clients send what {@code openpi_client.msgpack_numpy.Packer} packs for
 * {@code {"observation/image": uint8 [64, 64, 3], "observation/state": float32 [8], "prompt": str}}
 * (bytes keys in the array maps, as in its {@code pack_array}); each robot has its own connection
 * (java.net.http's WebSocket), as each gRPC robot has its own blocking stub on one channel.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -Dvla.home=$PWD -cp benchmarks/target/benchmarks.jar \
 *   io.vlaserve.benchmarks.OpenPiBenchmark 1,16
 * </pre>
 */
public final class OpenPiBenchmark {
  private OpenPiBenchmark() {}

  public static void main(String[] args) throws Exception {
    int[] fleets = java.util.Arrays.stream((args.length > 0 ? args[0] : "1,16").split(","))
        .mapToInt(Integer::parseInt).toArray();
    int rounds = Integer.getInteger("rounds", 3);
    int seconds = Integer.getInteger("seconds", 10);
    long period = Long.getLong("periodMs", 100) * 1_000_000;
    BenchmarkScene scene = BenchmarkScene.load();
    byte[] openpiObservation = openpiObservation(scene);
    System.out.printf(Locale.ROOT, "openpi vs gRPC Infer: robots %s, a %d ms period, %d rounds of %d s per cell;"
        + " openpi message %d bytes, Infer request %d bytes; %s, %d cores%n", java.util.Arrays.toString(fleets),
        period / 1_000_000, rounds, seconds, openpiObservation.length, scene.inferRequest().getSerializedSize(),
        System.getProperty("java.vm.version"), Runtime.getRuntime().availableProcessors());
    Map<String, Histogram> results = new LinkedHashMap<>();
    // Not closed with try: close() waits for every WebSocket to end, and a closing handshake may not.
    HttpClient http = HttpClient.newHttpClient();
    try (ServiceProcess service = ContinuousBatchingBenchmark.startPolicyService(scene.home(), false,
        "openpi-benchmark-service")) {
      ManagedChannel channel = service.channel();
      try {
        for (int round = 0; round < rounds; round++) {
          for (int robots : fleets) {
            for (String protocol : round % 2 == 0 ? List.of("grpc", "openpi") : List.of("openpi", "grpc")) {
              Histogram slice = protocol.equals("grpc")
                  ? run(robots, period, seconds, r -> grpcRobot(channel, scene, r))
                  : run(robots, period, seconds, r -> openpiRobot(http, service.httpPort(), openpiObservation));
              results.computeIfAbsent(protocol + "," + robots, k -> new Histogram(3)).add(slice);
              System.out.printf(Locale.ROOT, "  round %d, %-6s %2d robots: %s%n", round + 1, protocol, robots,
                  describe(slice));
            }
          }
        }
      } finally {
        channel.shutdownNow();
        http.shutdownNow();
      }
    }
    System.out.println();
    System.out.println("| robots | protocol | answers | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |");
    System.out.println("|---:|---|---:|---:|---:|---:|---:|");
    results.forEach((key, h) -> {
      String[] parts = key.split(",");
      System.out.printf(Locale.ROOT, "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f |%n", parts[1],
          parts[0].equals("grpc") ? "gRPC Infer" : "openpi WebSocket", h.getTotalCount(),
          h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0,
          h.getValueAtPercentile(99) / 1000.0, h.getMaxValue() / 1000.0);
    });
  }

  /** One robot's call: sends the observation, returns when the whole answer is in. */
  private interface Robot extends AutoCloseable {
    void call() throws Exception;

    @Override
    default void close() {}
  }

  private interface RobotFactory {
    Robot open(int index) throws Exception;
  }

  private static Robot grpcRobot(ManagedChannel channel, BenchmarkScene scene, int index) {
    InferRequest request = scene.inferRequest().toBuilder()
        .setRobot(RobotIdentity.newBuilder().setRobotId("robot-" + index)).build();
    var stub = PolicyServiceGrpc.newBlockingStub(channel);
    return () -> stub.withDeadlineAfter(30, TimeUnit.SECONDS).infer(request);
  }

  private static Robot openpiRobot(HttpClient http, int port, byte[] observation) throws Exception {
    // Never blocks the client's delivery: a listener that waited would stall other connections' events.
    LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final ByteArrayOutputStream message = new ByteArrayOutputStream();

      @Override
      public CompletionStage<?> onBinary(WebSocket socket, ByteBuffer data, boolean last) {
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        message.writeBytes(bytes);
        if (last) {
          byte[] whole = message.toByteArray();
          message.reset();
          hand(whole);
        }
        socket.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
        hand("error: " + data);
        socket.request(1);
        return null;
      }

      private void hand(Object answer) {
        answers.add(answer);
      }
    };
    WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/"), listener)
        .get(30, TimeUnit.SECONDS);
    answers.take(); // the metadata
    return new Robot() {
      @Override
      public void call() throws Exception {
        socket.sendBinary(ByteBuffer.wrap(observation), true).join();
        Object answer = answers.poll(30, TimeUnit.SECONDS);
        if (!(answer instanceof byte[])) {
          throw new IllegalStateException("openpi answer: " + answer);
        }
      }

      @Override
      public void close() {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").orTimeout(5, TimeUnit.SECONDS)
            .exceptionally(e -> null).join();
      }
    };
  }

  /** {@code robots} robots on a schedule for an unrecorded second, then {@code seconds} recorded. */
  private static Histogram run(int robots, long period, int seconds, RobotFactory factory) throws Exception {
    Recorder recorder = new Recorder(3);
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    List<Robot> opened = new ArrayList<>();
    java.util.SplittableRandom phases = new java.util.SplittableRandom(robots);
    List<CompletableFuture<Void>> failures = new ArrayList<>();
    for (int r = 0; r < robots; r++) {
      Robot robot = factory.open(r);
      opened.add(robot);
      long phase = phases.nextLong(period);
      CompletableFuture<Void> failed = new CompletableFuture<>();
      failures.add(failed);
      threads.add(Thread.ofPlatform().daemon().start(() -> {
        long scheduled = System.nanoTime() + phase;
        try {
          while (!stop.get()) {
            long wait = scheduled - System.nanoTime();
            if (wait > 0) {
              Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            long started = System.nanoTime();
            robot.call();
            if (measuring.get()) {
              recorder.recordValue((System.nanoTime() - started) / 1000);
            }
            scheduled += period;
          }
        } catch (Exception e) {
          failed.completeExceptionally(e);
        }
      }));
    }
    Thread.sleep(1000);
    recorder.getIntervalHistogram();
    measuring.set(true);
    Thread.sleep(seconds * 1000L);
    Histogram histogram = recorder.getIntervalHistogram();
    stop.set(true);
    for (Thread thread : threads) {
      thread.join();
    }
    opened.forEach(Robot::close);
    for (CompletableFuture<Void> failed : failures) {
      if (failed.isCompletedExceptionally()) {
        failed.join(); // a robot's failure fails the benchmark
      }
    }
    return histogram;
  }

  private static String describe(Histogram h) {
    return String.format(Locale.ROOT, "%d answers, p50 %.2f ms, p99 %.2f ms", h.getTotalCount(),
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0);
  }

  /** The scene as openpi_client's msgpack_numpy.Packer packs it (LIBERO's keys, the defaults). */
  static byte[] openpiObservation(BenchmarkScene scene) {
    try (MessageBufferPacker packer = MessagePack.newDefaultBufferPacker()) {
      packer.packMapHeader(3);
      packer.packString("observation/image");
      ndarray(packer, scene.frame(), "|u1", scene.model().imageHeight(), scene.model().imageWidth(), 3);
      packer.packString("observation/state");
      ByteBuffer state = ByteBuffer.allocate(4 * scene.proprio().length).order(ByteOrder.LITTLE_ENDIAN);
      state.asFloatBuffer().put(scene.proprio());
      ndarray(packer, state.array(), "<f4", scene.proprio().length);
      packer.packString("prompt");
      packer.packString(scene.instruction());
      return packer.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void ndarray(MessageBufferPacker packer, byte[] data, String dtype, int... shape) throws IOException {
    packer.packMapHeader(4);
    binKey(packer, "__ndarray__");
    packer.packBoolean(true);
    binKey(packer, "data");
    packer.packBinaryHeader(data.length);
    packer.writePayload(data);
    binKey(packer, "dtype");
    packer.packString(dtype);
    binKey(packer, "shape");
    packer.packArrayHeader(shape.length);
    for (int dimension : shape) {
      packer.packInt(dimension);
    }
  }

  private static void binKey(MessageBufferPacker packer, String key) throws IOException {
    byte[] bytes = key.getBytes(StandardCharsets.US_ASCII);
    packer.packBinaryHeader(bytes.length);
    packer.writePayload(bytes);
  }
}
