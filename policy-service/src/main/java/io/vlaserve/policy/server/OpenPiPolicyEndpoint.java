package io.vlaserve.policy.server;

import io.grpc.Status;
import io.vlaserve.policy.batching.RejectedException;
import io.vlaserve.policy.batching.SessionKey;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.service.auth.Principal;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.socket.BinaryMessage;
import org.springframework.web.socket.CloseStatus;
import org.springframework.web.socket.TextMessage;
import org.springframework.web.socket.WebSocketMessage;
import org.springframework.web.socket.WebSocketSession;
import org.springframework.web.socket.handler.AbstractWebSocketHandler;
import org.springframework.web.socket.handler.ConcurrentWebSocketSessionDecorator;

/**
 * openpi's WebSocket policy protocol, as its client ({@code openpi_client.WebsocketClientPolicy})
 * and server ({@code openpi.serving.websocket_policy_server}) speak it, so robot code written for
 * openpi connects unchanged: on connect the server sends its metadata (a msgpack dict); then each
 * binary message is one observation dict (msgpack with openpi's NumPy extension, see
 * {@link MsgpackNumpy}) answered by one binary message {@code {"actions": float32 [H, D],
 * "server_timing": {"infer_ms", "prev_total_ms"}}}, in order. Errors are a text message, as
 * openpi's server sends its traceback, which the client raises as {@code RuntimeError}; unlike
 * openpi's server, which then closes the connection, a refused observation leaves it open for the
 * next one, and the text says what was wrong ({@code "INVALID_ARGUMENT: observation/image: ..."}).
 *
 * <p>Each connection is a policy session through {@link PolicyFrontDoor}, like a gRPC session:
 * batched with every other robot's, queued under the authenticated robot's name (fairness and
 * per-robot quotas), dropped with DEADLINE_EXCEEDED if still queued after
 * {@code vla.policy.observation-deadline}, and an observation sent while an earlier one of the same
 * connection still waits replaces it (the earlier is answered with a SUPERSEDED error). The
 * handshake was authenticated and checked against the access table by the HTTP filter (openpi's
 * {@code api_key} arrives as {@code Authorization: Api-Key <token>}). Thread-safe.
 */
final class OpenPiPolicyEndpoint extends AbstractWebSocketHandler {
  private static final Logger log = LoggerFactory.getLogger(OpenPiPolicyEndpoint.class);
  /** The session attribute holding the caller the HTTP filter authenticated. */
  static final String PRINCIPAL = Principal.class.getName();
  /** How long one reply may take to write before the client is dropped as too slow to read. */
  private static final int SEND_TIME_LIMIT_MILLIS = 5_000;

  private final PolicyFrontDoor door;
  private final PolicyMetrics metrics;
  private final OpenPiObservations keys;
  private final Duration deadline;
  private final int maxMessageBytes;
  private final AtomicLong anonymous = new AtomicLong();
  private final Map<String, Connection> connections = new ConcurrentHashMap<>();

  OpenPiPolicyEndpoint(PolicyFrontDoor door, PolicyMetrics metrics, PolicyProperties properties) {
    this.door = door;
    this.metrics = metrics;
    PolicyProperties.Openpi openpi = properties.openpi();
    this.keys = new OpenPiObservations(openpi.imageKey(), openpi.cameraKeys(), openpi.stateKey(), openpi.promptKey());
    this.deadline = properties.observationDeadline();
    this.maxMessageBytes = properties.maxOpenpiMessageBytes();
  }

  /** One client: its policy session and the chain its replies go out on, in request order. */
  private final class Connection {
    final WebSocketSession socket;
    final String robot;
    final SessionKey key;
    final AtomicLong sequence = new AtomicLong();
    final Set<CompletableFuture<PolicyFrontDoor.Answer>> pending = ConcurrentHashMap.newKeySet();
    final InlineOrOffload order = door.newOrder();
    /** Completes when every reply so far was sent; the next one is written after it. */
    CompletableFuture<Void> replies = CompletableFuture.completedFuture(null);
    /** Receipt to reply sent of the previous observation, reported with the next answer as openpi does. */
    volatile double previousTotalMillis = Double.NaN;

