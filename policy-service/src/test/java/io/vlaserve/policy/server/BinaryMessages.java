package io.vlaserve.policy.server;

import java.io.ByteArrayOutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket listener that collects whole binary messages (their frames joined), never blocking
 * the client's delivery. Not for text messages: a test that reads errors uses its own.
 */
final class BinaryMessages implements WebSocket.Listener {
  private final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
  private final ByteArrayOutputStream message = new ByteArrayOutputStream();

  @Override
  public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
    byte[] bytes = new byte[data.remaining()];
    data.get(bytes);
    message.writeBytes(bytes);
    if (last) {
      received.add(message.toByteArray());
      message.reset();
    }
    webSocket.request(1);
    return null;
  }

  /** The next whole message, or null if none arrives within {@code seconds}. */
  byte[] next(long seconds) throws InterruptedException {
    return received.poll(seconds, TimeUnit.SECONDS);
  }
}
