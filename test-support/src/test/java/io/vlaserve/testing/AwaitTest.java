package io.vlaserve.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.MethodDescriptor;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {
  @Test
  void returnsOnceTheConditionHolds() throws Exception {
    AtomicInteger polls = new AtomicInteger();
    Await.until(() -> polls.incrementAndGet() >= 3, "three polls");
    assertEquals(3, polls.get());
  }

  @Test
  void aConditionThatNeverHoldsFailsNamingItAndTheStateThen() {
    AtomicInteger polls = new AtomicInteger();
    AssertionError e = assertThrows(AssertionError.class,
        () -> Await.until(() -> polls.incrementAndGet() < 0, Duration.ZERO, () -> "never (" + polls.get() + " polls)"));
    assertEquals("timed out after 0 s waiting until never (1 polls)", e.getMessage());
  }

  @Test
  void rawBytesGoThroughUnchanged() throws Exception {
    byte[] bytes = {0, 1, (byte) 0xff, 42};
    MethodDescriptor<byte[], byte[]> method = RawGrpc.method("a.B/C", MethodDescriptor.MethodType.UNARY);
    assertArrayEquals(bytes, method.parseRequest(method.streamRequest(bytes)));
    assertEquals("a.B/C", method.getFullMethodName());
  }
}
