package io.vlaserve.policy.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.image.ImageFormat;
import io.vlaserve.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * openpi's WebSocket protocol on the real service over a real socket, spoken as openpi's client
 * speaks it: metadata first, one msgpack observation per binary message, one reply each. The
 * answer is the front door's for the same inputs; bad input gets a text error and the connection
 * stays usable; an oversized message closes it with 1009; concurrent connections share batches.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"spring.grpc.server.port=0", "spring.grpc.server.address=127.0.0.1",
        "vla.policy.model=../models/tiny-vla", "vla.policy.warmup-runs=1", "vla.policy.openpi.max-message=256KB",
        "vla.policy.openpi.max-connections=8"})
@org.springframework.context.annotation.Import(PrefillGate.Config.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenPiEndpointTest {
  /** Closed, the engine's next prefill waits at it (the batching test); open otherwise. */
  private static final PrefillGate GATE = PrefillGate.INSTANCE;

  @Autowired PolicyRuntime runtime;
  @Autowired PolicyFrontDoor door;
  @Autowired MeterRegistry meters;
  @LocalServerPort int httpPort;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void awaitReady() throws InterruptedException {
    Await.until(runtime::ready, "policy-service warmed up");
  }

  @AfterAll
  void close() {
    GATE.open();
    http.close();
  }

  /** A client as openpi's: reads the metadata on connect, then sends and receives whole messages. */
  final class Client implements WebSocket.Listener, AutoCloseable {
    final LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closedWith = new CompletableFuture<>();
    final Map<?, ?> metadata;
    private final WebSocket socket;
    private final java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();
    private final StringBuilder text = new StringBuilder();

    Client() throws Exception {
      socket = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + httpPort + "/"), this)
          .get(30, TimeUnit.SECONDS);
      metadata = assertInstanceOf(Map.class, next(), "the metadata comes first, packed");
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      byte[] bytes = new byte[data.remaining()];
      data.get(bytes);
      binary.writeBytes(bytes);
      if (last) {
        received.add(MsgpackNumpy.unpack(binary.toByteArray()));
        binary.reset();
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        received.add(text.toString());
        text.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closedWith.complete(statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closedWith.completeExceptionally(error);
    }

    void send(byte[] message) {
      socket.sendBinary(ByteBuffer.wrap(message), true).join();
    }

    void sendText(String message) {
      socket.sendText(message, true).join();
    }

    Object next() throws InterruptedException {
      Object message = received.poll(60, TimeUnit.SECONDS);
      assertTrue(message != null, "an answer within a minute");
      return message;
    }

    /** Sends {@code observation} and returns the answer: a dict, or the text of an error. */
    Object infer(Map<String, Object> observation) throws InterruptedException {
      send(MsgpackNumpy.pack(observation));
      return next();
    }

    @Override
    public void close() {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
    }
  }

  private static final float[] STATE = {0.1f, -0.05f, 0.2f, 0f, 0f, 0f, 1f, 1f};

  private static byte[] pixels(int seed) {
    byte[] pixels = new byte[64 * 64 * 3];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (byte) ((i * 31 + seed * 7) % 251);
    }
    return pixels;
  }

  /** An observation with openpi's LIBERO keys, as the shipped defaults expect them. */
  private static Map<String, Object> observation(int seed) {
    Map<String, Object> observation = new LinkedHashMap<>();
    observation.put("observation/image", new MsgpackNumpy.NdArray("|u1", new int[] {64, 64, 3}, pixels(seed)));
    observation.put("observation/state", MsgpackNumpy.NdArray.float32(STATE, 8));
    observation.put("prompt", "move to the red block");
    return observation;
  }

  @Test
  void theMetadataDescribesTheModelAndWhereItsInputsAre() throws Exception {
    try (Client client = new Client()) {
      assertEquals("openpi-websocket", client.metadata.get("protocol"));
      assertEquals("tiny-vla", client.metadata.get("model"));
      assertEquals(4L, client.metadata.get("action_horizon"));
      assertEquals(7L, client.metadata.get("action_dim"));
      assertEquals("observation/image", client.metadata.get("image_key"));
      assertEquals(List.of(64L, 64L), client.metadata.get("image_size"));
      assertEquals("observation/state", client.metadata.get("state_key"));
      assertEquals("prompt", client.metadata.get("prompt_key"));
    }
  }

  @Test
  void eachObservationIsAnsweredWithTheFrontDoorsChunkAndServerTiming() throws Exception {
    PolicyFrontDoor.Answer direct = door.submit(new PolicyFrontDoor.Observation("direct", null, 0,
        new PolicyFrontDoor.Frame(ImageFormat.RGB8, pixels(1), 64, 64), STATE.clone(), "move to the red block", 0,
        SamplingParams.GREEDY, System.nanoTime(), System.nanoTime() + TimeUnit.SECONDS.toNanos(30))).get(60,
        TimeUnit.SECONDS);
    double[][] expected = direct.scheduled().result().actions();
    try (Client client = new Client()) {
      for (int round = 0; round < 2; round++) {
        Map<?, ?> reply = assertInstanceOf(Map.class, client.infer(observation(1)));
        MsgpackNumpy.NdArray actions = assertInstanceOf(MsgpackNumpy.NdArray.class, reply.get("actions"));
        assertEquals("<f4", actions.dtype());
        assertArrayEquals(new int[] {4, 7}, actions.shape());
        float[] values = actions.floats("actions");
        for (int step = 0; step < 4; step++) {
          for (int d = 0; d < 7; d++) {
            assertEquals((float) expected[step][d], values[step * 7 + d], "step " + step + " dimension " + d);
          }
        }
        Map<?, ?> timing = assertInstanceOf(Map.class, reply.get("server_timing"));
        assertInstanceOf(Double.class, timing.get("infer_ms"));
        assertEquals(round == 1, timing.containsKey("prev_total_ms"), "openpi reports the previous total from the second");
      }
    }
  }

  @Test
  void imagesChannelsFirstAndNestedKeysAsAlohaSendsThemAreRead() throws Exception {
    byte[] interleaved = pixels(3);
    byte[] planes = new byte[interleaved.length];
    int plane = 64 * 64;
    for (int pixel = 0; pixel < plane; pixel++) {
      for (int c = 0; c < 3; c++) {
        planes[c * plane + pixel] = interleaved[3 * pixel + c];
      }
    }
    Map<String, Object> channelsLast = observation(3);
    Map<String, Object> channelsFirst = observation(3);
    channelsFirst.remove("observation/image");
    // "observation/image" as a path: {"observation": {"image": ...}}.
    channelsFirst.put("observation", Map.of("image", new MsgpackNumpy.NdArray("|u1", new int[] {3, 64, 64}, planes)));
    try (Client client = new Client()) {
      Map<?, ?> first = assertInstanceOf(Map.class, client.infer(channelsLast));
      Map<?, ?> second = assertInstanceOf(Map.class, client.infer(channelsFirst));
      assertArrayEquals(((MsgpackNumpy.NdArray) first.get("actions")).data(),
          ((MsgpackNumpy.NdArray) second.get("actions")).data(), "the same pixels, the same chunk");
    }
  }

  @Test
  void badInputGetsATextErrorNamingItAndTheConnectionStaysUsable() throws Exception {
    try (Client client = new Client()) {
      client.send(new byte[] {(byte) 0xc1, 1, 2});
      assertError(client.next(), "INVALID_ARGUMENT: message: not msgpack");
      client.sendText("{\"prompt\": \"json\"}");
      assertError(client.next(), "INVALID_ARGUMENT: a text message (expected a binary message");

      Map<String, Object> missing = observation(1);
      missing.remove("observation/state");
      assertError(client.infer(missing), "INVALID_ARGUMENT: observation/state: missing (keys sent: [observation/image,"
          + " prompt]; expected the robot state, 8 numbers [x, y, z, qx, qy, qz, qw, gripper] there,"
          + " vla.policy.openpi.state-key)");
      Map<String, Object> floatImage = observation(1);
      floatImage.put("observation/image", MsgpackNumpy.NdArray.float32(new float[64 * 64 * 3], 64, 64, 3));
      assertError(client.infer(floatImage), "INVALID_ARGUMENT: observation/image: a <f4 array of shape [64, 64, 3]"
          + " (expected uint8 [H, W, 3] or [3, H, W], RGB)");
      Map<String, Object> shortState = observation(1);
      shortState.put("observation/state", MsgpackNumpy.NdArray.float32(new float[] {1, 2, 3}, 3));
      assertError(client.infer(shortState), "observation/state: a <f4 array of shape [3] (expected shape [8]");
      Map<String, Object> nan = observation(1);
      nan.put("observation/state", MsgpackNumpy.NdArray.float32(new float[] {0, 0, Float.NaN, 0, 0, 0, 1, 1}, 8));
      assertError(client.infer(nan), "observation/state[2] (z): NaN (expected a finite number)");
      Map<String, Object> noPrompt = observation(1);
      noPrompt.put("prompt", 7L);
      assertError(client.infer(noPrompt), "prompt: the number 7 (expected the instruction");
      Map<String, Object> list = observation(1);
      list.put("observation/image", List.of(1L, 2L));
      assertError(client.infer(list), "observation/image: a list of 2 (expected a uint8 array [H, W, 3])");

      Map<?, ?> reply = assertInstanceOf(Map.class, client.infer(observation(1)), "still usable after every error");
      assertInstanceOf(MsgpackNumpy.NdArray.class, reply.get("actions"));
    }
  }

  private static void assertError(Object answer, String expected) {
    String text = assertInstanceOf(String.class, answer, "a text message, as openpi's server reports errors");
    assertTrue(text.startsWith(expected) || text.contains(expected), text);
  }

  @Test
  void aMessageOverTheLimitClosesTheConnectionWith1009() throws Exception {
    Client client = new Client();
    client.send(new byte[300 * 1024]);
    assertEquals(1009, client.closedWith.get(60, TimeUnit.SECONDS), "message too big");
  }

  @Test
  void aHandshakeBeyondMaxConnectionsIsRefusedWith503SayingWhy() throws Exception {
    Await.until(() -> endpoint.connections() == 0, "the other tests' connections closed");
    List<Client> clients = new ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) {
        clients.add(new Client());
      }
      String answer = rawHandshake();
      assertTrue(answer.startsWith("HTTP/1.1 503"), answer);
      assertTrue(answer.contains("too many openpi connections: 8 open (at most 8, vla.policy.openpi.max-connections)"),
          answer);
    } finally {
      clients.forEach(Client::close);
    }
    Await.until(() -> endpoint.connections() == 0, "closed connections free their places");
    try (Client again = new Client()) {
      assertEquals("tiny-vla", again.metadata.get("model"));
    }
  }

  /** A WebSocket handshake by hand, so the refusal's body can be read: the whole response. */
  private String rawHandshake() throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", httpPort)) {
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: 127.0.0.1:" + httpPort + "\r\nUpgrade: websocket\r\n"
          + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
          + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      StringBuilder answer = new StringBuilder();
      byte[] buffer = new byte[4096];
      for (int read; !answer.toString().contains("vla.policy.openpi") && (read = socket.getInputStream().read(buffer)) > 0;) {
        answer.append(new String(buffer, 0, read, java.nio.charset.StandardCharsets.UTF_8));
      }
      return answer.toString();
    }
  }

  @Autowired OpenPiPolicyEndpoint endpoint;

  @Test
  void openpisHealthCheckAnswersOk() throws Exception {
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
        + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
    assertEquals("OK\n", health.body());
  }

  @Test
  void concurrentConnectionsShareBatchesAndEachGetsItsOwnAnswer() throws Exception {
    Await.until(() -> endpoint.connections() == 0, "the other tests' connections closed");
    List<Client> clients = new ArrayList<>();
    try {
      for (int i = 0; i < 6; i++) {
        clients.add(new Client());
      }
      GATE.close();
      clients.get(0).send(MsgpackNumpy.pack(observation(0)));
      assertTrue(GATE.awaitEntered(60), "the first observation is computing");
      for (int i = 1; i < clients.size(); i++) {
        clients.get(i).send(MsgpackNumpy.pack(observation(i)));
      }
      // Every other connection's observation waits in the one queue while the first computes.
      Await.until(() -> runtime.scheduler().waiting() == clients.size() - 1, "the other observations queued");
      System.gc(); // the queue-depth gauge reads the same after a collection (it once held its source weakly)
      assertEquals(clients.size() - 1, meters.get("vla.policy.queue.depth").gauge().value());
      GATE.open();
      for (int i = 0; i < clients.size(); i++) {
        Map<?, ?> reply = assertInstanceOf(Map.class, clients.get(i).next());
        Map<?, ?> batching = assertInstanceOf(Map.class, reply.get("batching"));
        long largest = (Long) batching.get("largest_batch");
        if (i > 0) {
          assertTrue(largest >= clients.size() - 1, "connection " + i + " decoded in a batch of " + largest);
        }
      }
    } finally {
      GATE.open();
      clients.forEach(Client::close);
    }
  }
}