    Connection(WebSocketSession socket, String robot) {
      this.socket = socket;
      this.robot = robot;
      this.key = door.newSession(robot);
    }
  }

  /** What openpi's client reads first: what this server serves and how it reads observations. */
  Map<String, Object> metadata() {
    ModelPackage model = door.model();
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("server", "vla-serve policy-service");
    metadata.put("protocol", "openpi-websocket");
    metadata.put("model", model.name());
    metadata.put("model_version", model.version());
    metadata.put("action_horizon", model.chunkLength());
    metadata.put("action_dim", model.actionDimensions());
    metadata.put("action_names", model.actionProfile().dimensions().stream().map(d -> d.name()).toList());
    metadata.put("step_period_s", model.stepPeriod().toNanos() / 1e9);
    metadata.put("image_key", keys.imageKey(model, 0));
    metadata.put("image_size", List.of(model.cameras().get(0).height(), model.cameras().get(0).width()));
    if (model.cameras().size() > 1) {
      // Every camera: its image key and [height, width], for clients that send several.
      Map<String, Object> cameras = new LinkedHashMap<>();
      for (int c = 0; c < model.cameras().size(); c++) {
        var camera = model.cameras().get(c);
        cameras.put(camera.name(), Map.of("image_key", keys.imageKey(model, c),
            "image_size", List.of(camera.height(), camera.width())));
      }
      metadata.put("cameras", cameras);
    }
    metadata.put("state_key", keys.stateKey());
    metadata.put("state_names", model.proprioNames());
    metadata.put("prompt_key", keys.promptKey());
    metadata.put("prompts", model.skills());
    return metadata;
  }

  @Override
  public void afterConnectionEstablished(WebSocketSession session) throws IOException {
    session.setBinaryMessageSizeLimit(maxMessageBytes);
    session.setTextMessageSizeLimit(64 * 1024);
    WebSocketSession socket = new ConcurrentWebSocketSessionDecorator(session, SEND_TIME_LIMIT_MILLIS,
        maxMessageBytes);
    Principal caller = session.getAttributes().get(PRINCIPAL) instanceof Principal principal ? principal : null;
    String robot = PolicyFrontDoor.queueAs(null, caller, () -> "openpi-" + anonymous.incrementAndGet());
    Connection connection = new Connection(socket, robot);
    connections.put(session.getId(), connection);
    metrics.sessionOpened();
    log.info("openpi connection {} from {} as {}", session.getId(), session.getRemoteAddress(), robot);
    socket.sendMessage(new BinaryMessage(MsgpackNumpy.pack(metadata())));
  }

