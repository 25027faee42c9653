package io.vlaserve.planner;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A real HTTP server speaking the chat-completions wire format, answering each request with the
 * next scripted reply and recording what it was sent. Serves {@code POST /v1/chat/completions} on
 * an ephemeral loopback port.
 */
final class ScriptedChatServer implements AutoCloseable {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** A scripted answer; {@code stall} holds the exchange open until the server closes. */
  record Reply(int status, Map<String, String> headers, String body, Stall stall) {}

  enum Stall { NONE, BEFORE_HEADERS, MID_BODY }

  /** One request as received. */
  record Received(String method, String path, Map<String, List<String>> headers, JsonNode body) {
    String header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0)).findFirst().orElse(null);
    }

    List<JsonNode> messages() {
      List<JsonNode> messages = new ArrayList<>();
      body.path("messages").forEach(messages::add);
      return messages;
    }

    String content(int message) {
      return messages().get(message).path("content").stringValue();
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final Queue<Reply> script = new ConcurrentLinkedQueue<>();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final CountDownLatch closing = new CountDownLatch(1);
  private volatile Reply always;

  ScriptedChatServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  /** A successful completion whose message content is {@code content}. */
  static Reply completion(String content) {
    return completion(content, "stop");
  }

  static Reply completion(String content, String finishReason) {
    ObjectNode body = JSON.createObjectNode();
    body.put("id", "chatcmpl-test");
    body.put("object", "chat.completion");
    body.put("model", "test-model");
    ObjectNode choice = body.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", content);
    choice.put("finish_reason", finishReason);
    return new Reply(200, Map.of(), JSON.writeValueAsString(body), Stall.NONE);
  }

  /** An error in OpenAI's shape: {@code {"error":{"message":...}}}. */
  static Reply error(int status, String message, Map<String, String> headers) {
    ObjectNode body = JSON.createObjectNode();
    body.putObject("error").put("message", message).put("type", "test_error");
    return new Reply(status, headers, JSON.writeValueAsString(body), Stall.NONE);
  }

  static Reply error(int status, String message) {
    return error(status, message, Map.of());
  }

  static Reply stall(Stall where) {
    return new Reply(200, Map.of(), completion("{}").body(), where);
  }

  ScriptedChatServer then(Reply... replies) {
    script.addAll(List.of(replies));
    return this;
  }

  /** Answers every request after the scripted ones with {@code reply}. */
  ScriptedChatServer thenAlways(Reply reply) {
    always = reply;
    return this;
  }

  URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
  }

  List<Received> received() {
    return List.copyOf(received);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] bytes = exchange.getRequestBody().readAllBytes();
      JsonNode body = bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes);
      received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
          Map.copyOf(exchange.getRequestHeaders()), body));
      Reply reply = script.poll();
      if (reply == null) {
        reply = always != null ? always : error(500, "the test scripted no reply for request " + received.size());
      }
      if (!exchange.getRequestURI().getPath().equals("/v1/chat/completions")) {
        reply = error(404, "no route " + exchange.getRequestURI().getPath());
      }
      if (reply.stall() == Stall.BEFORE_HEADERS) {
        awaitClose();
        return;
      }
      byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      reply.headers().forEach(exchange.getResponseHeaders()::set);
      if (reply.stall() == Stall.MID_BODY) {
        exchange.sendResponseHeaders(reply.status(), out.length);
        OutputStream stream = exchange.getResponseBody();
        stream.write(out, 0, out.length / 2);
        stream.flush();
        awaitClose();
        return;
      }
      exchange.sendResponseHeaders(reply.status(), out.length);
      exchange.getResponseBody().write(out);
    } catch (IOException clientGone) {
      // The planner gave up on this exchange (a timeout test): nothing to answer.
    }
  }

  private void awaitClose() {
    try {
      closing.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closing.countDown();
    server.stop(0);
    executor.shutdownNow();
  }
}
