package io.vlaserve.service.quota;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateQuotaTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final RateQuota quota = new RateQuota("session opens (vla.gateway.quota.opens-per-minute=6)", 6, 2, now::get);

  @Test
  void aBurstThenOneTokenPerTenthOfAMinute() {
    assertEquals(Optional.empty(), quota.tryAcquire("robot/arm-1"));
    assertEquals(Optional.empty(), quota.tryAcquire("robot/arm-1"));
    assertEquals(Optional.of(Duration.ofSeconds(10)), quota.tryAcquire("robot/arm-1"));
    now.addAndGet(Duration.ofSeconds(4).toNanos());
    assertEquals(Optional.of(Duration.ofSeconds(6)), quota.tryAcquire("robot/arm-1"));
    now.addAndGet(Duration.ofSeconds(6).toNanos());
    assertEquals(Optional.empty(), quota.tryAcquire("robot/arm-1"));
  }

  @Test
  void callersHaveBucketsOfTheirOwn() {
    quota.tryAcquire("robot/arm-1");
    quota.tryAcquire("robot/arm-1");
    assertTrue(quota.tryAcquire("robot/arm-1").isPresent());
    assertEquals(Optional.empty(), quota.tryAcquire("robot/arm-2"), "arm-1's flood does not touch arm-2");
  }

  @Test
  void overTheQuotaIsResourceExhaustedWithRetryInfo() throws Exception {
    quota.acquireOrThrow("robot/arm-1");
    quota.acquireOrThrow("robot/arm-1");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> quota.acquireOrThrow("robot/arm-1"));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertEquals("robot/arm-1: over the quota of session opens (vla.gateway.quota.opens-per-minute=6); retry in 10000 ms",
        e.getStatus().getDescription());
    RetryInfo retry = StatusProto.fromThrowable(e).getDetails(0).unpackSameTypeAs(RetryInfo.getDefaultInstance());
    assertEquals(10, retry.getRetryDelay().getSeconds());
  }

  @Test
  void refilledBucketsAreForgottenWhenThereAreMany() {
    for (int i = 0; i <= RateQuota.MAX_IDLE_BUCKETS; i++) {
      quota.tryAcquire("robot/r" + i);
    }
    now.addAndGet(Duration.ofMinutes(1).toNanos());
    quota.tryAcquire("robot/new");
    assertEquals(1, quota.size());
  }
}