  @Override
  protected void handleBinaryMessage(WebSocketSession session, BinaryMessage message) {
    Connection connection = connections.get(session.getId());
    if (connection == null) {
      return;
    }
    long received = System.nanoTime();
    byte[] bytes = new byte[message.getPayloadLength()];
    message.getPayload().get(bytes);
    CompletableFuture<PolicyFrontDoor.Answer> answer;
    try {
      if (!door.ready()) {
        throw door.notReady();
      }
      OpenPiObservations.Inputs inputs = keys.read(MsgpackNumpy.unpack(bytes), door.model());
      PolicyFrontDoor.Observation observation = new PolicyFrontDoor.Observation(connection.robot, connection.key,
          connection.sequence.incrementAndGet(), inputs.frames(), inputs.proprio(), inputs.instruction(), 0,
          SamplingParams.GREEDY, received, received + deadline.toNanos(), new double[0][]);
      CompletableFuture<PolicyFrontDoor.Answer> queued = door.submit(observation, connection.order);
      connection.pending.add(queued);
      queued.whenComplete((done, failure) -> connection.pending.remove(queued));
      if (!session.isOpen()) {
        queued.cancel(false); // the client went away while this was being submitted
      }
      answer = queued;
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<PolicyFrontDoor.Answer> answered = answer;
    synchronized (connection) {
      connection.replies = connection.replies.thenCompose(previous -> answered.handle((done, failure) -> {
        reply(connection, done, failure, received);
        return null;
      }));
    }
  }

  @Override
  protected void handleTextMessage(WebSocketSession session, TextMessage message) {
    Connection connection = connections.get(session.getId());
    if (connection == null) {
      return;
    }
    CompletableFuture<PolicyFrontDoor.Answer> refused = CompletableFuture.failedFuture(new IllegalArgumentException(
        "a text message (expected a binary message: the observation dict packed with openpi_client.msgpack_numpy)"));
    long received = System.nanoTime();
    synchronized (connection) {
      connection.replies = connection.replies.thenCompose(previous -> refused.handle((done, failure) -> {
        reply(connection, done, failure, received);
        return null;
      }));
    }
  }

  private void reply(Connection connection, PolicyFrontDoor.Answer answer, Throwable failure, long received) {
    WebSocketMessage<?> message;
    if (answer != null) {
      metrics.recordInference(answer, received);
      double[][] actions = answer.scheduled().result().actions();
      int dims = actions.length == 0 ? 0 : actions[0].length;
      float[] values = new float[actions.length * dims];
      for (int step = 0; step < actions.length; step++) {
        for (int d = 0; d < dims; d++) {
          values[step * dims + d] = (float) actions[step][d];
        }
      }
      Map<String, Object> timing = new LinkedHashMap<>();
      timing.put("infer_ms", (answer.finishedNanos() - answer.preprocessedNanos()) / 1e6);
      if (!Double.isNaN(connection.previousTotalMillis)) {
        timing.put("prev_total_ms", connection.previousTotalMillis);
      }
      Map<String, Object> reply = new LinkedHashMap<>();
      reply.put("actions", MsgpackNumpy.NdArray.float32(values, actions.length, dims));
      reply.put("server_timing", timing);
      // Beyond openpi's reply (its clients read "actions"): what this answer shared with other robots.
      Map<String, Object> batching = new LinkedHashMap<>();
      batching.put("largest_batch", answer.scheduled().largestBatch());
      batching.put("queue_ms", answer.scheduled().queueNanos() / 1e6);
      reply.put("batching", batching);
      message = new BinaryMessage(MsgpackNumpy.pack(reply));
    } else {
      Throwable cause = PolicyStatus.unwrap(failure);
      String text;
      if (cause instanceof RejectedException.Superseded) {
        metrics.recordOutcome("SUPERSEDED");
        text = "SUPERSEDED: a newer observation from this connection replaced this one while it waited (send the"
            + " next observation after the previous answer)";
      } else {
        Status status = metrics.failed(failure).getStatus();
        Duration retryAfter = PolicyStatus.retryAfter(failure);
        text = status.getCode().name() + ": " + status.getDescription()
            + (retryAfter == null ? "" : " (retry after " + PolicyStatus.retryMillis(retryAfter) + " ms)");
      }
      message = new TextMessage(text);
    }
    try {
      if (connection.socket.isOpen()) {
        connection.socket.sendMessage(message);
      }
      connection.previousTotalMillis = (System.nanoTime() - received) / 1e6;
    } catch (IOException | RuntimeException e) {
      // Too slow to read, or gone: the decorator closes it; what it still waits for is cancelled on close.
      log.debug("openpi connection {}: reply not sent ({})", connection.socket.getId(), e.toString());
    }
  }

  @Override
  public void handleTransportError(WebSocketSession session, Throwable exception) {
    log.debug("openpi connection {}: {}", session.getId(), exception.toString());
  }

  @Override
  public void afterConnectionClosed(WebSocketSession session, CloseStatus status) {
    Connection connection = connections.remove(session.getId());
    if (connection == null) {
      return;
    }
    metrics.sessionClosed();
    // What still waits in the queue leaves it uncomputed.
    for (CompletableFuture<PolicyFrontDoor.Answer> queued : connection.pending) {
      queued.cancel(false);
    }
    log.info("openpi connection {} of {} closed: {}", session.getId(), connection.robot, status);
  }

  /** Open connections, for tests and the health detail. */
  int connections() {
    return connections.size();
  }

  /** The robots the open connections queue as, sorted. */
  List<String> robots() {
    return connections.values().stream().map(connection -> connection.robot).sorted().toList();
  }
}
