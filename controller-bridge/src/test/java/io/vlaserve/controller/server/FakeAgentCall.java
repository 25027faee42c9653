package io.vlaserve.controller.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.vlaserve.controller.v1.BridgeMessage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The response side of an agent's call as gRPC gives it to the service, without a transport. It
 * records every message and the closing status, and records as a violation what a real call
 * forbids: two threads inside it at once, or a write after it was closed. A test can hold the
 * sender inside its next setpoint write ({@link #holdNextSetpoint}) to race a close against it.
 */
final class FakeAgentCall extends ServerCallStreamObserver<BridgeMessage> {
  final List<BridgeMessage> messages = new CopyOnWriteArrayList<>();
  final List<String> violations = new CopyOnWriteArrayList<>();
  final CountDownLatch closed = new CountDownLatch(1);
  volatile Status status;
  private final AtomicInteger inside = new AtomicInteger();
  private volatile boolean done;
  private volatile CountDownLatch entered;
  private volatile CountDownLatch release;
  private Runnable onCancel;

  /** Makes the next setpoint write wait inside the call until {@code release} opens; {@code entered} opens once it waits. */
  void holdNextSetpoint(CountDownLatch entered, CountDownLatch release) {
    this.release = release;
    this.entered = entered;
  }

  /** The agent's side cancels the call, as gRPC would on a broken connection. */
  void cancel() {
    Runnable handler = onCancel;
    if (handler != null) {
      handler.run();
    }
  }

  List<BridgeMessage.MessageCase> kinds() {
    return messages.stream().map(BridgeMessage::getMessageCase).toList();
  }

  long setpoints() {
    return messages.stream().filter(BridgeMessage::hasSetpoint).count();
  }

  private void enter(String what) {
    if (inside.incrementAndGet() != 1) {
      violations.add(what + " while another thread was inside the call (" + Thread.currentThread().getName() + ")");
    }
    if (done) {
      violations.add(what + " after the call was closed (" + Thread.currentThread().getName() + ")");
    }
  }

  @Override
  public void onNext(BridgeMessage value) {
    enter("onNext(" + value.getMessageCase() + ")");
    try {
      CountDownLatch waiting = entered;
      if (value.hasSetpoint() && waiting != null) {
        entered = null;
        waiting.countDown();
        try {
          if (!release.await(30, TimeUnit.SECONDS)) {
            violations.add("the test never released the held setpoint");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      messages.add(value);
    } finally {
      inside.decrementAndGet();
    }
  }

  @Override
  public void onError(Throwable t) {
    close("onError", Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    close("onCompleted", Status.OK);
  }

  private void close(String what, Status closing) {
    enter(what);
    try {
      done = true;
      status = closing;
      closed.countDown();
    } finally {
      inside.decrementAndGet();
    }
  }

  @Override
  public boolean isReady() {
    return true;
  }

  @Override
  public boolean isCancelled() {
    return false;
  }

  @Override
  public void setOnCancelHandler(Runnable onCancelHandler) {
    onCancel = onCancelHandler;
  }

  @Override
  public void setCompression(String compression) {}

  @Override
  public void setOnReadyHandler(Runnable onReadyHandler) {}

  @Override
  public void request(int count) {}

  @Override
  public void setMessageCompression(boolean enable) {}

  @Override
  public void disableAutoInboundFlowControl() {}
}
